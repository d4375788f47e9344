// The multi-cause fixtures (bench/rca/multicause, recorded from real processes)
// replayed through the daemon's diagnosis: the figures bench/rca reports, as a
// guard against regressions. Truth is read only after each diagnosis.
import assert from 'node:assert/strict'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFixture, scoreMulticause } from '../bench/rca/multicause/score.ts'

describe('diagnosis on the multi-cause fixtures (daemon path)', () => {
  it('replays every recorded incident; top-1 ≥ 0.65, top-3 ≥ 0.8; concurrent independent faults each named', () => {
    const f = readFixture(join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'rca', 'multicause', 'fixtures.json'))
    assert.ok(f !== undefined, 'fixtures are in the repository')
    const rows = scoreMulticause(f)
    assert.equal(rows.length, f.scenarios.reduce((n, s) => n + s.incidents.length, 0))
    assert.ok(new Set(rows.flatMap((r) => r.truth)).size >= 5, 'several distinct root causes')
    const top1 = rows.filter((r) => r.rank <= 1).length / rows.length
    const top3 = rows.filter((r) => r.rank <= 3).length / rows.length
    console.log(`      multi-cause: ${rows.length} incidents, top-1 ${top1.toFixed(3)}, top-3 ${top3.toFixed(3)}`)
    assert.ok(top1 >= 0.65 && top3 >= 0.8, `top-1 ${top1}, top-3 ${top3}`)
    const independent = rows.filter((r) => r.kind === 'two independent')
    assert.ok(independent.length > 0 && independent.every((r) => r.rank === 1), JSON.stringify(independent.map((r) => [r.component, r.ranking[0]])))
  })
})
