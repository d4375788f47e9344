// End to end, real processes: a crashing service and a hung HTTP server are
// detected by the monitor (supervisor exits, HTTP probes), healed by the
// micro loop (playbook → recovery → verification), and each incident record
// holds every step with times.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import { createMicroLoop, type MicroLoop } from '@homeostat/micro'
import { FIXTURES, waitHealthy, assertRecord, freePort, mttrMs, tempDir, waitFor } from './micro-helpers.ts'

describe('micro loop (real processes): crash and hang', function () {
  this.timeout(30_000)
  let sup: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let loop: MicroLoop | undefined
  let cleanup: (() => Promise<void>) | undefined
  afterEach(async () => {
    await loop?.stop(2000)
    probes?.stop()
    await sup?.stop({ graceMs: 200 })
    await cleanup?.()
    sup = undefined; probes = undefined; loop = undefined; cleanup = undefined
  })

  async function setup (fixture: string, extraEnv: Record<string, string> = {}): Promise<{ faultFile: string }> {
    const t = await tempDir()
    cleanup = t.cleanup
    const port = await freePort()
    const faultFile = join(t.dir, 'fault')
    sup = createSupervisor({
      autoRestart: false,
      components: [{
        name: 'svc',
        command: process.execPath,
        args: [join(FIXTURES, fixture)],
        env: { PORT: String(port), FAULT_FILE: faultFile, FAULT_AFTER_MS: '400', ...extraEnv },
        probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 250, timeoutMs: 300, failureThreshold: 2, initialDelayMs: 150 }]
      }]
    })
    probes = createProbeRunner({ supervisor: sup })
    const hlc = createHlc({ nodeId: 'edge-1', now: Date.now })
    loop = createMicroLoop({ node: 'edge-1', hlc, supervisor: sup, probes })
    loop.start()
    await sup.start()
    probes.start()
    // Inject the fault into a process that is up and healthy.
    await waitHealthy(probes, 'svc')
    writeFileSync(faultFile, '')
    return { faultFile }
  }

  it('heals a crashing process: exit → restart → verified, in about a second', async () => {
    await setup('micro-crasher.mjs')
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 5000)
    assert.equal(incident.failureClass, 'crash', JSON.stringify(incident.steps.map((s) => s.summary)))
    const done = await loop!.settled(incident.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'])
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.equal(acted.data?.action, 'restart')
    assert.ok(done.steps.find((s) => s.kind === 'detected')!.evidence?.some((l) => l.includes('simulated crash')), 'stderr tail is evidence')
    const mttr = mttrMs(done)
    assert.ok(mttr < 2000, `crash MTTR ${mttr} ms`)
    assert.equal(sup!.info('svc').state, 'running')
    assert.equal(loop!.incidents().length, 1, 'the restart opened no second incident')
    const outcomes = loop!.outcomes()
    assert.equal(outcomes.length, 1)
    assert.equal(outcomes[0].success, true)
    assert.equal(outcomes[0].action, 'restart')
  })

  it('heals a hung HTTP server (accepts, never answers; ignores SIGTERM): probe timeout → kill → verified', async () => {
    await setup('micro-hang.mjs')
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 8000)
    assert.equal(incident.failureClass, 'hang')
    const done = await loop!.settled(incident.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'])
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.equal(acted.data?.action, 'kill')
    assert.equal(acted.data?.sigkill, true, 'SIGTERM was ignored, so SIGKILL was needed')
    // The exit the kill itself caused is attributed to the recovery, not a new incident.
    assert.ok(done.steps.some((s) => s.kind === 'note' && s.data?.attributedToRecovery === true), 'kill-induced exit attributed to the recovery')
    await new Promise((r) => setTimeout(r, 600))
    assert.equal(loop!.incidents().length, 1, 'no second incident for the blip the kill caused')
    const mttr = mttrMs(done)
    assert.ok(mttr < 4000, `hang MTTR ${mttr} ms`)
    assert.ok(loop!.stats().attributedToRecovery >= 1)
  })

  it('quarantines a crash loop and escalates', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'loopy', command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(2), 250)'] }] })
    const hlc = createHlc({ nodeId: 'edge-1', now: Date.now })
    loop = createMicroLoop({ node: 'edge-1', hlc, supervisor: sup, recoveryDefaults: { backoff: { baseMs: 20, factor: 2, maxMs: 100, jitter: 0.5 } } })
    // A crash-looping component: it dies again within a second of each verified restart.
    loop.start()
    await sup.start()
    const q = await waitFor('a quarantine', () => loop!.incidents().find((i) => i.status === 'quarantined'), 20_000)
    assertRecord(q, ['opened', 'detected', 'planned', 'quarantined', 'escalated'])
    assert.equal(sup.info('loopy').state, 'quarantined')
    const before = loop.incidents().length
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(loop.incidents().length, before, 'a quarantined component opens no more incidents')
  })

  it('reports a probe that cannot run (command missing) once, escalates it, and does not retry it forever', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'p', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], probes: [{ kind: 'exec', command: '/nonexistent/health-check', periodMs: 100, timeoutMs: 500, failureThreshold: 1 }] }] })
    probes = createProbeRunner({ supervisor: sup, probeErrorBackoffMs: 50 })
    loop = createMicroLoop({ node: 'edge-1', hlc: createHlc({ nodeId: 'edge-1', now: Date.now }), supervisor: sup, probes })
    loop.start()
    await sup.start()
    probes.start()
    const inc = await waitFor('a probe_error incident', () => loop!.incidents().find((i) => i.failureClass === 'probe_error'), 10_000)
    const done = await loop.settled(inc.id)
    assert.equal(done.status, 'escalated')
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'escalated'])
    assert.match(done.steps.find((s) => s.kind === 'detected')!.summary, /cannot run/)
    const runs = probes.stats().probeErrors
    await new Promise((r) => setTimeout(r, 800))
    assert.equal(probes.stats().probeErrors, runs, 'the broken probe is no longer run')
    assert.equal(loop.incidents().length, 1)
    assert.equal(sup.info('p').state, 'running', 'the workload itself was left alone')
  })
})
