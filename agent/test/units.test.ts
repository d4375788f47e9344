// Pure parts and bounded queues of the agent, from tables: report maths,
// the event ring, the approval queue, sd_notify through a real
// `systemd-notify` stand-in, the demo's seeded schedule.
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Incident } from '@homeostat/interface'
import { percentile, computeReport, incidentTimes, baselineRepairMs } from '../src/state/report.ts'
import { createEventBus } from '../src/state/events.ts'
import { createApprovalQueue } from '../src/state/approvals.ts'
import { createNotifier, watchdogIntervalMs } from '../src/systemd.ts'
import { DEMO_FAULT_GAP_S, FAULT_TARGETS, faultSchedule } from '../src/demo/run.ts'
import { checkSwarmKey, generateSwarmKey, writeSecretFile } from '../src/datadir.ts'
import { freeCapacity, workloadSpecOf } from '../src/loops/meso/relocation.ts'
import { docPersistence } from '../src/state/doc-persistence.ts'
import { openStore } from '@homeostat/store'
import { startTestAgent, tempDir, testConfigYaml, waitFor } from './helpers.ts'

function inc (id: string, status: Incident['status'], openedAtMs: number, detectAt?: number, recoverAt?: number, failureClass = 'crash'): Incident {
  const steps: Incident['steps'] = [{ kind: 'opened', hlc: '0'.repeat(21), atMs: openedAtMs, summary: 'x' }]
  if (detectAt !== undefined) steps.push({ kind: 'detected', hlc: '0'.repeat(21), atMs: detectAt, summary: 'x' })
  if (recoverAt !== undefined) {
    steps.push({ kind: 'acted', hlc: '0'.repeat(21), atMs: recoverAt - 10, summary: 'restarted', data: { action: 'restart' } })
    steps.push({ kind: 'recovered', hlc: '0'.repeat(21), atMs: recoverAt, summary: 'ok' })
  }
  return { id, node: 'n', component: 'c', targetKind: 'process', failureClass, status, openedAtMs, steps, anomalies: [] }
}

describe('agent units', () => {
  it('a corrupt store: moved aside, logged and counted; the agent runs with an empty one', async () => {
    const a = await startTestAgent(testConfigYaml(), {
      prepare: (dir) => {
        mkdirSync(join(dir, 'data', 'db'), { recursive: true })
        writeFileSync(join(dir, 'data', 'db', 'CURRENT'), 'MANIFEST-garbage') // LevelDB reads this as corruption
      }
    })
    try {
      assert.equal((await fetch(a.url + '/readyz')).status, 200)
      assert.ok(readdirSync(join(a.dir, 'data')).some((f) => f.startsWith('db.corrupt-')), 'the old files are kept aside')
      assert.match(await (await fetch(a.url + '/metrics')).text(), /homeostat_agent_invalid_input_total\{[^}]*source="store"[^}]*\} 1/)
      assert.ok(a.log.lines().some((l) => l.includes('the agent store is corrupt')))
      await a.agent.context.store().raw('x').put('k', new Uint8Array([1]))
    } finally { await a.stop() }
  })


  it('replicated documents live in the agent store; a pre-store update log is imported once (torn last line skipped) and renamed', async () => {
    const t = tempDir()
    try {
      const legacy = join(t.dir, 'meso.yjs.log')
      const u1 = new Uint8Array([1, 2, 3]); const u2 = new Uint8Array([4, 5])
      writeFileSync(legacy, `${Buffer.from(u1).toString('base64')}\n${Buffer.from(u2).toString('base64')}\nAAB%%`)
      const path = join(t.dir, 'db')
      let store = await openStore({ path, nodeId: 't' })
      const logged: string[] = []
      const first = await docPersistence(store, 'meso-yjs', { legacyFile: legacy, log: (m) => { logged.push(m) } }).load()
      assert.deepEqual(first.map((u) => [...u]), [[1, 2, 3], [4, 5]])
      assert.ok(!existsSync(legacy) && existsSync(legacy + '.migrated'))
      assert.equal(logged.length, 1)
      await store.close()
      store = await openStore({ path, nodeId: 't' })
      const again = await docPersistence(store, 'meso-yjs', { legacyFile: legacy }).load()
      assert.deepEqual(again.map((u) => [...u]), [[1, 2, 3], [4, 5]], 'from the store, not imported twice')
      await store.close()
    } finally { t.cleanup() }
  })


  it('relocation: what a component asks of its host, and a host\'s free capacity (rounded down to steps)', () => {
    const c = (name: string, limits: { cpu?: number, memoryMb?: number }, priority = 1) => ({ name, priority, limits })
    const specs: Array<[string, ReturnType<typeof c>, ReturnType<typeof workloadSpecOf>]> = [
      ['no limits: the defaults', c('a', {}), { name: 'a', priority: 1, cpuMillis: 100, memoryMb: 64 }],
      ['limits given', c('b', { cpu: 0.25, memoryMb: 512 }, 7), { name: 'b', priority: 7, cpuMillis: 250, memoryMb: 512 }],
      ['fractional millis round up', c('d', { cpu: 0.0005 }), { name: 'd', priority: 1, cpuMillis: 1, memoryMb: 64 }]
    ]
    for (const [what, comp, want] of specs) assert.deepEqual(workloadSpecOf(comp), want, what)
    const machine = { cpuMillis: 4000, memoryMb: 8000 }
    const caps: Array<[string, Array<ReturnType<typeof c>>, { cpuMillis: number, memoryMb: number }]> = [
      ['nothing running', [], { cpuMillis: 4000, memoryMb: 8000 }],
      ['requests subtracted, then rounded down', [c('a', {}), c('b', { cpu: 1.05, memoryMb: 1000 })], { cpuMillis: 2800, memoryMb: 6912 }],
      ['overcommitted: zero, not negative', [c('x', { cpu: 5, memoryMb: 9000 })], { cpuMillis: 0, memoryMb: 0 }]
    ]
    for (const [what, running, want] of caps) assert.deepEqual(freeCapacity(machine, running), want, what)
  })

  it('percentile (nearest rank), from a table', () => {
    const table: Array<[number[], number, number | undefined]> = [
      [[], 50, undefined], [[5], 50, 5], [[1, 2, 3, 4], 50, 2], [[1, 2, 3, 4], 95, 4], [[4, 1, 3, 2], 25, 1], [[10, 20, 30], 100, 30], [[10, 20, 30], 0, 10]
    ]
    for (const [xs, p, want] of table) assert.equal(percentile(xs, p), want, `${JSON.stringify(xs)} p${p}`)
  })

  it('report: MTTR and detection from steps, heal rate, ROR', () => {
    const r = computeReport([
      inc('a', 'recovered', 1000, 1100, 2000),
      inc('b', 'recovered', 5000, 5300, 8000, 'hang'),
      inc('c', 'escalated', 9000, 9050),
      inc('d', 'open', 9500)
    ], { agentCpuPct: 2, agentRssMb: 100 })
    assert.equal(r.incidents, 4)
    assert.equal(r.recovered, 2)
    assert.equal(r.escalated, 1)
    assert.equal(r.open, 1)
    assert.equal(r.mttrP50Ms, 1000)
    assert.equal(r.mttrP95Ms, 3000)
    assert.equal(r.detectP50Ms, 100)
    assert.equal(r.healRate, 2 / 3)
    // ROR, the paper's formula: a's baseline is its own repair work (10 ms: an exit is seen at once, first
    // failure, no back-off); b (a hang, the component's second failure in 10 min) 26 s of liveness detection +
    // 10 s back-off + 10 ms. MTTR 2000 vs 18010 ms: reduction 0.889, over 2 % of one core.
    assert.equal(r.mttrCompared, 2)
    assert.equal(r.mttrComparedMeanMs, 2000)
    assert.equal(r.mttrBaselineMeanMs, 18010)
    assert.ok(Math.abs((r.mttrReduction as number) - 16010 / 18010) < 1e-9)
    assert.equal(r.overheadFraction, 0.02)
    assert.ok(Math.abs((r.ror as number) - (16010 / 18010) / 0.02) < 1e-9)
    const twoCores = computeReport([inc('a', 'recovered', 1000, 1100, 2000)], { agentCpuPct: 2, agentRssMb: 100, cores: 2 })
    assert.equal(twoCores.overheadFraction, 0.01, 'overhead over the machine\'s capacity')
    assert.deepEqual(r.byClass.map((c) => [c.failureClass, c.count, c.recovered]), [['crash', 3, 1], ['hang', 1, 1]])
    assert.equal(incidentTimes(inc('a', 'recovered', 1000, 1100, 2000)).action, 'restart')
  })

  it('the ROR baseline (Kubernetes default timing) per incident, from a table', () => {
    const table: Array<[string, Incident, number, number | undefined]> = [
      ['first crash: seen at once, no back-off, the repair work', inc('a', 'recovered', 0, 10, 1000, 'crash'), 0, 10],
      ['fourth crash in 10 min: 40 s back-off', inc('a', 'recovered', 0, 10, 1000, 'crash'), 3, 40_010],
      ['back-off capped at 5 min', inc('a', 'recovered', 0, 10, 1000, 'oom'), 10, 300_010],
      ['a hang: half a period, two more periods, the timeout', inc('a', 'recovered', 0, 10, 1000, 'hang'), 0, 26_010],
      ['unhealthy (a failing probe): the same liveness detection', inc('a', 'recovered', 0, 10, 1000, 'unhealthy'), 0, 26_010],
      ['a leak before its limit: not healed by that baseline', inc('a', 'recovered', 0, 10, 1000, 'memory_leak'), 0, undefined],
      ['a filling disk: not healed by that baseline', inc('a', 'recovered', 0, 10, 1000, 'disk_fill'), 0, undefined],
      ['not recovered by us: not compared', inc('a', 'escalated', 0, 10), 0, undefined]
    ]
    for (const [what, i, prior, want] of table) assert.equal(baselineRepairMs(i, prior), want, what)
  })

  it('event bus: bounded ring, resume after an id, subscriber cap', () => {
    const bus = createEventBus({ ringSize: 3, maxSubscribers: 1 })
    for (let i = 0; i < 5; i++) bus.emit('health', i)
    assert.deepEqual(bus.since(0).map((e) => e.data), [2, 3, 4])
    assert.deepEqual(bus.since(4).map((e) => e.data), [4])
    const off = bus.subscribe(() => {})
    assert.throws(() => bus.subscribe(() => {}), (e: { code?: string }) => e.code === 'ERR_TOO_MANY_SUBSCRIBERS')
    off()
    bus.subscribe(() => { throw new Error('a broken subscriber') })
    assert.doesNotThrow(() => bus.emit('health', 5))
  })

  it('approvals: decide once, expire on timeout, deny beyond the pending cap', async () => {
    const timers: Array<() => void> = []
    const q = createApprovalQueue({ maxPending: 2, setTimer: (fn) => { timers.push(fn); return () => {} } })
    const a = q.request({ incidentId: 'i', component: 'c', action: 'restart', reason: 'r' })
    const b = q.request({ incidentId: 'i', component: 'c', action: 'kill', reason: 'r' })
    const c = q.request({ incidentId: 'i', component: 'c', action: 'rollback', reason: 'r' })
    assert.equal(await c.decision, 'denied', 'over the cap')
    q.decide(a.approval.id, 'approved', 'ops')
    assert.equal(await a.decision, 'approved')
    assert.throws(() => q.decide(a.approval.id, 'denied', 'ops'), (e: { code?: string }) => e.code === 'ERR_APPROVAL_DECIDED')
    assert.throws(() => q.decide('apr-x', 'denied', 'ops'), (e: { code?: string }) => e.code === 'ERR_NO_SUCH_APPROVAL')
    timers[1]() // b's timeout fires
    assert.equal(await b.decision, 'expired')
  })

  it('sd_notify: READY, STOPPING and watchdog pings through systemd-notify; no-op without NOTIFY_SOCKET', async () => {
    const t = tempDir()
    try {
      const log = join(t.dir, 'calls')
      const fake = join(t.dir, 'systemd-notify')
      writeFileSync(fake, `#!/bin/sh\necho "$@" >> ${log}\n`)
      chmodSync(fake, 0o755)
      const env = { PATH: `${t.dir}:${process.env.PATH ?? ''}`, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '1000000' }
      const n = createNotifier(env as NodeJS.ProcessEnv)
      assert.equal(n.enabled, true)
      n.ready('api up')
      n.stopping()
      const stop = n.startWatchdog(() => true)
      await waitFor('three calls', () => existsSync(log) && readFileSync(log, 'utf8').split('\n').filter(Boolean).length >= 3 ? true : undefined, 5000)
      stop()
      const calls = readFileSync(log, 'utf8')
      assert.match(calls, new RegExp(`--pid=${process.pid} --ready --status=api up`))
      assert.match(calls, /STOPPING=1/)
      assert.match(calls, /WATCHDOG=1/)
      assert.equal(createNotifier({}).enabled, false)
      const table: Array<[Record<string, string>, number | undefined]> = [[{}, undefined], [{ WATCHDOG_USEC: '30000000' }, 15000], [{ WATCHDOG_USEC: '100' }, 500], [{ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, undefined], [{ WATCHDOG_USEC: 'x' }, undefined]]
      for (const [e, want] of table) assert.equal(watchdogIntervalMs(e as NodeJS.ProcessEnv), want, JSON.stringify(e))
    } finally { t.cleanup() }
  })

  it('swarm key files: generated format, mode checked', () => {
    const t = tempDir()
    try {
      const f = join(t.dir, 'swarm.key')
      writeSecretFile(f, generateSwarmKey())
      assert.equal(checkSwarmKey(f).length > 80, true)
      chmodSync(f, 0o644)
      assert.throws(() => checkSwarmKey(f), /readable by other users/)
      writeSecretFile(f, 'not a key')
      assert.throws(() => checkSwarmKey(f), /malformed/)
    } finally { t.cleanup() }
  })

  it('demo schedule: seeded, every fault kind, agent-kill never first', () => {
    const edges = ['edge-1', 'edge-2', 'edge-3']
    assert.deepEqual(faultSchedule(1, 60, edges), faultSchedule(1, 60, edges))
    assert.notDeepEqual(faultSchedule(1, 60, edges), faultSchedule(2, 60, edges))
    for (let seed = 0; seed < 50; seed++) {
      const s = faultSchedule(seed, 60, edges)
      for (const k of ['crash', 'hang', 'leak', 'batch-kill', 'agent-kill', 'shared-fail']) assert.ok(s.some((f) => f.kind === k), `seed ${seed} has ${k}`)
      assert.notEqual(s[0].kind, 'agent-kill', `seed ${seed}`)
      assert.ok(s.every((f, i) => i === 0 || f.atS >= s[i - 1].atS), `seed ${seed} ordered`)
    }
    // A long run keeps faults on one component DEMO_FAULT_GAP_S apart (spaced faults, not a crash loop), and keeps its length.
    for (let seed = 0; seed < 20; seed++) {
      const s = faultSchedule(seed, 600, edges)
      assert.ok(s.length >= 50, `seed ${seed}: ${s.length} faults`)
      s.forEach((f, i) => { if (f.atS > 600) assert.ok(!s.slice(0, i).some((g) => g.kind === f.kind), `seed ${seed}: ${f.kind} at ${f.atS} s is past the duration and not the first of its kind`) })
      const last = new Map<string, number>()
      for (const f of s) {
        for (const c of FAULT_TARGETS[f.kind]) {
          const k = `${f.node}/${c}`
          const prev = last.get(k)
          assert.ok(prev === undefined || f.atS - prev >= DEMO_FAULT_GAP_S - 1e-9, `seed ${seed}: ${k} faulted at ${prev} and ${f.atS}`)
          last.set(k, f.atS)
        }
      }
    }
  })
})
