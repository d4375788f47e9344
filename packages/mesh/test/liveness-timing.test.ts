// Pure timer maths of the failure detector, from tables of cases.
import { strict as assert } from 'node:assert'
import { livenessTiming as T, LIVENESS_DEFAULTS } from '@homeostat/mesh'

const t = { ...LIVENESS_DEFAULTS }

describe('mesh liveness timing', () => {
  it('summarise: mean and population std of a window', () => {
    const cases: Array<[number[], number, number]> = [
      [[], 0, 0],
      [[5], 5, 0],
      [[1, 3], 2, 1],
      [[2, 4, 4, 4, 5, 5, 7, 9], 5, 2]
    ]
    for (const [xs, mean, std] of cases) {
      const s = T.summarise(xs)
      assert.equal(s.samples, xs.length)
      assert.ok(Math.abs(s.meanMs - mean) < 1e-9, `mean of ${xs}`)
      assert.ok(Math.abs(s.stdMs - std) < 1e-9, `std of ${xs}`)
    }
  })

  it('phi grows with elapsed time and is ~0.3 at the mean', () => {
    const cases: Array<[number, number, number, number, number]> = [
      // elapsed, mean, std, min phi, max phi
      [10, 10, 5, 0.29, 0.31], // F(mean) = 0.5 → phi = log10(2)
      [0, 10, 5, 0, 0.02],
      [20, 10, 5, 1.5, 1.8], // 2σ: 1 − F ≈ 0.023 → phi ≈ 1.64
      [30, 10, 5, 4.2, 4.8], // 4σ: ≈ 3e−5
      [40, 10, 5, 8, 11]
    ]
    for (const [elapsed, mean, std, lo, hi] of cases) {
      const p = T.phi(elapsed, mean, std)
      assert.ok(p >= lo && p <= hi, `phi(${elapsed}; ${mean}, ${std}) = ${p}, want [${lo}, ${hi}]`)
    }
    let last = -1
    for (let e = 0; e < 100; e += 5) { const p = T.phi(e, 20, 10); assert.ok(p >= last); last = p }
  })

  it('elapsedForPhi inverts phi', () => {
    for (const [threshold, mean, std] of [[1, 10, 5], [3, 50, 20], [8, 2, 25], [8, 100, 1]] as Array<[number, number, number]>) {
      const e = T.elapsedForPhi(threshold, mean, std)
      assert.ok(Math.abs(T.phi(e, mean, std) - threshold) < 0.01, `phi at ${e} is ${T.phi(e, mean, std)}, want ${threshold}`)
    }
  })

  it('pingTimeoutMs: max until sampled, then phi point clamped, stretched by local health', () => {
    const cases: Array<[T.RttSummary, number, number]> = [
      [{ meanMs: 1, stdMs: 0.1, samples: 0 }, 0, 2000], // no history: the cautious maximum
      [{ meanMs: 1, stdMs: 0.1, samples: 4 }, 0, 2000], // below minRttSamples
      [{ meanMs: 1, stdMs: 0.1, samples: 10 }, 0, 400], // loopback: clamped to the minimum
      [{ meanMs: 1, stdMs: 0.1, samples: 10 }, 4, 1200], // our loop stalls: 3× at the cap
      [{ meanMs: 1, stdMs: 0.1, samples: 10 }, 99, 1200], // health score is capped
      [{ meanMs: 1000, stdMs: 500, samples: 10 }, 0, 2000] // terrible link: clamped to the maximum
    ]
    for (const [rtt, lh, want] of cases) assert.equal(T.pingTimeoutMs(rtt, lh, t), want, JSON.stringify([rtt, lh]))
    // A jittery link gets a proportionally longer timeout (the phi point, between the clamps).
    const jittery = T.pingTimeoutMs({ meanMs: 100, stdMs: 60, samples: 30 }, 0, t)
    assert.ok(jittery > 400 && jittery < 2000, `jittery ${jittery}`)
    assert.ok(T.pingTimeoutMs({ meanMs: 100, stdMs: 80, samples: 30 }, 0, t) > jittery)
  })

  it('suspicionTimeoutMs stretches with local health', () => {
    for (const [lh, want] of [[0, 600], [1, 900], [2, 1200], [4, 1800], [10, 1800]] as Array<[number, number]>) {
      assert.equal(T.suspicionTimeoutMs(lh, t), want)
    }
  })

  it('reconnectDelayMs doubles, caps and spreads by jitter', () => {
    const cases: Array<[number, number, number]> = [
      [0, 0.5, 250], [1, 0.5, 500], [2, 0.5, 1000], [3, 0.5, 2000], [10, 0.5, 2000], [60, 0.5, 2000],
      [0, 0, 200], [0, 0.999999, 300], [3, 0, 1600], [-1, 0.5, 250]
    ]
    for (const [attempt, r, want] of cases) assert.equal(T.reconnectDelayMs(attempt, r, t), want, `attempt ${attempt} r ${r}`)
  })

  it('stallMs counts only lateness beyond the tolerance', () => {
    for (const [expected, actual, want] of [[1000, 1000, 0], [1000, 1100, 0], [1000, 1101, 101], [1000, 4000, 3000], [1000, 900, 0]] as Array<[number, number, number]>) {
      assert.equal(T.stallMs(expected, actual, 100), want)
    }
  })

  it('nextLocalHealth rises on stalls and recovers one point per recovery period', () => {
    const tt = { maxLocalHealth: 4, localHealthRecoveryMs: 2000 }
    const cases: Array<[number, boolean, number, number, number, number]> = [
      // health, stalled, healthySince, now → health, healthySince
      [0, true, 0, 100, 1, 100],
      [4, true, 0, 100, 4, 100],
      [2, false, 0, 1999, 2, 0],
      [2, false, 0, 2000, 1, 2000],
      [0, false, 0, 5000, 0, 0]
    ]
    for (const [h, stalled, since, now, wantH, wantSince] of cases) {
      assert.deepEqual(T.nextLocalHealth(h, stalled, since, now, tt), { health: wantH, healthySinceMs: wantSince })
    }
  })

  it('heartbeatTimeoutMs: assumed interval + max until sampled, then mean + clamped phi slack', () => {
    const cases: Array<[T.RttSummary, number, number]> = [
      [{ meanMs: 500, stdMs: 5, samples: 0 }, 0, 1000 + 2000],
      [{ meanMs: 500, stdMs: 5, samples: 10 }, 0, 500 + 400], // steady: minimum slack
      [{ meanMs: 500, stdMs: 5, samples: 10 }, 4, 500 + 1200], // stalled locally: slack × 3
      [{ meanMs: 500, stdMs: 1000, samples: 10 }, 0, 500 + 2000] // wild gaps: maximum slack
    ]
    for (const [arr, lh, want] of cases) assert.equal(T.heartbeatTimeoutMs(arr, 1000, lh, t), want, JSON.stringify([arr, lh]))
  })

  it('pingIntervalFor keeps a node within its ping budget', () => {
    for (const [peers, want] of [[0, 250], [1, 250], [5, 250], [6, 300], [10, 500], [19, 950], [100, 5000]] as Array<[number, number]>) {
      assert.equal(T.pingIntervalFor(peers, { pingIntervalMs: 250, maxPingsPerSecond: 20 }), want, `${peers} peers`)
    }
    assert.equal(T.pingIntervalFor(100, { pingIntervalMs: 250, maxPingsPerSecond: 0 }), 250)
  })

  it('isPinger: exactly one side of every pair pings, about half the pairs each way', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `12D3KooW${(i * 7919).toString(36)}peer${i}`)
    let loPings = 0
    let pairs = 0
    for (const a of ids) {
      for (const b of ids) {
        if (a >= b) continue
        pairs++
        assert.notEqual(T.isPinger(a, b), T.isPinger(b, a), `${a} / ${b}`)
        if (T.isPinger(a, b)) loPings++
      }
    }
    assert.ok(loPings > pairs * 0.35 && loPings < pairs * 0.65, `${loPings} of ${pairs}`)
  })
})
