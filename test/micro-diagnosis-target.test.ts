// Do no harm with metric-based diagnosis: when the diagnosis names another
// component as the likely cause but that component shows no failure of its
// own (no failing probe, exit or incident), the micro loop acts on the failing
// component and says why; the healthy one is left alone. Real processes.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import { createMicroLoop, type MicroLoop } from '@homeostat/micro'
import { FIXTURES, waitHealthy, freePort, tempDir, waitFor } from './micro-helpers.ts'

describe('micro loop: a diagnosis pointing at a healthy dependency does not restart it', function () {
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
  })

  it('the crashing web is restarted; db, named by the diagnosis but healthy, keeps its pid', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    const port = await freePort()
    const faultFile = join(t.dir, 'fault')
    sup = createSupervisor({
      autoRestart: false,
      components: [
        { name: 'db', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
        {
          name: 'web',
          command: process.execPath,
          args: [join(FIXTURES, 'micro-crasher.mjs')],
          dependsOn: ['db'],
          env: { PORT: String(port), FAULT_FILE: faultFile, FAULT_AFTER_MS: '400' },
          probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 250, timeoutMs: 300, failureThreshold: 2, initialDelayMs: 150 }]
        }
      ]
    })
    probes = createProbeRunner({ supervisor: sup })
    const hlc = createHlc({ nodeId: 'edge-1', now: Date.now })
    loop = createMicroLoop({
      node: 'edge-1',
      hlc,
      supervisor: sup,
      probes,
      // A diagnosis that blames db on metric evidence (as a metric ranker may when db's numbers move).
      diagnose: (incident) => ({
        incidentId: incident.id,
        hlc: incident.steps[0]!.hlc,
        candidates: [
          { component: 'db', score: 0.9, confidence: 0.8, explanation: 'db latency deviates (metric evidence)', evidence: ['db latency z=6'] },
          { component: 'web', score: 0.2, confidence: 0.1, explanation: 'web itself', evidence: [] }
        ],
        independentGroups: [],
        attributedToRecovery: [],
        explanation: 'db is the likely cause'
      })
    })
    loop.start()
    await sup.start()
    probes.start()
    await waitHealthy(probes, 'web')
    const dbPid = sup.info('db').pid
    writeFileSync(faultFile, '')
    const incident = await waitFor('an incident on web', () => loop!.incidents().find((i) => i.component === 'web'), 5000)
    const done = await loop.settled(incident.id)
    const summaries = done.steps.map((s) => s.summary)
    assert.equal(done.status, 'recovered', JSON.stringify(summaries))
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.equal(acted.data?.action, 'restart')
    assert.match(acted.summary, /web/, 'the restart is of web')
    assert.doesNotMatch(acted.summary, /\bdb\b/)
    const planned = done.steps.find((s) => s.kind === 'planned')!
    assert.equal(planned.data?.target, 'web', 'the action is planned on the failing component')
    assert.ok(summaries.some((s) => /db is the likely cause, but it shows no failure of its own/.test(s)), JSON.stringify(summaries))
    assert.equal(sup.info('db').pid, dbPid, 'db was not restarted')
    assert.equal(loop.incidents().filter((i) => i.component === 'db').length, 0)
  })
})
