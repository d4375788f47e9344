import { strict as assert } from 'node:assert'
import { LIMITS, type Diagnosis } from '@homeostat/interface'
import { decode } from '@homeostat/hlc'

/** Checks a Diagnosis against the shared record's contract. */
export function diagnosisSchemaCheck (d: Diagnosis): void {
  assert.ok(d.incidentId.length > 0)
  decode(d.hlc)
  assert.ok(d.explanation.length > 0 && d.explanation.length <= LIMITS.textLength)
  let prev = Infinity
  for (const c of d.candidates) {
    assert.ok(c.confidence >= 0 && c.confidence <= 1, `confidence ${c.confidence}`)
    assert.ok(c.score <= prev + 1e-12, 'candidates sorted by score')
    prev = c.score
    assert.ok(c.explanation.length > 0 && c.evidence.length > 0)
  }
  for (const g of d.independentGroups) assert.ok(g.length > 0)
  JSON.parse(JSON.stringify(d))
}
