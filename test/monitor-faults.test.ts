// The monitor against real misbehaving processes: each fault opens the right
// incident, with HLC-stamped steps, before the damage where it can be predicted.
import { strict as assert } from 'node:assert'
import { freeLoopbackPort } from '../agent/src/demo/ports.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHlc, decode, compare } from '@homeostat/hlc'
import { incidentSchema, type Incident } from '@homeostat/interface'
import { openStore, type Store } from '@homeostat/store'
import { createMonitor, type Monitor, type MonitorOptions } from '@homeostat/monitor'

const worker = fileURLToPath(new URL('../packages/monitor/test/fixtures/worker.mjs', import.meta.url))
const node = process.execPath
const waitFor = async <T>(fn: () => T | undefined, timeoutMs = 8000): Promise<T> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}
/** A loopback port for a workload started later (below the ephemeral range: see agent/src/demo/ports.ts). */
const freePort = async (): Promise<number> => await freeLoopbackPort()
/** Every step HLC-stamped, in clock order, and the record valid against the shared schema. */
const assertWellFormed = (inc: Incident): void => {
  incidentSchema.parse(inc)
  for (let i = 1; i < inc.steps.length; i++) assert.ok(compare(decode(inc.steps[i - 1]!.hlc), decode(inc.steps[i]!.hlc)) < 0, 'steps in HLC order')
  assert.equal(inc.steps[0]!.kind, 'opened')
  assert.equal(inc.steps[1]!.kind, 'detected')
  assert.ok(inc.steps[0]!.atMs <= inc.steps[1]!.atMs)
}

describe('monitor: real faults open incidents', function () {
  this.timeout(30_000)
  let dir: string
  let store: Store | undefined
  let mon: Monitor | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'monitor-faults-')) })
  afterEach(async () => {
    await mon?.stop({ graceMs: 200 })
    mon = undefined
    await store?.close()
    store = undefined
    rmSync(dir, { recursive: true, force: true })
  })
  const make = async (o: Partial<MonitorOptions> & Pick<MonitorOptions, 'components'>): Promise<Monitor> => {
    store = await openStore({ path: join(dir, 'db'), nodeId: 'n1' })
    mon = createMonitor({
      node: 'n1',
      hlc: createHlc({ nodeId: 'n1', now: Date.now }),
      store,
      metrics: { intervalMs: 100, system: false, dirScanIntervalMs: 100 },
      ...o
    })
    await mon.start()
    return mon
  }

  it('a crash opens a crash incident with the output tail; auto-restart is recorded and verified', async () => {
    const m = await make({
      components: [{ name: 'crasher', command: node, args: [worker], env: { MODE: 'crash-once', CODE: '4', AFTER_MS: '300', MARK: join(dir, 'mark') }, restart: 'on-failure' }],
      supervisor: { restartInitialMs: 50 },
      verifyStableMs: 500
    })
    const inc = await waitFor(() => m.incidents.list({ component: 'crasher' }).find((i) => i.status === 'recovered'))
    assert.equal(inc.failureClass, 'crash')
    assertWellFormed(inc)
    assert.deepEqual(inc.steps.map((s) => s.kind), ['opened', 'detected', 'acted', 'verified', 'recovered'])
    assert.ok(inc.steps[0]!.evidence!.some((l) => l.includes('about to crash')))
    assert.equal(inc.anomalies[0]!.kind, 'exit')
    assert.equal(inc.anomalies[0]!.value, 4)
    // persisted: the record and every step are in the store
    await m.incidents.flush()
    const saved = await store!.sub<Incident>('incidents').get(inc.id)
    assert.equal(saved?.status, 'recovered')
    const logged = await store!.log.read<{ id: string }>({ kind: 'incident.step' })
    assert.ok(logged.filter((e) => e.record.id === inc.id).length >= 3)
    assert.equal((await store!.log.read({ kind: 'incident.opened' })).length >= 1, true)
  })

  it('a crash loop under plain supervision ends quarantined, and the incident says so', async () => {
    const m = await make({
      components: [{ name: 'loop', command: node, args: [worker], env: { MODE: 'crash', AFTER_MS: '0' }, restart: 'always' }],
      supervisor: { restartInitialMs: 20, crashLoopMaxExits: 2, crashLoopWindowMs: 30_000 }
    })
    const inc = await waitFor(() => m.incidents.list({ component: 'loop' }).find((i) => i.status === 'quarantined'), 15_000)
    assert.equal(inc.failureClass, 'crash')
    assertWellFormed(inc)
    assert.equal(inc.steps.filter((s) => s.kind === 'acted').length, 2, JSON.stringify(inc.steps.map((s) => [s.kind, s.summary])))
    assert.equal(m.incidents.list({ component: 'loop' }).length, 1, 'restarts that do not hold are not recoveries')
    assert.equal(inc.steps[inc.steps.length - 1]!.kind, 'quarantined')
    assert.ok(inc.anomalies.length >= 3)
    assert.equal(m.supervisor.info('loop').state, 'quarantined')
  })

  it('a hung HTTP server (accepts, never answers) opens a hang incident from the probe', async () => {
    const port = await freePort()
    const m = await make({
      autoRestart: false,
      components: [{ name: 'api', command: node, args: [worker], env: { MODE: 'hang', PORT: String(port) }, probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 100, timeoutMs: 200, failureThreshold: 3 }] }]
    })
    // Probe only once the server listens (before that it would see ECONNREFUSED: class "unhealthy", not a hang).
    m.probes.stop()
    await waitFor(() => m.supervisor.tail('api').stdout.some((l) => l.startsWith('listening')))
    m.probes.start()
    const inc = await waitFor(() => m.incidents.findOpen('api', 'hang'), 15_000)
    assertWellFormed(inc)
    assert.equal(inc.anomalies[0]!.kind, 'probe')
    assert.match(inc.steps[0]!.summary, /timeout/)
    // opened = first failure, detected = threshold reached
    assert.ok(inc.steps[1]!.atMs - inc.openedAtMs >= 300, `${inc.steps[1]!.atMs - inc.openedAtMs} ms`)
    assert.equal((await m.checkNow('api')).healthy, false)
    assert.equal(m.incidents.list().length, 1)
  })

  it('plain supervision restarts a hung server (liveness semantics) and records the verified recovery', async () => {
    const port = await freePort()
    const m = await make({
      components: [{ name: 'api', command: node, args: [worker], env: { MODE: 'hang-once', PORT: String(port), MARK: join(dir, 'mark') }, probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/`, periodMs: 100, timeoutMs: 200, failureThreshold: 3, initialDelayMs: 1500 }] }],
      verifyStableMs: 500
    })
    m.probes.stop()
    await waitFor(() => m.supervisor.tail('api').stdout.some((l) => l.startsWith('listening')))
    m.probes.start()
    const inc = await waitFor(() => m.incidents.list({ component: 'api' }).find((i) => i.status === 'recovered'), 20_000)
    assert.equal(inc.failureClass, 'hang')
    assertWellFormed(inc)
    assert.deepEqual(inc.steps.map((s) => s.kind), ['opened', 'detected', 'acted', 'verified', 'recovered'])
    assert.equal(m.supervisor.info('api').restarts, 1)
    assert.deepEqual(m.incidents.list().map((i) => i.failureClass), ['hang'], 'verification polling opened no new incident')
    // the answering instance's probe latencies flow into the metrics path
    await waitFor(() => m.metrics.latest().get('api/probe.http.latency_ms'))
    assert.equal(m.supervisor.info('api').lastExit?.reason, 'hang')
  })

  it('a memory leak is predicted before the limit; at the limit the process is killed as OOM', async () => {
    const m = await make({
      autoRestart: false,
      components: [{ name: 'leaky', command: node, args: [worker], env: { MODE: 'leak', MB_PER_TICK: '6', TICK_MS: '100' }, limits: { memoryMb: 300 } }],
      watch: { trendWindowMs: 3000, trendMinSpanMs: 500, trendMinPoints: 5, leakHorizonMs: 15_000 }
    })
    const leak = await waitFor(() => m.incidents.findOpen('leaky', 'memory_leak'))
    assertWellFormed(leak)
    const opened = leak.steps[0]!
    const ttl = opened.data!.timeToLimitMs as number
    assert.equal(leak.anomalies[0]!.kind, 'predictive')
    assert.ok(leak.anomalies[0]!.value < 300, `RSS ${leak.anomalies[0]!.value} MB already at the limit`)
    assert.ok(ttl > 0 && ttl <= 15_000, `timeToLimitMs ${ttl}`)
    assert.equal(m.incidents.findOpen('leaky', 'oom'), undefined, 'predicted before any OOM')
    // left alone, it reaches the limit and is killed (reason oom)
    const oom = await waitFor(() => m.incidents.findOpen('leaky', 'oom'), 20_000)
    assert.ok(oom.steps[1]!.atMs >= leak.steps[1]!.atMs)
    await waitFor(() => m.supervisor.info('leaky').lastExit?.reason === 'oom')
    // the prediction came before the kill, by about the predicted time
    const killedAt = m.supervisor.info('leaky').lastExit!.atMs
    assert.ok(killedAt - leak.steps[1]!.atMs > 500, `lead ${killedAt - leak.steps[1]!.atMs} ms`)
  })

  it('a CPU hog over its limit opens a cpu_limit incident', async () => {
    const m = await make({
      autoRestart: false,
      // 300 ms samples: CPU time has 10 ms resolution, so 100 ms samples would be quantised to 10 % steps
      metrics: { intervalMs: 300, system: false },
      components: [{ name: 'hog', command: node, args: [worker], env: { MODE: 'hog' }, limits: { cpu: 0.2 } }, { name: 'calm', command: node, args: [worker], limits: { cpu: 0.2 } }]
    })
    const inc = await waitFor(() => m.incidents.findOpen('hog', 'cpu_limit'), 15_000)
    assertWellFormed(inc)
    assert.ok(inc.anomalies[0]!.value > 20)
    assert.equal(m.incidents.findOpen('calm', 'cpu_limit'), undefined)
  })

  it('a disk-filling writer is predicted before its directory limit', async () => {
    const data = join(dir, 'data')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(data)
    const m = await make({
      autoRestart: false,
      components: [{ name: 'writer', command: node, args: [worker], env: { MODE: 'disk', DIR: data, KB_PER_TICK: '256', TICK_MS: '50' }, limits: { disk: { path: data, limitMb: 40 } } }],
      watch: { trendWindowMs: 3000, trendMinSpanMs: 500, trendMinPoints: 5, diskHorizonMs: 60_000 }
    })
    const inc = await waitFor(() => m.incidents.findOpen('writer', 'disk_fill'))
    assertWellFormed(inc)
    assert.equal(inc.anomalies[0]!.kind, 'predictive')
    assert.ok(inc.anomalies[0]!.value < 40 * 0.9, `already at ${inc.anomalies[0]!.value} MB`)
    assert.ok((inc.steps[0]!.data!.timeToLimitMs as number) > 0)
  })

  it('a probe whose command is missing opens one probe_error incident and is not retried forever', async () => {
    const m = await make({
      autoRestart: false,
      components: [{ name: 'svc', command: node, args: [worker], probes: [{ kind: 'exec', command: '/no/such/check', periodMs: 20 }] }],
      probes: { probeErrorBackoffMs: 20, maxProbeErrors: 3 }
    })
    const inc = await waitFor(() => m.incidents.findOpen('svc', 'probe_error'))
    assertWellFormed(inc)
    assert.match(inc.steps[0]!.summary, /ENOENT/)
    const runs = m.probes.stats().runs
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(m.probes.stats().runs, runs, 'no more runs after giving up')
    assert.equal(m.incidents.list({ component: 'svc' }).length, 1)
    assert.equal(m.health('svc').healthy, true, 'the workload itself is fine')
  })

  it('device telemetry fed through ingest is scored by the detector and opens a metric incident', async () => {
    const m = await make({ components: [], watch: { detectorOptions: { learningSamples: 100 }, detectorWarmupSamples: 100 } })
    let t = Date.now() - 1_000_000
    let seed = 7
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
    for (let i = 0; i < 400; i++) m.ingest({ metric: 'thermal.soc.temp_c', component: 'node', value: 55 + rnd(), atMs: (t += 1000) })
    assert.equal(m.incidents.list().length, 0, `no false alarm on normal data: ${JSON.stringify(m.incidents.list()[0]?.steps[0])}`)
    for (let i = 0; i < 5; i++) m.ingest({ metric: 'thermal.soc.temp_c', component: 'node', value: 85, atMs: (t += 1000) })
    const inc = await waitFor(() => m.incidents.findOpen('node', 'thermal'))
    assert.equal(inc.targetKind, 'node')
    assert.equal(inc.anomalies[0]!.kind, 'metric')
    assert.equal(m.ingest([{ metric: 'bad name!', component: 'node', value: 1, atMs: t }, { metric: 'x', component: 'node', value: Number.NaN, atMs: t }]), 0)
    assert.equal(m.metrics.stats().rejected, 2)
  })
})
