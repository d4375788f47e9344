import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { bump, createFailureHistory, decayTo, ratePerHour } from '@homeostat/learning'

const H = 3600_000

describe('learning/history (Γ with exponential decay)', () => {
  const table: Array<{ value: number, fromMs: number, toMs: number, halfLifeMs: number, expect: number }> = [
    { value: 8, fromMs: 0, toMs: 0, halfLifeMs: H, expect: 8 },
    { value: 8, fromMs: 0, toMs: H, halfLifeMs: H, expect: 4 },
    { value: 8, fromMs: 0, toMs: 3 * H, halfLifeMs: H, expect: 1 },
    { value: 8, fromMs: H, toMs: 0, halfLifeMs: H, expect: 8 }, // never grows backwards in time
    { value: 1, fromMs: 0, toMs: H / 2, halfLifeMs: H, expect: Math.SQRT1_2 }
  ]
  for (const t of table) {
    it(`decays ${t.value} from ${t.fromMs} to ${t.toMs} → ${t.expect.toFixed(4)}`, () => {
      assert.ok(Math.abs(decayTo({ value: t.value, atMs: t.fromMs }, t.toMs, t.halfLifeMs) - t.expect) < 1e-12)
    })
  }

  it('a steady failure rate reads back as that rate per hour', () => {
    let c = { value: 0, atMs: 0 }
    // 12 per hour for 10 hours (far past the 1 h half-life)
    for (let t = 0; t < 10 * H; t += H / 12) c = bump(c, t, H)
    const r = ratePerHour(decayTo(c, 10 * H, H), H)
    assert.ok(Math.abs(r - 12) < 0.6, `rate ${r}`)
  })

  it('features: failure rate, recovery success, worst component, recent count', () => {
    const h = createFailureHistory({ halfLifeMs: H, recentWindowMs: 600_000 })
    for (let i = 0; i < 6; i++) h.recordFailure({ atMs: i * 60_000, component: 'api', label: 'crash' })
    h.recordFailure({ atMs: 0, component: 'db', label: 'hang' })
    for (let i = 0; i < 8; i++) h.recordRecovery({ atMs: i * 1000, component: 'api', failureClass: 'crash', action: 'restart', success: i > 1 })
    const f = h.features(6 * 60_000)
    assert.equal(f.recentFailures, 7)
    assert.ok(f.worstComponentRatePerHour > h.componentRatePerHour('db', 6 * 60_000))
    assert.ok(f.recoverySuccessRate > 0.6 && f.recoverySuccessRate < 0.8, `success ${f.recoverySuccessRate}`)
    const later = h.features(6 * 60_000 + 5 * H)
    assert.equal(later.recentFailures, 0)
    assert.ok(later.failureRatePerHour < f.failureRatePerHour / 20)
  })

  it('bounds the event ring and the per-key maps', () => {
    const h = createFailureHistory({ maxEvents: 10, maxKeys: 4 })
    for (let i = 0; i < 50; i++) h.recordFailure({ atMs: i, component: `c${i}`, label: `class${i}` })
    assert.equal(h.events().length, 10)
    assert.ok(h.snapshot().byComponent.length <= 4)
  })
})
