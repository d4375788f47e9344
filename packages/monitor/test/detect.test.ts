import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  createDetector, DETECTOR_DEFAULTS, DetectorConfigError, validateDetectorOptions,
  normalTail, logLikelihood, squash, TimeOfDayProfile, perSampleAlpha, RollingRobust, AlertSuppressor
} from '../src/detect/index.ts'
import { seeded } from './seeded.ts'

/** Small seeded PRNG (mulberry32, shared) so randomised tests are reproducible. */
const rng = seeded

const STEP_MS = 60_000
function run (values: number[], init = {}): number[] {
  const d = createDetector(init)
  return values.map((v, i) => d.update(v, i * STEP_MS))
}
function noisySine (n: number, seed: number): number[] {
  const r = rng(seed)
  return Array.from({ length: n }, (_, i) => 50 + 10 * Math.sin(2 * Math.PI * i / 120) + (r() - 0.5) * 4)
}

describe('detector: pure pieces', () => {
  it('normal tail probability from a table', () => {
    for (const [z, p] of [[0, 0.5], [1, 0.158655], [2, 0.0227501], [3, 0.0013499], [-1, 0.841345]]) {
      assert.ok(Math.abs(normalTail(z) - p) < 1e-6, `z=${z}: ${normalTail(z)} vs ${p}`)
    }
  })
  it('log likelihood maps 1−1e−5 to ~0.5, 1−1e−10 to 1, and clamps', () => {
    assert.ok(Math.abs(logLikelihood(1 - 1e-5) - 0.5) < 1e-3)
    assert.equal(logLikelihood(1), 1)
    assert.ok(logLikelihood(0.5) < 0.04)
    assert.equal(logLikelihood(0), 0)
  })
  it('squash: 0 → 0, softness → 1 − 1/e, ∞ → 1, NaN → 0', () => {
    assert.equal(squash(0, 4), 0)
    assert.ok(Math.abs(squash(4, 4) - (1 - Math.exp(-1))) < 1e-12)
    assert.equal(squash(Infinity, 4), 1)
    assert.equal(squash(NaN, 4), 0)
  })
  for (const cap of [8, 30, 31]) {
    for (const ties of [true, false]) {
      it(`rolling median/MAD equal a brute-force computation (window ${cap}, ${ties ? 'ties' : 'continuous'}, seeded)`, () => {
        const seed = 0xdecade + cap
        const r = rng(seed)
        const w = new RollingRobust(cap)
        const all: number[] = []
        for (let i = 0; i < 400; i++) {
          const x = ties ? Math.round(r() * 20) : (r() - 0.3) * 1e3
          w.push(x)
          all.push(x)
          const win = all.slice(-cap).sort((a, b) => a - b)
          const mid = (v: number[]): number => v.length % 2 === 1 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
          const med = mid(win)
          assert.equal(w.median(), med, `seed ${seed} step ${i}`)
          assert.equal(w.mad(med), mid(win.map((v) => Math.abs(v - med)).sort((a, b) => a - b)), `seed ${seed} step ${i}`)
          const off = med + 3.5 // MAD around a point that is not the median
          assert.equal(w.mad(off), mid(win.map((v) => Math.abs(v - off)).sort((a, b) => a - b)), `seed ${seed} step ${i} off`)
        }
      })
    }
  }
  it('time-of-day bins follow the UTC offset', () => {
    const p = new TimeOfDayProfile({ bins: 96, alphaPerDay: 0.271, minDays: 3, utcOffsetMs: 3_600_000 })
    assert.equal(p.bin(Date.UTC(2024, 0, 1, 0, 0)), 4)
    assert.equal(p.bin(Date.UTC(2024, 0, 1, 23, 59)), 3)
    assert.equal(p.expected(4), null)
  })
  it('seasonal memory is per day whatever the sampling rate', () => {
    for (const [alphaDay, perDay, want] of [[0.271, 1, 0.271], [0.271, 3, 0.1], [0.5, 0.25, 0.5], [0.271, 900, 0.000351]] as const) {
      assert.ok(Math.abs(perSampleAlpha(alphaDay, perDay) - want) < 1e-4, `${alphaDay}/${perDay}`)
    }
    const p = new TimeOfDayProfile({ bins: 96, alphaPerDay: 0.271, minDays: 1, utcOffsetMs: 0 })
    for (let t = 0; t < 3600; t++) p.observeTime(t * 1000)
    assert.ok(Math.abs(p.samplesPerBin() - 900) < 1e-6)
  })
  it('suppression zeroes repeats that are not higher, for the hold period', () => {
    const s = new AlertSuppressor({ holdSamples: 3, alertLevel: 0.3 })
    assert.deepEqual([0.1, 0.8, 0.7, 0.8, 0.9, 0.2, 0.5, 0.5, 0.5, 0.6].map((x) => s.filter(x)),
      [0.1, 0.8, 0, 0, 0.9, 0, 0, 0.5, 0, 0.6])
  })
})

describe('detector: behaviour', () => {
  it('a constant series stays low', () => {
    const scores = run(new Array(3000).fill(42))
    assert.ok(Math.max(...scores) < 0.1, `max ${Math.max(...scores)}`)
  })
  it('a clear spike scores high at that point and stays the top score', () => {
    const values = noisySine(2000, 7)
    values[1500] += 40
    const scores = run(values)
    assert.ok(scores[1500] >= 0.9, `spike scored ${scores[1500]}`)
    const others = scores.filter((_, i) => i >= 400 && i !== 1500)
    assert.ok(Math.max(...others) < scores[1500])
    assert.ok(others.filter((s) => s >= 0.5).length <= 10, 'few other alerts')
  })
  it('a young series is not flagged for every new extreme; a settled one is', () => {
    const values = Array.from({ length: 400 }, (_, i) => 10 + (i % 10) / 10)
    values[50] = 30 // new extreme while young
    values[350] = 100 // new extreme once settled
    const scores = run(values)
    assert.equal(scores[50], 0)
    assert.equal(scores[350], 1)
  })
  it('a level shift inside the old range is detected within a few samples', () => {
    const r = rng(11)
    const values = Array.from({ length: 2000 }, (_, i) => (i < 1500 ? 10 : 16) + (r() - 0.5) * 2)
    values[100] = 30 // an early outlier widens the range, so the shift is not a range novelty
    const scores = run(values)
    const after = scores.slice(1500, 1520)
    assert.ok(Math.max(...after) >= 0.5, `max after shift ${Math.max(...after)}`)
    assert.ok(Math.max(...scores.slice(400, 1500)) < Math.max(...after))
  })
  it('a daily pattern that goes flat (normal level, wrong for the time of day) is detected', () => {
    const r = rng(5)
    const stepMs = 300_000 // 5 min, 288 per day
    const n = 288 * 9
    const flatFrom = 288 * 7 + 144 // day 7, noon
    const values = Array.from({ length: n }, (_, i) => {
      const daily = 20 * Math.sin(2 * Math.PI * i / 288)
      return 50 + (i >= flatFrom && i < flatFrom + 48 ? 0 : daily) + (r() - 0.5)
    })
    const d = createDetector()
    const scores = values.map((v, i) => d.update(v, i * stepMs))
    const during = Math.max(...scores.slice(flatFrom, flatFrom + 48))
    const before = Math.max(...scores.slice(288 * 3, flatFrom))
    assert.ok(during >= 0.8, `flat segment max ${during}`)
    assert.ok(before < during, `before ${before}`)
    // and it is the time-of-day channel that sees it
    const plain = createDetector({ seasonalBins: 0 })
    const plainScores = values.map((v, i) => plain.update(v, i * stepMs))
    assert.ok(Math.max(...plainScores.slice(flatFrom, flatFrom + 48)) < 0.5)
  })
  it('never looks ahead: scores of every prefix equal the first scores of the whole run (seeded)', () => {
    const seed = Number(process.env.DETECT_SEED ?? Date.now() % 1_000_000)
    const r = rng(seed)
    const values = Array.from({ length: 1500 }, (_, i) => (r() < 0.01 ? 100 * r() : Math.sin(i / 30) + r()))
    const whole = run(values)
    for (const cut of [1, 50, 333, 777, 1499]) {
      assert.deepEqual(run(values.slice(0, cut)), whole.slice(0, cut), `seed ${seed} prefix ${cut}`)
    }
  })
  it('detectors are independent: interleaving two metrics changes nothing', () => {
    const a = noisySine(800, 1)
    const b = noisySine(800, 2).map((x) => x * 1000)
    const da = createDetector()
    const db = createDetector()
    const ia: number[] = []
    const ib: number[] = []
    for (let i = 0; i < 800; i++) {
      ia.push(da.update(a[i], i * STEP_MS))
      ib.push(db.update(b[i], i * STEP_MS))
    }
    assert.deepEqual(ia, run(a))
    assert.deepEqual(ib, run(b))
  })
  it('scores stay in [0,1] for any finite or non-finite input (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(NaN)), { maxLength: 400 }), (xs) => {
      const d = createDetector({ learningSamples: 20 })
      return xs.every((x, i) => { const s = d.update(x, i * 1000); return s >= 0 && s <= 1 })
    }), { numRuns: 60 })
  })
  it('bad values score 0, are counted and leave the state untouched', () => {
    const values = noisySine(1000, 3)
    const clean = run(values)
    const d = createDetector()
    const got: number[] = []
    values.forEach((v, i) => {
      if (i === 600) {
        assert.equal(d.update(NaN, i * STEP_MS), 0)
        assert.equal(d.update(Infinity, i * STEP_MS), 0)
        assert.equal(d.update('7' as unknown as number, i * STEP_MS), 0)
      }
      got.push(d.update(v, i * STEP_MS))
    })
    assert.deepEqual(got, clean)
    assert.deepEqual(d.stats(), { samples: 1000, invalid: 3 })
  })
  it('state is small and fixed: a few KB per metric', () => {
    const d = createDetector()
    const before = d.stateBytes()
    run(noisySine(5000, 4))
    for (let i = 0; i < 5000; i++) d.update(i % 17, i * STEP_MS)
    assert.equal(d.stateBytes(), before)
    assert.ok(before < 16 * 1024, `${before} bytes`)
  })
})

describe('detector: options', () => {
  it('defaults validate and are frozen', () => {
    assert.deepEqual(validateDetectorOptions(), { ...DETECTOR_DEFAULTS })
    assert.throws(() => { (DETECTOR_DEFAULTS as { windowSamples: number }).windowSamples = 1 })
  })
  for (const [field, value] of [['windowSamples', 2], ['seasonalAlpha', 0], ['alertLevel', 2], ['suppressSamples', -1], ['learningSamples', 1.5], ['likelihoodForgetting', NaN]] as const) {
    it(`rejects ${field}=${String(value)} naming the field`, () => {
      assert.throws(() => createDetector({ [field]: value }), (e: unknown) =>
        e instanceof DetectorConfigError && e.code === 'ERR_DETECTOR_CONFIG' && e.field === field)
    })
  }
  it('rejects unknown options', () => {
    assert.throws(() => createDetector({ windowSize: 10 } as never), (e: unknown) => e instanceof DetectorConfigError && e.field === 'windowSize')
  })
  it('seasonal channel can be disabled', () => {
    const d = createDetector({ seasonalBins: 0 })
    assert.ok(d.stateBytes() < createDetector().stateBytes())
  })
})
