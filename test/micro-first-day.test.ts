// The micro loop on the defects a new user met (real processes throughout):
//  - back-to-back faults on one component, each within 1 s of the last
//    verification: every one opens an incident and is healed (no supervision
//    gap, nothing dropped as "stale");
//  - a stopped (SIGSTOP) process is seen at its first failing probe (the
//    kernel corroborates it) and restarted without waiting out a grace it
//    cannot use;
//  - restart back-off and the crash-loop count start over once a workload
//    ran healthy for a while;
//  - a crash loop is quarantined, retried on a back-off, and released when it
//    stays healthy; `restart: never` and a finished job are respected;
//  - a stale copy of the component holding its port is stopped, and never
//    counted as a heal.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, COMPONENT_ENV, type ComponentInput, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import { createPlaybook } from '@homeostat/recovery'
import type { Incident } from '@homeostat/interface'
import { createMicroLoop, type MicroLoop, type MicroLoopOptions } from '@homeostat/micro'
import { FIXTURES, freePort, tempDir, waitFor, waitHealthy } from './micro-helpers.ts'

const SERVER = join(FIXTURES, 'micro-crasher.mjs') // healthy until its fault file appears (never, here)

describe('micro loop (real processes): first-day defects', function () {
  this.timeout(90_000)
  let sup: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let loop: MicroLoop | undefined
  let cleanup: (() => Promise<void>) | undefined
  const strays: number[] = []
  afterEach(async () => {
    await loop?.stop(2000)
    probes?.stop()
    await sup?.stop({ graceMs: 200 })
    for (const p of strays.splice(0)) { try { process.kill(p, 'SIGKILL') } catch {} }
    await cleanup?.()
    sup = undefined; probes = undefined; loop = undefined; cleanup = undefined
  })

  async function setup (o: { component?: Partial<ComponentInput>, loop?: Partial<MicroLoopOptions>, probe?: Record<string, number> } = {}): Promise<{ port: number, dir: string }> {
    const t = await tempDir()
    cleanup = t.cleanup
    const port = await freePort()
    sup = createSupervisor({
      autoRestart: false,
      components: [{
        name: 'svc',
        command: process.execPath,
        args: [SERVER],
        env: { PORT: String(port), FAULT_FILE: join(t.dir, 'never') },
        restart: 'always',
        probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 250, timeoutMs: 300, failureThreshold: 3, initialDelayMs: 100, ...o.probe }],
        ...o.component
      }]
    })
    probes = createProbeRunner({ supervisor: sup })
    loop = createMicroLoop({ node: 'edge-1', hlc: createHlc({ nodeId: 'edge-1', now: Date.now }), supervisor: sup, probes, ...o.loop })
    loop.start()
    await sup.start()
    probes.start()
    if (o.component?.command === undefined) await waitHealthy(probes, 'svc')
    return { port, dir: t.dir }
  }

  const closedOf = (): Incident[] => loop!.incidents().filter((i) => ['recovered', 'escalated', 'quarantined'].includes(i.status))

  it('20 back-to-back faults, each within 1 s of the last verification: 20 incidents, 20 heals', async () => {
    // 20 faults in ~a minute on one component is what the crash-loop rule and the restart back-off are for
    // (they would rightly quarantine it, and space the restarts up to 30 s apart): this test is about
    // supervision gaps, so both are set out of the way (back-off capped at 0.5 s).
    await setup({ loop: { policy: createPlaybook({ crashLoop: { maxRestarts: 1000 } }), recoveryDefaults: { backoff: { baseMs: 250, factor: 2, maxMs: 500, jitter: 0.5 } } } })
    const verified: number[] = []
    loop!.on('closed', (i) => { if (i.status === 'recovered') verified.push(Date.now()) })
    for (let n = 0; n < 20; n++) {
      const pid = sup!.info('svc').pid!
      // Alternate the two faults a supervisor must see: an exit, and a process that no longer runs.
      process.kill(pid, n % 2 === 0 ? 'SIGKILL' : 'SIGSTOP')
      const healed = await waitFor(`heal ${n + 1}`, () => verified.length === n + 1 || undefined, 15_000)
      void healed
      // The next fault comes 0–1 s after this verification.
      await new Promise((resolve) => setTimeout(resolve, Math.round(Math.random() * 1000)))
    }
    const incidents = loop!.incidents()
    assert.equal(incidents.length, 20, incidents.map((i) => `${i.failureClass}:${i.status}`).join(' '))
    assert.equal(incidents.filter((i) => i.status === 'recovered').length, 20)
    assert.deepEqual([...new Set(incidents.map((i) => i.failureClass))].sort(), ['crash', 'hang'])
    assert.equal(loop!.stats().escalated, 0)
  })

  it('a stopped process: seen at its first failing probe (the kernel corroborates it) and restarted without a long grace', async () => {
    // A long timeout: a probe waiting on a stopped process fails once the kernel shows it stopped, not at its timeout.
    await setup({ probe: { periodMs: 1000, timeoutMs: 5000, failureThreshold: 3 } })
    const pid = sup!.info('svc').pid!
    const t0 = Date.now()
    process.kill(pid, 'SIGSTOP')
    const inc = await waitFor('an incident', () => loop!.incidents()[0], 10_000)
    const detectedAfterMs = Date.now() - t0
    assert.equal(inc.failureClass, 'hang')
    assert.match(inc.steps.find((s) => s.kind === 'detected')!.summary, /no answer after \d+ ms and pid \d+ is stopped \(state T\).*corroborated, not waiting for 3 failures/)
    // One pending probe (≤ 1 s to the next run + 250 ms waiting on a stopped process), not three failures (~15 s).
    assert.ok(detectedAfterMs < 2000, `detected after ${detectedAfterMs} ms`)
    const done = await loop!.settled(inc.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.ok((acted.data?.actionMs as number) < 1500, `the action took ${String(acted.data?.actionMs)} ms (SIGTERM + SIGCONT: a stopped process exits at once)`)
    assert.notEqual(sup!.info('svc').pid, pid)
  })

  it('restart back-off and the crash-loop count start over after a healthy run', async () => {
    await setup({ loop: { defaults: { stableAfterMs: 1500 } } })
    const crashAndHeal = async (): Promise<Incident> => {
      const n = closedOf().length
      process.kill(sup!.info('svc').pid!, 'SIGKILL')
      await waitFor('healed', () => closedOf().length === n + 1 || undefined, 15_000)
      return closedOf().sort((a, b) => a.openedAtMs - b.openedAtMs)[n]!
    }
    const backoffOf = (i: Incident): number => i.steps.find((s) => s.kind === 'acted')!.data?.backoffMs as number
    const first = await crashAndHeal()
    const second = await crashAndHeal() // right after: not stable in between
    assert.equal(backoffOf(first), 0)
    assert.ok(backoffOf(second) > 0, 'a second crash right after the first restart waits')
    await new Promise((resolve) => setTimeout(resolve, 2500)) // healthy for longer than stableAfterMs
    const third = await crashAndHeal()
    assert.equal(backoffOf(third), 0, 'after a healthy run the next restart is immediate again')
    assert.match(third.steps.find((s) => s.kind === 'planned')!.summary, /playbook for crash: restart/)
  })

  it('a crash loop is quarantined, retried on a back-off, and released once it stays healthy', async () => {
    const t = await tempDir()
    const flag = join(t.dir, 'fixed')
    // Exits at once until the flag file exists (an operator fixes the cause), then serves.
    const port = await freePort()
    const script = `const fs = require('node:fs'); if (!fs.existsSync(${JSON.stringify(flag)})) { console.error('config missing'); process.exit(3) } require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1')`
    await setup({
      component: { command: process.execPath, args: ['-e', script], probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/`, periodMs: 200, timeoutMs: 300, failureThreshold: 2 }] },
      loop: { defaults: { stableAfterMs: 1000 }, holds: { retryInitialMs: 1500, retryJitter: 0 } }
    })
    const events: string[] = []
    loop!.on('hold', (h) => events.push(`hold:${h.attempt + 1}`))
    loop!.on('retry', (h) => events.push(`retry:${h.attempt}`))
    loop!.on('released', () => events.push('released'))
    await waitFor('quarantined', () => sup!.info('svc').state === 'quarantined' || undefined, 30_000)
    await waitFor('a retry', () => events.includes('retry:1') || undefined, 10_000)
    assert.ok(loop!.holds().length === 1)
    writeFileSync(flag, '') // fixed
    await waitFor('released after staying healthy', () => events.includes('released') || undefined, 30_000)
    assert.equal(sup!.info('svc').state, 'running')
    assert.deepEqual(loop!.holds(), [])
    assert.ok(existsSync(flag))
    void t
  })

  it('restart: never is not restarted (escalated, no retry); a finished on-failure job is done, not a failure', async () => {
    const t = await tempDir()
    void t
    await setup({ component: { command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(4), 300)'], restart: 'never', probes: [] } })
    const inc = await waitFor('an incident', () => loop!.incidents()[0], 5000)
    const done = await loop!.settled(inc.id)
    assert.equal(done.status, 'escalated')
    assert.match(done.steps.find((s) => s.kind === 'planned')!.summary, /restart: never, so it is not started again/)
    assert.equal(loop!.recovery.stats().executed, 1, 'only the escalation')
    assert.deepEqual(loop!.holds(), [], 'no retry against the policy')
    await loop!.stop(1000); probes!.stop(); await sup!.stop({ graceMs: 100 })
    await setup({ component: { command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(0), 300)'], restart: 'on-failure', probes: [] } })
    await waitFor('the job finished', () => sup!.info('svc').state === 'exited' || undefined, 5000)
    await new Promise((resolve) => setTimeout(resolve, 1500)) // a watchdog pass or two
    assert.deepEqual(loop!.incidents(), [])
    assert.equal(loop!.stats().completedExits, 1)
  })

  it('a stale copy of the component holding its port is diagnosed and stopped; only our own process counts as healed', async () => {
    const { port } = await setup()
    await sup!.stopComponent('svc') // on purpose: no incident
    // A copy of `svc` from elsewhere (an earlier agent, a daemonized child) holds its port.
    const stale = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: String(port), [COMPONENT_ENV]: 'svc' }, stdio: 'ignore', detached: true })
    strays.push(stale.pid!)
    await waitFor('the stale copy serving', async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) || undefined, 5000)
    await sup!.startComponent('svc') // ours cannot bind: EADDRINUSE, exit 1
    const inc = await waitFor('an incident', () => loop!.incidents()[0], 10_000).catch((err: Error) => {
      throw new Error(`${err.message}; svc ${JSON.stringify(sup!.info('svc'))}; tail ${JSON.stringify(sup!.tail('svc'))}; loop ${JSON.stringify(loop!.stats())}`)
    })
    const done = await loop!.settled(inc.id)
    const summaries = done.steps.map((s) => `${s.kind}: ${s.summary}`)
    assert.equal(done.status, 'recovered', summaries.join(' | '))
    assert.ok(done.steps.some((s) => s.kind === 'note' && new RegExp(`a stale copy of svc \\(pid ${stale.pid}`).test(s.summary)), summaries.join(' | '))
    assert.equal(loop!.stats().staleCopiesStopped, 1)
    await waitFor('the stale copy gone', () => { try { process.kill(stale.pid!, 0); return undefined } catch { return true } }, 5000)
    const owner = (await import('@homeostat/monitor')).portOwner(port)
    assert.equal(owner?.pid, sup!.info('svc').pid, 'the port is served by our own process')
  })
})
