import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import type { PendingApproval } from '@homeostat/interface'
import { createManualClock, createPlanner } from '@homeostat/planner'
import { incident, request, roomy } from './helpers.ts'

// relocate (risk 0.5) is above the threshold 0.45. The setup teaches the
// planner (through outcomes) that relocate is the best action for this class.
const setup = (timeoutMs = 60_000) => {
  const clock = createManualClock(0)
  const requests: PendingApproval[] = []
  const p = createPlanner({
    mode: 'static', clock, seed: 5, thompson: false, capacity: roomy,
    approval: { riskThreshold: 0.45, timeoutMs, onRequest: (r) => requests.push(r) }
  })
  // Teach the planner that restart rarely fixes this class and relocate does.
  for (let i = 0; i < 30; i++) {
    p.record({ incidentId: `h${i}`, node: 'n1', component: 'api', failureClass: 'node_degraded', action: 'restart', success: false, durationMs: 5000, cost: { cpuSeconds: 1, memoryMb: 1, bandwidthKb: 0, disruptionSeconds: 5 }, hlc: '000000000000001-000000-n1' })
    p.record({ incidentId: `h${i}`, node: 'n1', component: 'api', failureClass: 'node_degraded', action: 'reload', success: i % 3 === 0, durationMs: 2000, cost: { cpuSeconds: 1, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 1 }, hlc: '000000000000001-000000-n1' })
    p.record({ incidentId: `h${i}`, node: 'n1', component: 'api', failureClass: 'node_degraded', action: 'relocate', success: true, durationMs: 20_000, cost: { cpuSeconds: 5, memoryMb: 100, bandwidthKb: 1000, disruptionSeconds: 20 }, hlc: '000000000000001-000000-n1' })
  }
  return { clock, p, requests }
}
const avail = ['restart', 'reload', 'relocate'] as const

describe('planner/approval gate', () => {
  it('a risky best action waits for approve(id); the decision records who approved', async () => {
    const { p, requests } = setup()
    const pending = p.plan(request(incident('i1', 'node_degraded', 'service'), [...avail]))
    await Promise.resolve()
    assert.equal(requests.length, 1)
    assert.equal(p.pending().length, 1)
    assert.equal(p.pending()[0]!.action, 'relocate')
    assert.equal(p.approve('nope'), false, 'an unknown id is refused')
    assert.equal(p.approve(requests[0]!.id, 'alice'), true)
    const plan = await pending
    assert.equal(plan.action, 'relocate')
    assert.match(plan.reason, /approved by alice/)
    assert.equal(p.pending().length, 0)
    assert.equal(p.approve(requests[0]!.id), false, 'no double approval')
    const kinds = p.audit.records().map((r) => r.kind)
    assert.ok(kinds.includes('approval-requested') && kinds.includes('approval-approved'))
  })

  it('deny(id) falls back to the safest admissible action', async () => {
    const { p, requests } = setup()
    const pending = p.plan(request(incident('i2', 'node_degraded', 'service'), [...avail]))
    await Promise.resolve()
    assert.equal(p.deny(requests[0]!.id, 'bob', 'not during the demo'), true)
    const plan = await pending
    assert.equal(plan.action, 'reload', 'reload (risk 0.05) is the safest remaining action')
    assert.match(plan.reason, /fallback: relocate denied \(not during the demo\)/)
    assert.ok(p.audit.records().some((r) => r.kind === 'approval-denied' && r.data.by === 'bob'))
  })

  it('timeout falls back to the safest admissible action', async () => {
    const { p, clock } = setup(60_000)
    const pending = p.plan(request(incident('i3', 'node_degraded', 'service'), [...avail]))
    await Promise.resolve()
    clock.advance(59_999)
    assert.equal(p.pending().length, 1)
    clock.advance(1)
    const plan = await pending
    assert.equal(plan.action, 'reload')
    assert.match(plan.reason, /timeout/)
    assert.equal(p.stats().approvals.timedOut, 1)
  })

  it('with no safer admissible action, a denial escalates without acting', async () => {
    const { p, requests } = setup()
    const pending = p.plan(request(incident('i4', 'node_degraded', 'service'), ['relocate']))
    await Promise.resolve()
    p.deny(requests[0]!.id)
    const plan = await pending
    assert.equal(plan.action, 'escalate')
    assert.equal(p.budget().entries.filter((e) => e.state === 'reserved').length, 0, 'nothing reserved: no action')
  })

  it('flag mode returns at once with requiresApproval for the caller to gate', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 5, thompson: false, capacity: roomy, approval: { mode: 'flag', riskThreshold: 0 } })
    const plan = await p.plan(request(incident('i5'), ['restart']))
    assert.equal(plan.action, 'restart')
    assert.equal(plan.requiresApproval, true)
    assert.equal(p.pending().length, 0)
  })

  it('stop() times out whatever is pending', async () => {
    const { p } = setup()
    const pending = p.plan(request(incident('i6', 'node_degraded', 'service'), [...avail]))
    await Promise.resolve()
    await p.stop()
    assert.equal((await pending).action, 'reload')
  })
})

describe('planner/cancel', () => {
  it('releases the reservation of a planned action the caller did not run (e.g. flag-mode approval refused)', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 5, thompson: false, capacity: roomy, approval: { mode: 'flag', riskThreshold: 0 } })
    const plan = await p.plan(request(incident('c1'), ['restart']))
    assert.equal(p.budget().entries.filter((e) => e.state === 'reserved').length, 1)
    assert.equal(p.cancel('c1', plan.action, 'operator said no'), true)
    assert.equal(p.budget().entries.length, 0)
    assert.equal(p.cancel('c1', plan.action), false)
    assert.equal(p.audit.records().at(-1)!.kind, 'cancelled')
  })
})
