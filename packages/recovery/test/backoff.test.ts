import assert from 'node:assert/strict'
import { backoffDelayMs, countInWindow, RECOVERY_DEFAULTS } from '../src/index.ts'

describe('recovery backoff', () => {
  const opts = { baseMs: 250, factor: 2, maxMs: 30_000, jitter: 0.5 }
  const table: Array<[attempt: number, random: number, expected: number]> = [
    [0, 0.9, 0], // first restart of a quiet component is immediate
    [1, 0, 250],
    [1, 0.5, 188], // 250 · (1 − 0.25) = 187.5 → 188
    [2, 0, 500],
    [3, 0, 1000],
    [8, 0, 30_000], // 250·2^7 = 32 000 → capped
    [100, 0, 30_000], // no overflow
    [8, 0.999999, 15_000]
  ]
  for (const [attempt, r, expected] of table) {
    it(`attempt ${attempt}, random ${r} → ${expected} ms`, () => {
      assert.equal(backoffDelayMs(attempt, opts, () => r), expected)
    })
  }

  it('never goes below zero or above the cap, whatever random returns', () => {
    for (const r of [-5, 0, 0.3, 1, 7, Number.NaN]) {
      for (let a = 0; a < 20; a++) {
        const d = backoffDelayMs(a, opts, () => r)
        assert.ok(d >= 0 && d <= opts.maxMs, `attempt ${a} r ${r} → ${d}`)
      }
    }
  })

  it('counts restarts inside the window only', () => {
    assert.equal(countInWindow([1000, 5000, 9000, 9999], 10_000, 5_000), 2)
    assert.equal(countInWindow([], 10_000, 5_000), 0)
    assert.equal(countInWindow([20_000], 10_000, 5_000), 0) // future times are ignored
  })

  it('has documented defaults within sane bounds', () => {
    assert.ok(RECOVERY_DEFAULTS.backoff.maxMs >= RECOVERY_DEFAULTS.backoff.baseMs)
    assert.ok(RECOVERY_DEFAULTS.verifyStableChecks >= 1)
  })
})
