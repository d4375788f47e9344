// The detector on NAB: end to end through the corpus reader, the detector
// (from source) and the scorer port. Guards the published target.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDetector, watchDetection } from '@homeostat/monitor'
import { runDaemonDetection } from '../bench/nab/run.ts'
import { readCorpus } from '../bench/nab/corpus.ts'
import { NAB_PROFILES, scoreCorpus } from '../bench/nab/scorer.ts'

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data', 'nab')

describe('NAB: homeostat detector on the shared subset', function () {
  this.timeout(120_000)
  before(function () { if (!existsSync(dataDir)) this.skip() })
  it('scores at least 75 (standard profile) with the defaults, one configuration for every file', () => {
    const files = readCorpus(dataDir).map((f) => {
      const d = createDetector()
      return { name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: f.values.map((v, i) => d.update(v, f.timestampsMs[i])) }
    })
    const r = scoreCorpus(files, 'standard', NAB_PROFILES.standard.CostMatrix)
    console.log(`      NAB standard ${r.normalized.toFixed(2)} (threshold ${r.threshold})`)
    assert.ok(r.normalized >= 75, `NAB standard ${r.normalized}`)
    const noAnomaly = r.files.filter((f) => f.name.startsWith('artificialNoAnomaly/'))
    assert.ok(noAnomaly.every((f) => f.fp === 0), 'no false alarms on the anomaly-free artificial series')
  })
  it('the daemon\'s own alerts (detector, then the watch\'s alarm, default configuration) score at least 74', () => {
    const corpus = readCorpus(dataDir)
    const { alerts } = runDaemonDetection(corpus, watchDetection())
    const r = scoreCorpus(corpus.map((f, k) => ({ name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: alerts[k]! })), 'standard', NAB_PROFILES.standard.CostMatrix)
    console.log(`      daemon NAB standard ${r.normalized.toFixed(2)}`)
    assert.ok(r.normalized >= 74, `daemon NAB standard ${r.normalized}`)
    assert.ok(alerts.flat().every((a) => a === 0 || a === 1), 'alerts are 0/1')
  })
})
