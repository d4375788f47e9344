import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { createAdaptiveBudget, createRng, type HistoryFeatures, LearningError } from '@homeostat/learning'

const calm: HistoryFeatures = { failureRatePerHour: 0.5, recoverySuccessRate: 0.9, escalationRatePerHour: 0, recentFailures: 0, worstComponentRatePerHour: 0.5 }
const stormy: HistoryFeatures = { failureRatePerHour: 30, recoverySuccessRate: 0.5, escalationRatePerHour: 2, recentFailures: 8, worstComponentRatePerHour: 20 }

describe('learning/adaptive budget f(Γ, H)', () => {
  it('starts at the initial fraction and never leaves the hard bounds (seeded random feedback)', () => {
    const seed = 4242
    const rng = createRng(seed)
    const f = createAdaptiveBudget({ minFraction: 0.05, maxFraction: 0.3, initialFraction: 0.15 })
    assert.ok(Math.abs(f.fraction(calm, 1) - 0.15) < 0.002)
    for (let i = 0; i < 5000; i++) {
      const g = rng.next() < 0.5 ? calm : stormy
      f.learn(g, rng.next(), rng.next() < 0.5 ? -10 * rng.next() : 10 * rng.next(), 1 + rng.next() * 10)
      const x = f.fraction(g, rng.next())
      assert.ok(x >= 0.05 && x <= 0.3, `seed ${seed}: fraction ${x} out of bounds at step ${i}`)
    }
  })

  it('learns a state-dependent budget: more in a storm that needs it, less when calm', () => {
    const f = createAdaptiveBudget({ quantile: 0.5, learningRate: 0.2 })
    for (let i = 0; i < 3000; i++) {
      f.learn(stormy, 0.6, 0.25)
      f.learn(calm, 1, 0.07)
    }
    assert.ok(f.fraction(stormy, 0.6) > 0.2, `storm ${f.fraction(stormy, 0.6)}`)
    assert.ok(f.fraction(calm, 1) < 0.1, `calm ${f.fraction(calm, 1)}`)
  })

  it('a high quantile goes up fast and down slowly', () => {
    const f = createAdaptiveBudget({ quantile: 0.97 })
    const start = f.fraction(calm, 1)
    f.learn(calm, 1, 0.3)
    const up = f.fraction(calm, 1) - start
    const g = createAdaptiveBudget({ quantile: 0.97 })
    g.learn(calm, 1, 0.05)
    const down = start - g.fraction(calm, 1)
    assert.ok(up > 10 * down, `up ${up}, down ${down}`)
  })

  it('rejects bounds that are not 0 < min < max ≤ 1', () => {
    assert.throws(() => createAdaptiveBudget({ minFraction: 0.3, maxFraction: 0.2 }), (e: unknown) => e instanceof LearningError && e.code === 'ERR_BAD_OPTIONS')
  })
})
