import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { createManualClock, createPlanner } from '@homeostat/planner'
import { cost, incident, outcome, request, roomy } from './helpers.ts'

describe('planner/shield', () => {
  it('no admissible action → escalate, never act (nothing reserved, reason and alternatives recorded)', async () => {
    const clock = createManualClock(1_000_000)
    // A capacity so small that even a reload's upper bound does not fit in 15 % of it.
    const p = createPlanner({ mode: 'static', clock, seed: 1, capacity: () => cost(1, 1, 1, 1) })
    const inc = incident('i1')
    const plan = await p.plan(request(inc, ['restart', 'kill', 'reload', 'rollback', 'quarantine']))
    assert.equal(plan.action, 'escalate')
    assert.match(plan.reason, /shield masks all/)
    assert.equal(p.budget().entries.length, 0, 'an escalation reserves nothing')
    assert.ok(plan.alternatives.filter((a) => ['restart', 'reload', 'rollback'].includes(a.action)).every((a) => !a.admissible && a.why.startsWith('shield')))
    assert.equal(plan.alternatives.find((a) => a.action === 'kill')?.why, 'not for failure class crash', 'kill is for a live process that does not serve')
    const last = p.audit.records().at(-1)!
    assert.equal(last.kind, 'decision')
    assert.equal(last.data.action, 'escalate')
  })

  it('a zero or broken capacity closes the budget instead of opening it', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'dynamic', clock, seed: 1, capacity: () => cost(Number.NaN, 1, 1, 1) })
    const plan = await p.plan(request(incident('i1'), ['restart']))
    assert.equal(plan.action, 'escalate')
  })

  it('masks only what does not fit: spent budget pushes the choice to a cheaper action', async () => {
    const clock = createManualClock(0)
    // Disruption capacity 150 s → static β = 22.5 s. Restart's prior upper bound (~13.5 s) fits once, not twice.
    const p = createPlanner({ mode: 'static', clock, seed: 3, thompson: false, capacity: () => cost(10_000, 100_000, 1e7, 150) })
    const first = await p.plan(request(incident('a', 'cpu_hog'), ['restart', 'throttle']))
    assert.equal(first.action, 'restart')
    assert.ok(first.predictedCost!.disruptionSeconds > 5, 'the shield reserves an upper bound, not the mean')
    const second = await p.plan(request(incident('b', 'cpu_hog'), ['restart', 'throttle']))
    assert.equal(second.action, 'throttle', 'restart no longer fits next to the first reservation')
    assert.ok(second.alternatives.some((a) => a.action === 'restart' && !a.admissible && /disruptionSeconds/.test(a.why)))
    const view = p.budget()
    assert.ok(view.reserved.disruptionSeconds + view.spent.disruptionSeconds <= view.beta.disruptionSeconds)
    // The window slides: ten minutes later restart is admissible again.
    p.record(outcome(incident('a'), 'restart', true, cost(1, 10, 0, 5)))
    clock.advance(600_001)
    assert.equal((await p.plan(request(incident('c', 'cpu_hog'), ['restart', 'throttle']))).action, 'restart')
  })

  it('never exceeds β over a seeded random stream of incidents (spent + reserved ≤ β at every step)', async () => {
    const seed = 20261128
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed, capacity: () => cost(400, 4000, 400_000, 300) })
    let x = seed
    const rnd = (): number => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32 }
    for (let i = 0; i < 400; i++) {
      const inc = incident(`i${i}`, ['crash', 'hang', 'bad_artifact'][i % 3]!)
      const plan = await p.plan(request(inc, ['restart', 'kill', 'rollback', 'reload']))
      const v = p.budget()
      for (const d of ['cpuSeconds', 'memoryMb', 'bandwidthKb', 'disruptionSeconds'] as const) {
        assert.ok(v.spent[d] + v.reserved[d] <= v.beta[d] + 1e-9, `seed ${seed}: ${d} over β at incident ${i}`)
      }
      if (plan.action !== 'escalate') {
        const c = plan.predictedCost!
        // Actual cost: at most the reserved upper bound.
        p.record(outcome(inc, plan.action, rnd() < 0.8, cost(c.cpuSeconds * rnd(), c.memoryMb * rnd(), c.bandwidthKb * rnd(), c.disruptionSeconds * rnd())))
      }
      clock.advance(Math.floor(rnd() * 120_000))
    }
  })

  it('a roomy budget never masks', async () => {
    const p = createPlanner({ mode: 'static', clock: createManualClock(0), seed: 1, capacity: roomy })
    const plan = await p.plan(request(incident('i', 'hang'), ['restart', 'kill', 'rollback']))
    const offered = plan.alternatives.filter((a) => ['restart', 'kill', 'rollback'].includes(a.action))
    assert.equal(offered.length, 2)
    assert.ok(offered.every((a) => a.admissible))
  })
})

describe('planner/providers', () => {
  it('a throwing capacity or health provider closes the budget and is counted, never thrown', async () => {
    const p = createPlanner({ mode: 'adaptive', clock: createManualClock(0), seed: 1, capacity: () => { throw new Error('sensor gone') }, health: () => { throw new Error('x') }, context: () => ({ ok: 1, bad: Number.NaN }) })
    const plan = await p.plan(request(incident('i'), ['restart']))
    assert.equal(plan.action, 'escalate')
    assert.ok(p.stats().providerErrors >= 2)
    const d = p.audit.records().at(-1)!
    assert.deepEqual((d.data.state as { context: Record<string, number> }).context, { ok: 1 })
  })
})
