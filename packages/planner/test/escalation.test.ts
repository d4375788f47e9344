import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import type { ActionKind } from '@homeostat/interface'
import { createManualClock, createPlanner } from '@homeostat/planner'
import { incident, outcome, request, roomy } from './helpers.ts'

describe('planner/escalation', () => {
  it('tries the next action after a failed one, then quarantines and asks a human, never loops', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 11, capacity: roomy, maxAttempts: 3 })
    const inc = incident('i1', 'crash', 'service')
    const available: ActionKind[] = ['restart', 'kill', 'reload', 'rollback', 'degrade', 'quarantine']
    const attempted: ActionKind[] = []
    const seen: ActionKind[] = []
    for (let round = 0; round < 20; round++) {
      const plan = await p.plan(request(inc, available, attempted))
      seen.push(plan.action)
      if (plan.action === 'escalate') break
      if (plan.action === 'quarantine') { attempted.push('quarantine'); continue }
      p.record(outcome(inc, plan.action, false))
      attempted.push(plan.action)
      clock.advance(10_000)
    }
    assert.equal(seen.length, 5, `sequence ${seen.join(' → ')}`)
    assert.deepEqual(seen.slice(3), ['quarantine', 'escalate'])
    assert.equal(new Set(seen.slice(0, 3)).size, 3, 'no action repeats within an incident')
    assert.equal(p.stats().quarantines, 1)
  })

  it('a crash loop across incidents (5 within 2 min, each restart verified) is quarantined instead of restarted again', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 5, capacity: roomy })
    const available: ActionKind[] = ['restart', 'kill', 'quarantine']
    const actions: string[] = []
    for (let i = 0; i < 5; i++) {
      const inc = incident(`cl${i}`, 'crash', 'process', 'batch')
      const plan = await p.plan(request(inc, available))
      actions.push(plan.action)
      if (plan.action === 'quarantine') { assert.match(plan.reason, /^crash loop: 5 incidents of batch in 120 s/); break }
      p.record(outcome(inc, plan.action, true)) // the restart "worked": the incident closed
      clock.advance(20_000)
    }
    assert.equal(actions.length, 5)
    assert.ok(actions.slice(0, 4).every((a) => a !== 'quarantine'), `the first four incidents are healed normally: ${actions.join(', ')}`)
    assert.equal(actions[4], 'quarantine')
    assert.equal(p.stats().quarantines, 1)
    // Spread out (one incident every 40 s): never more than 3 in the window, so never a loop.
    const slowClock = createManualClock(0)
    const s2 = createPlanner({ mode: 'static', clock: slowClock, seed: 5, capacity: roomy })
    for (let i = 0; i < 8; i++) {
      const inc = incident(`sl${i}`, 'crash', 'process', 'batch')
      const plan = await s2.plan(request(inc, available))
      assert.notEqual(plan.action, 'quarantine', `incident ${i}`)
      s2.record(outcome(inc, plan.action, true))
      slowClock.advance(40_000)
    }
    // Not a restart class (a CPU hog is throttled, not restarted): no crash-loop quarantine.
    const hogClock = createManualClock(0)
    const hog = createPlanner({ mode: 'static', clock: hogClock, seed: 5, capacity: roomy })
    for (let i = 0; i < 6; i++) {
      const inc = incident(`hog${i}`, 'cpu_hog', 'process', 'batch')
      const plan = await hog.plan(request(inc, ['throttle', 'restart', 'quarantine']))
      assert.notEqual(plan.action, 'quarantine', `cpu_hog incident ${i}`)
      hog.record(outcome(inc, plan.action, true))
      hogClock.advance(10_000)
    }
  })

  it('throttles only where the target\'s own CPU or power is the problem (never a hung, crashed or leaking workload)', async () => {
    const clock = createManualClock(0)
    const available: ActionKind[] = ['throttle', 'restart', 'kill', 'quarantine']
    for (const failureClass of ['hang', 'crash', 'memory_leak', 'oom', 'unhealthy', 'cpu_throttling']) {
      const p = createPlanner({ mode: 'static', clock, seed: 9, capacity: roomy })
      // Seeded history that would make throttle look best if it were allowed.
      for (let i = 0; i < 20; i++) p.record(outcome(incident(`h${failureClass}${i}`, failureClass), 'throttle', true))
      const plan = await p.plan(request(incident(`x-${failureClass}`, failureClass), available))
      assert.notEqual(plan.action, 'throttle', failureClass)
      const alt = plan.alternatives.find((a) => a.action === 'throttle')
      assert.ok(alt !== undefined && !alt.admissible && /not for failure class/.test(alt.why), `${failureClass}: ${JSON.stringify(alt)}`)
    }
    for (const failureClass of ['cpu_hog', 'cpu_saturation', 'thermal', 'overload', 'power_cap']) {
      const p = createPlanner({ mode: 'static', clock, seed: 9, capacity: roomy })
      const plan = await p.plan(request(incident(`y-${failureClass}`, failureClass), ['throttle', 'quarantine']))
      assert.equal(plan.action, 'throttle', failureClass)
    }
  })

  it('never repeats a failed action even when the caller forgets to pass `attempted`', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 2, capacity: roomy })
    const inc = incident('i2', 'hang') // restart and kill both apply to a hang
    const actions: ActionKind[] = []
    for (let i = 0; i < 12; i++) {
      const plan = await p.plan(request(inc, ['restart', 'kill', 'quarantine']))
      actions.push(plan.action)
      if (plan.action === 'escalate') break
      p.record(outcome(inc, plan.action, false))
    }
    assert.deepEqual(actions.slice(2), ['quarantine', 'escalate'])
    assert.notEqual(actions[0], actions[1])
  })

  it('without quarantine available the exhausted incident escalates', async () => {
    const p = createPlanner({ mode: 'static', clock: createManualClock(0), seed: 2, capacity: roomy })
    const inc = incident('i3')
    const plan1 = await p.plan(request(inc, ['restart']))
    p.record(outcome(inc, plan1.action, false))
    const plan2 = await p.plan(request(inc, ['restart'], ['restart']))
    assert.equal(plan2.action, 'escalate')
  })

  it('a diagnosed root cause becomes the target; a recovered incident needs nothing', async () => {
    const p = createPlanner({ mode: 'static', clock: createManualClock(0), seed: 2, capacity: roomy })
    const inc = incident('i4', 'crash', 'process', 'frontend')
    const plan = await p.plan({ ...request(inc, ['restart']), diagnosis: { incidentId: 'i4', hlc: '000000000000001-000000-n1', candidates: [{ component: 'db', score: 3, confidence: 0.8, explanation: 'upstream', evidence: [] }], independentGroups: [], attributedToRecovery: [], explanation: '' } })
    assert.equal(plan.target, 'db')
    assert.equal((await p.plan(request({ ...inc, status: 'recovered' }, ['restart']))).action, 'none')
  })

  it('rejects malformed outcomes (counted, audited), keeps learning from good ones', () => {
    const p = createPlanner({ mode: 'static', clock: createManualClock(0), seed: 2, capacity: roomy })
    const inc = incident('i5')
    p.record({ ...outcome(inc, 'restart', true), durationMs: -5 })
    p.record({ ...outcome(inc, 'restart', true), cost: { cpuSeconds: Number.POSITIVE_INFINITY, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 } })
    p.record(outcome(inc, 'restart', true))
    assert.equal(p.stats().rejectedOutcomes, 2)
    assert.equal(p.learning.outcomes.view('crash', 'restart').n, 1)
    assert.ok(p.audit.records().some((r) => r.kind === 'outcome-rejected'))
  })
})

describe('planner/decision record', () => {
  it('records s_t = [H_t, Ω_t, Γ_t] and the component\'s crash-loop count with each decision', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 2, capacity: roomy, health: () => 0.75, context: () => ({ loadAvg: 1.5 }) })
    for (let i = 0; i < 4; i++) {
      const inc = incident(`loop${i}`)
      const plan = await p.plan(request(inc, ['restart']))
      p.record(outcome(inc, plan.action, true))
      clock.advance(60_000)
    }
    const d = p.audit.records().filter((r) => r.kind === 'decision').at(-1)!
    const state = d.data.state as { health: number, context: Record<string, number>, history: { recentFailures: number }, component: { crashLoop: number } }
    assert.equal(state.health, 0.75)
    assert.deepEqual(state.context, { loadAvg: 1.5 })
    assert.equal(state.history.recentFailures, 3, 'Γ is read before this incident is counted')
    assert.equal(state.component.crashLoop, 4)
    assert.ok(Array.isArray(d.data.alternatives))
    assert.equal(typeof (d.data.budget as { lambda: number }).lambda, 'number')
  })
})
