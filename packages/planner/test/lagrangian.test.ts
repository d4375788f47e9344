import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { createManualClock, createPlanner, expectedReward, REWARD_DEFAULTS, worthTrying } from '@homeostat/planner'
import { cost, incident, outcome, request } from './helpers.ts'

describe('planner/Lagrangian relaxation', () => {
  it('expected reward orders actions by downtime, failure chance and continuity loss', () => {
    const restart = expectedReward(0.9, 5000, 0.2, REWARD_DEFAULTS)
    const slowSure = expectedReward(0.99, 70_000, 0.2, REWARD_DEFAULTS)
    const fastUnsure = expectedReward(0.2, 2000, 0, REWARD_DEFAULTS)
    assert.ok(restart > slowSure && restart > fastUnsure)
    assert.equal(worthTrying(0.01, 60_000, REWARD_DEFAULTS), false)
    assert.equal(worthTrying(0.5, 60_000, REWARD_DEFAULTS), true)
  })

  it('λ rises when observed spend exceeds the target share of β and steers choices to cheaper admissible actions; it decays back', async () => {
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed: 4, thompson: false, capacity: () => cost(100, 10_000, 1e6, 400) })
    assert.equal((await p.plan(request(incident('a', 'cpu_saturation'), ['restart', 'throttle']))).action, 'restart')
    // Heavy observed spend (other incidents, another class so the cell statistics of the planned class stay priors):
    // utilisation far above 0.8.
    for (let i = 0; i < 6; i++) p.record(outcome(incident(`heavy${i}`, 'cpu_hog'), 'kill', true, cost(40, 0, 0, 0)))
    assert.ok(p.lambda() > 500, `λ ${p.lambda()}`)
    clock.advance(700_000) // the heavy spend leaves the window; the shield admits restart again
    const steered = await p.plan(request(incident('b', 'cpu_saturation'), ['restart', 'throttle']))
    assert.equal(steered.action, 'throttle')
    assert.ok(steered.alternatives.some((a) => a.action === 'restart' && a.admissible), 'restart was admissible: λ, not the shield, chose')
    // Light spend brings λ back down, and restart back.
    for (let i = 0; i < 60; i++) p.record(outcome(incident(`light${i}`, 'cpu_hog'), 'throttle', true, cost(0.01, 0, 0, 0)))
    assert.equal(p.lambda(), 0)
    assert.equal((await p.plan(request(incident('c', 'cpu_saturation'), ['restart', 'throttle']))).action, 'restart')
  })
})
