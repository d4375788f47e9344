// The NAB scorer port reproduces NAB's own results on the shared subset: the
// per-file standard-profile rows and the normalised final scores that NAB's
// scorer computed for two published detectors (../shared/data/nab/reference).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readCorpus, readResultScores, readCsv } from '../bench/nab/corpus.ts'
import type { DataFile } from '../bench/nab/corpus.ts'
import {
  NAB_PROFILES, calcSweepScore, calcScoreByThreshold, optimizeThreshold, probationaryLength,
  scaledSigmoid, scoreCorpus, parseTimestamp, NabInputError, PROBATIONARY
} from '../bench/nab/scorer.ts'
import { readFileSync } from 'node:fs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dataDir = join(root, '..', 'shared', 'data', 'nab')

describe('NAB scorer port: pure rules', () => {
  it('scaled sigmoid matches NAB at its documented points', () => {
    assert.ok(Math.abs(scaledSigmoid(-1) - 0.98661) < 1e-5)
    assert.ok(Math.abs(scaledSigmoid(-0.5) - 0.84828) < 1e-5)
    assert.equal(scaledSigmoid(0), 0)
    assert.ok(Math.abs(scaledSigmoid(1) + 0.98661) < 1e-5)
    assert.equal(scaledSigmoid(3.01), -1)
  })
  it('probationary period is 15% of the file, capped at 750 rows', () => {
    for (const [n, want] of [[4032, 604], [1000, 150], [5000, 750], [22000, 750], [7, 1]] as const) {
      assert.equal(probationaryLength(n), want, `n=${n}`)
    }
  })
  it('only the earliest detection of a window counts; misses cost fnWeight; FPs after a window cost less', () => {
    const cost = NAB_PROFILES.standard.CostMatrix
    const n = 100
    const ts = Array.from({ length: n }, (_, i) => i * 1000)
    const windows: Array<[number, number]> = [[50_000, 59_000]]
    const scores = new Array(n).fill(0)
    scores[52] = 0.9; scores[55] = 0.95 // two detections in the window
    scores[61] = 0.9 // FP just after the window
    scores[95] = 0.9 // FP far after the window
    const pts = calcSweepScore(ts, scores, windows, 'f', cost)
    assert.equal(pts.filter((p) => p.windowName === PROBATIONARY).length, 15)
    const rows = calcScoreByThreshold(pts, cost)
    assert.equal(rows[0].threshold, 1.1)
    assert.equal(rows[0].score, -1)
    const at09 = rows.find((r) => r.threshold === 0.9)!
    const tp = scaledSigmoid(-(59 - 52 + 1) / 10) / scaledSigmoid(-1)
    const fpNear = 0.11 * scaledSigmoid(2 / 9)
    assert.ok(Math.abs(at09.score - (tp + fpNear - 0.11)) < 1e-12)
    assert.deepEqual([at09.tp, at09.fp, at09.fn, at09.total], [2, 2, 8, 85])
    assert.ok(fpNear > -0.11 && fpNear < 0)
  })
  it('rejects malformed timestamps with a coded error', () => {
    assert.throws(() => parseTimestamp('yesterday'), (e: unknown) => e instanceof NabInputError && e.code === 'ERR_NAB_INPUT')
    assert.equal(parseTimestamp('2014-04-10 07:15:00.000000'), Date.UTC(2014, 3, 10, 7, 15))
  })
})

describe('NAB scorer port reproduces NAB on the shared subset', function () {
  this.timeout(60_000)
  before(function () { if (!existsSync(dataDir)) this.skip() })
  const expected = () => JSON.parse(readFileSync(join(dataDir, 'reference', 'scores.json'), 'utf8')) as {
    normalizedScores: Record<string, Record<string, number>>
    optimizedThresholds: Record<string, Record<string, { score: number, threshold: number }>>
  }
  let corpus: DataFile[]
  before(() => { corpus = readCorpus(dataDir) })

  for (const detector of ['numenta', 'windowedGaussian']) {
    it(`${detector}: per-file standard rows, optimised thresholds and normalised scores`, () => {
      const ref = expected()
      const files = corpus.map((f) => ({
        name: f.name, timestampsMs: f.timestampsMs, windows: f.windows,
        anomalyScores: readResultScores(join(dataDir, 'reference', detector), detector, f)
      }))
      for (const [profile, { CostMatrix }] of Object.entries(NAB_PROFILES)) {
        const opt = optimizeThreshold(files, CostMatrix)
        const want = ref.optimizedThresholds[detector][profile]
        assert.equal(opt.threshold, want.threshold, `${detector} ${profile} threshold`)
        assert.ok(Math.abs(opt.score - want.score) < 1e-9, `${detector} ${profile} raw ${opt.score} vs ${want.score}`)
        const r = scoreCorpus(files, profile, CostMatrix)
        assert.ok(Math.abs(r.normalized - ref.normalizedScores[detector][profile]) < 1e-9,
          `${detector} ${profile} normalised ${r.normalized} vs ${ref.normalizedScores[detector][profile]}`)
        if (profile !== 'standard') continue
        const table = readCsv(join(dataDir, 'reference', detector, `${detector}_standard_scores.csv`))
        let compared = 0
        for (const row of table.rows) {
          if (row[0] === 'Totals') {
            assert.ok(Math.abs(Number(row[4]) - r.score) < 1e-9)
            continue
          }
          const got = r.files.find((x) => x.name === row[2])
          assert.ok(got != null, `missing ${row[2]}`)
          assert.equal(got.threshold, Number(row[3]))
          assert.ok(Math.abs(got.score - Number(row[4])) < 1e-9, `${row[2]} score ${got.score} vs ${row[4]}`)
          assert.deepEqual([got.tp, got.tn, got.fp, got.fn, got.total], row.slice(5, 10).map(Number), row[2])
          compared++
        }
        assert.equal(compared, corpus.length)
      }
    })
  }
  it('rounds to the published figures: numenta 75.52, windowedGaussian 41.42', () => {
    const round = (d: string) => {
      const files = corpus.map((f) => ({ name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: readResultScores(join(dataDir, 'reference', d), d, f) }))
      return Math.round(scoreCorpus(files, 'standard', NAB_PROFILES.standard.CostMatrix).normalized * 100) / 100
    }
    assert.equal(round('numenta'), 75.52)
    assert.equal(round('windowedGaussian'), 41.42)
  })
})
