// An action that needs approval and is denied is not run, and is not the end
// of the incident either: the reservation is released (policy.cancel) and the
// policy is asked for its next choice, which heals the component.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import type { ActionKind, PlanRequest, PlannedAction, RecoveryPolicy } from '@homeostat/interface'
import { createMicroLoop, type MicroLoop } from '@homeostat/micro'
import { FIXTURES, waitHealthy, freePort, tempDir, waitFor } from './micro-helpers.ts'

describe('micro loop: a denied approval falls back to the policy’s next choice', function () {
  this.timeout(30_000)
  let sup: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let loop: MicroLoop | undefined
  let cleanup: (() => Promise<void>) | undefined
  after(async () => {
    await loop?.stop(2000)
    probes?.stop()
    await sup?.stop({ graceMs: 200 })
    await cleanup?.()
  })

  it('cancels the denied action, re-plans without it, and recovers', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    const port = await freePort()
    const faultFile = join(t.dir, 'fault')
    sup = createSupervisor({
      autoRestart: false,
      components: [{
        name: 'svc',
        command: process.execPath,
        args: [join(FIXTURES, 'micro-crasher.mjs')],
        env: { PORT: String(port), FAULT_FILE: faultFile, FAULT_AFTER_MS: '200' },
        probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 250, timeoutMs: 300, failureThreshold: 2, initialDelayMs: 150 }]
      }]
    })
    probes = createProbeRunner({ supervisor: sup })
    const requests: PlanRequest[] = []
    const cancelled: Array<[string, ActionKind]> = []
    const asked: ActionKind[] = []
    // A stand-in policy: a high-risk first choice that needs approval, then a low-risk one.
    const policy: RecoveryPolicy = {
      async plan (req): Promise<PlannedAction> {
        requests.push(structuredClone(req))
        const risky = !req.attempted.includes('rollback')
        return risky
          ? { action: 'rollback', target: req.incident.component, reason: 'risky first choice', requiresApproval: true, alternatives: [] }
          : { action: 'restart', target: req.incident.component, reason: 'safer fallback', requiresApproval: false, alternatives: [] }
      },
      record: () => {},
      cancel: (incidentId, action) => { cancelled.push([incidentId, action]) }
    }
    loop = createMicroLoop({
      node: 'edge-1',
      hlc: createHlc({ nodeId: 'edge-1', now: Date.now }),
      supervisor: sup,
      probes,
      policy,
      approve: async (_incident, plan) => { asked.push(plan.action); return false }
    })
    loop.start()
    await sup.start()
    probes.start()
    await waitHealthy(probes, 'svc')
    writeFileSync(faultFile, '')
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 5000)
    const done = await loop.settled(incident.id)
    const kinds = done.steps.map((s) => s.kind)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    assert.deepEqual(asked, ['rollback'])
    assert.deepEqual(cancelled, [[incident.id, 'rollback']])
    assert.deepEqual(requests.map((r) => r.attempted), [[], ['rollback']])
    assert.ok(kinds.indexOf('approval') < kinds.lastIndexOf('planned'), kinds.join(','))
    assert.ok(!done.steps.some((s) => s.kind === 'escalated'))
  })
})
