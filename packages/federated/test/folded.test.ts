// Folded contributions as per-node runs of rounds: a table of cases for the
// pure functions, a property test against a plain Set, and the bound that
// makes it worth having (a long-running fleet's checkpoint stays small).
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import {
  EMPTY_FOLDED, foldedWith, foldedHas, foldedCount, foldedRuns, parseContributionId,
  createCheckpoint, encodeCheckpoint, decodeCheckpoint
} from '@homeostat/federated'
import { vec, P } from './helpers.ts'

describe('federated: folded runs', () => {
  const cases: Array<{ name: string, ids: string[], want: Record<string, Array<[number, number]>> }> = [
    { name: 'nothing', ids: [], want: {} },
    { name: 'one', ids: ['a/3'], want: { a: [[3, 3]] } },
    { name: 'contiguous, any order', ids: ['a/2', 'a/0', 'a/1'], want: { a: [[0, 2]] } },
    { name: 'a gap stays a gap', ids: ['a/0', 'a/1', 'a/5'], want: { a: [[0, 1], [5, 5]] } },
    { name: 'filling a gap joins the runs', ids: ['a/0', 'a/2', 'a/1'], want: { a: [[0, 2]] } },
    { name: 'duplicates are one', ids: ['a/4', 'a/4'], want: { a: [[4, 4]] } },
    { name: 'nodes sorted, a slash inside a node name', ids: ['z/1', 'edge/1/7', 'b/0'], want: { b: [[0, 0]], 'edge/1': [[7, 7]], z: [[1, 1]] } },
    { name: 'not contribution ids are ignored', ids: ['a', '/3', 'a/-1', 'a/1.5', 'a/03', 'a/'], want: {} }
  ]
  for (const c of cases) {
    it(`foldedWith: ${c.name}`, () => {
      const f = foldedWith(EMPTY_FOLDED, c.ids)
      assert.deepEqual(JSON.parse(JSON.stringify(f)), c.want)
      for (const id of c.ids) assert.equal(foldedHas(f, id), parseContributionId(id) !== undefined, id)
    })
  }

  it('adding to existing runs widens them and leaves the input untouched', () => {
    const f = foldedWith(EMPTY_FOLDED, ['a/0', 'a/1', 'a/4'])
    const g = foldedWith(f, ['a/2', 'a/3', 'b/9'])
    assert.deepEqual(JSON.parse(JSON.stringify(g)), { a: [[0, 4]], b: [[9, 9]] })
    assert.deepEqual(JSON.parse(JSON.stringify(f)), { a: [[0, 1], [4, 4]] })
    assert.equal(foldedCount(g), 6)
    assert.equal(foldedRuns(g), 2)
  })

  it('a node named __proto__ is a node like any other', () => {
    const f = foldedWith(EMPTY_FOLDED, ['__proto__/1', 'constructor/2'])
    assert.ok(foldedHas(f, '__proto__/1') && foldedHas(f, 'constructor/2'))
    assert.ok(!foldedHas(EMPTY_FOLDED, 'constructor/2') && !foldedHas(EMPTY_FOLDED, 'toString/0'))
    const cp = createCheckpoint({ version: 2, params: vec([0.5]), folded: f, hlc: 'h' })
    assert.ok(foldedHas(decodeCheckpoint(encodeCheckpoint(cp), P).folded, '__proto__/1'))
  })

  it('agrees with a plain set of ids, whatever the order of insertion (property)', () => {
    const id = fc.tuple(fc.constantFrom('a', 'b', 'edge/2'), fc.integer({ min: 0, max: 40 })).map(([n, r]) => `${n}/${r}`)
    fc.assert(fc.property(fc.array(id, { maxLength: 80 }), fc.array(id, { maxLength: 80 }), fc.array(id, { maxLength: 20 }), (xs, ys, probes) => {
      const set = new Set([...xs, ...ys])
      const stepwise = foldedWith(foldedWith(EMPTY_FOLDED, xs), ys)
      const atOnce = foldedWith(EMPTY_FOLDED, [...ys].reverse().concat(xs))
      assert.equal(JSON.stringify(stepwise), JSON.stringify(atOnce), 'canonical: one form per set')
      assert.equal(foldedCount(stepwise), set.size)
      for (const p of [...probes, ...set]) assert.equal(foldedHas(stepwise, p), set.has(p), p)
      for (const runs of Object.values(stepwise)) {
        for (let i = 0; i < runs.length; i++) {
          assert.ok(runs[i]![0] <= runs[i]![1])
          if (i > 0) assert.ok(runs[i]![0] > runs[i - 1]![1] + 1, 'runs are disjoint and not adjacent')
        }
      }
    }), { seed: Number(process.env.SEED ?? 4242), numRuns: 300 })
  })

  it('stays small over a long run: 20 nodes × 5000 rounds, one outage each, is 40 runs (the checkpoint header under 2 KiB)', () => {
    let f = EMPTY_FOLDED
    for (let r = 0; r < 5000; r += 10) {
      const ids: string[] = []
      for (let n = 0; n < 20; n++) for (let k = r; k < r + 10; k++) if (!(k >= 1000 + n * 100 && k < 1050 + n * 100)) ids.push(`node-${n}/${k}`)
      f = foldedWith(f, ids)
    }
    assert.equal(foldedRuns(f), 40)
    assert.equal(foldedCount(f), 20 * 4950)
    const bytes = encodeCheckpoint(createCheckpoint({ version: 4999, params: vec([0]), folded: f, hlc: 'h' }))
    assert.ok(bytes.byteLength - P * 4 < 2048, `${bytes.byteLength - P * 4} header bytes`)
  })
})
