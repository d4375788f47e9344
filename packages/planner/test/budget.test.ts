import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import type { CostVector } from '@homeostat/interface'
import { PlannerError, adaptiveBeta, dualAscent, DUAL_DEFAULTS, dynamicBeta, historicalSpend, staticBeta } from '@homeostat/planner'
import { cost } from './helpers.ts'

const close = (a: CostVector, b: CostVector): boolean => (Object.keys(a) as Array<keyof CostVector>).every((k) => Math.abs(a[k] - b[k]) < 1e-9)

describe('planner/budget modes', () => {
  const avail = cost(1000, 2000, 10_000, 600)
  const hist = cost(100, 0, 2000, 60)
  const table: Array<{ name: string, beta: () => CostVector, expect: CostVector }> = [
    { name: 'static: 0.15 × C_available', beta: () => staticBeta(avail), expect: cost(150, 300, 1500, 90) },
    { name: 'dynamic α=0.3', beta: () => dynamicBeta(0.3, avail, hist), expect: cost(300 + 70, 600, 3000 + 1400, 180 + 42) },
    { name: 'dynamic α=0.5', beta: () => dynamicBeta(0.5, avail, hist), expect: cost(550, 1000, 6000, 330) },
    { name: 'dynamic, abundant capacity raises β', beta: () => dynamicBeta(0.4, cost(2000, 4000, 20_000, 600), hist), expect: cost(860, 1600, 9200, 276) },
    { name: 'adaptive f=0.2 inside bounds', beta: () => adaptiveBeta(0.2, avail, 0.05, 0.3), expect: cost(200, 400, 2000, 120) },
    { name: 'adaptive f above the hard max is clamped', beta: () => adaptiveBeta(0.9, avail, 0.05, 0.3), expect: cost(300, 600, 3000, 180) },
    { name: 'adaptive f below the hard min is clamped', beta: () => adaptiveBeta(0, avail, 0.05, 0.3), expect: cost(50, 100, 500, 30) },
    { name: 'adaptive NaN falls to the minimum', beta: () => adaptiveBeta(Number.NaN, avail, 0.05, 0.3), expect: cost(50, 100, 500, 30) }
  ]
  for (const t of table) it(t.name, () => assert.ok(close(t.beta(), t.expect), JSON.stringify(t.beta())))

  for (const alpha of [0.29, 0.51, -1, Number.NaN]) {
    it(`dynamic α=${alpha} is refused with ERR_BAD_OPTIONS`, () => {
      assert.throws(() => dynamicBeta(alpha, avail, hist), (e: unknown) => e instanceof PlannerError && e.code === 'ERR_BAD_OPTIONS')
    })
  }

  it('C_historical is the mean of closed windows, the seed before any', () => {
    assert.deepEqual(historicalSpend([], cost(1, 2, 3, 4)), cost(1, 2, 3, 4))
    assert.ok(close(historicalSpend([cost(10, 0, 0, 6), cost(0, 0, 4, 0)], cost(1, 1, 1, 1)), cost(5, 0, 2, 3)))
  })

  const dual: Array<[number, number, number]> = [
    // [λ, utilisation, λ']
    [0, 0.5, 0], // under target: stays at 0
    [0, 1.0, 10], // 0.2 over × 50
    [100, 0.3, 75], // under target: decays
    [1990, 2, 2000], // capped
    [5, Number.POSITIVE_INFINITY, 65] // β = 0 but cost > 0: counts as u = 2
  ]
  for (const [l, u, e] of dual) it(`dual ascent λ=${l}, u=${u} → ${e}`, () => assert.ok(Math.abs(dualAscent(l, u, DUAL_DEFAULTS) - e) < 1e-9))
})
