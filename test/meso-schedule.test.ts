// The meso bench's random partition schedules (bench/meso/fleet.ts): pure, seeded.
import assert from 'node:assert/strict'
import { randomSchedule, SCHEDULE_DEFAULTS, seededRandom } from '../bench/meso/fleet.ts'

describe('meso bench: random partition schedules', () => {
  const live = [0, 1, 2, 3, 5, 8, 13, 21] // agent indices need not be contiguous (killed agents drop out)

  it('every step splits exactly the live agents into 2 or 3 non-empty groups, with cuts and gaps in range', () => {
    const seen = { three: 0, twoSteps: 0, gaps: 0, loneAgent: 0 }
    for (let seed = 0; seed < 500; seed++) {
      const steps = randomSchedule(live, seededRandom(seed))
      assert.ok(steps.length >= 1 && steps.length <= SCHEDULE_DEFAULTS.maxSteps, `seed ${seed}: steps`)
      if (steps.length === 2) seen.twoSteps++
      for (const [s, step] of steps.entries()) {
        assert.ok(step.groups.length === 2 || step.groups.length === 3, `seed ${seed}: ${step.groups.length} groups`)
        assert.ok(step.groups.every((g) => g.length > 0), `seed ${seed}: an empty group`)
        assert.deepEqual(step.groups.flat().sort((x, y) => x - y), live, `seed ${seed}: groups are not a split of the live agents`)
        assert.ok(step.cutMs >= SCHEDULE_DEFAULTS.minCutMs && step.cutMs <= SCHEDULE_DEFAULTS.maxCutMs, `seed ${seed}: cut ${step.cutMs} ms`)
        assert.ok(step.gapMs >= 0 && step.gapMs <= SCHEDULE_DEFAULTS.maxGapMs, `seed ${seed}: gap ${step.gapMs} ms`)
        if (s === steps.length - 1) assert.equal(step.gapMs, 0, `seed ${seed}: the last step ends with the final heal, not a gap`)
        if (step.groups.length === 3) seen.three++
        if (step.gapMs > 0) seen.gaps++
        if (step.groups.some((g) => g.length === 1)) seen.loneAgent++
      }
    }
    // The generator covers every shape it promises (a broken draw would make one of these 0).
    for (const [k, n] of Object.entries(seen)) assert.ok(n > 20, `${k}: only ${n} of 500 schedules`)
  })

  it('a seed gives the same schedule again; another seed another schedule', () => {
    assert.deepEqual(randomSchedule(live, seededRandom(42)), randomSchedule(live, seededRandom(42)))
    assert.notDeepEqual(randomSchedule(live, seededRandom(42)), randomSchedule(live, seededRandom(43)))
  })

  it('a fleet of two splits into two groups of one; options narrow the cuts', () => {
    for (let seed = 0; seed < 50; seed++) {
      const steps = randomSchedule([4, 9], seededRandom(seed), { minCutMs: 1000, maxCutMs: 1000, maxSteps: 1 })
      assert.equal(steps.length, 1)
      assert.deepEqual(steps[0]!.groups.map((g) => g.length), [1, 1])
      assert.deepEqual(steps[0]!.groups.flat().sort((x, y) => x - y), [4, 9])
      assert.equal(steps[0]!.cutMs, 1000)
    }
  })
})
