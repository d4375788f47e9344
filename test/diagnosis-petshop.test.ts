// Diagnosis on real third-party data (PetShop, ../shared/data/petshop): the
// same method and configuration as `npm run bench -- rca`, as a regression
// guard. Skipped when the dataset is not present.
import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { diagnoseIssue, graphOf } from '../bench/rca/method.ts'
import { loadDataset, readRootCause } from '../bench/rca/petshop.ts'

const dataDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data', 'petshop')

describe('diagnosis on PetShop (real data)', function () {
  this.timeout(60_000)
  before(function () { if (!existsSync(dataDir)) this.skip() })

  it('finds the true root cause: top-1 ≥ 0.8 and top-3 ≥ 0.95 over every issue, never reading root_cause before ranking', () => {
    const scenarios = loadDataset(dataDir)
    let n = 0; let top1 = 0; let top3 = 0
    const misses: string[] = []
    for (const s of scenarios) {
      const g = graphOf(s)
      for (const issue of s.issues) {
        const r = diagnoseIssue(s, g, issue)
        const truth = readRootCause(issue)
        const k = r.ranking.indexOf(truth) + 1
        n++
        if (k === 1) top1++; else misses.push(`${s.name}/${issue.name}: rank ${k}`)
        if (k >= 1 && k <= 3) top3++
        assert.ok(r.diagnosis.candidates.every((c) => c.confidence >= 0 && c.confidence <= 1))
      }
    }
    assert.ok(n >= 20, `${n} issues`)
    assert.ok(top1 / n >= 0.8 && top3 / n >= 0.95, `top1 ${top1}/${n}, top3 ${top3}/${n}; ${misses.join('; ')}`)
  })
})
