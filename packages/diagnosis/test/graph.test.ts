import { strict as assert } from 'node:assert'
import { declaredGraph, indexGraph, learnEdges, mergeGraph, reachable, stats, GRAPH_LIMITS, type MetricHistory } from '../src/index.ts'

function chain (seed: number, rows = 400): MetricHistory[] {
  // a → b → c with one-row lags: b[t] = 0.9·a[t−1] + ε, c[t] = 0.9·b[t−1] + ε; d independent.
  const rand = stats.seededRandom(seed)
  const a: number[] = []; const b: number[] = []; const c: number[] = []; const d: number[] = []
  for (let t = 0; t < rows; t++) {
    a.push(stats.gaussian(rand))
    b.push((t > 0 ? 0.9 * a[t - 1] : 0) + 0.4 * stats.gaussian(rand))
    c.push((t > 0 ? 0.9 * b[t - 1] : 0) + 0.4 * stats.gaussian(rand))
    d.push(stats.gaussian(rand))
  }
  return [{ component: 'a', metric: 'x', values: a }, { component: 'b', metric: 'x', values: b }, { component: 'c', metric: 'x', values: c }, { component: 'd', metric: 'x', values: d }]
}

describe('dependency graph', () => {
  it('declares edges from dependsOn, adds unknown dependencies as nodes, ignores self-loops', () => {
    const g = declaredGraph([{ name: 'web', dependsOn: ['db', 'cache', 'web'] }, { name: 'db' }])
    assert.deepEqual(g.nodes.sort(), ['cache', 'db', 'web'])
    assert.deepEqual(g.edges.map((e) => `${e.from}>${e.to}:${e.provenance}`).sort(), ['web>cache:declared', 'web>db:declared'])
    const { dependents } = indexGraph(g)
    assert.deepEqual(dependents.get('db'), ['web'])
    assert.deepEqual([...reachable(indexGraph(g).dependencies, 'web')].sort(), ['cache', 'db'])
  })

  it('rejects nameless components and oversized graphs with ERR_DIAGNOSIS_INPUT', () => {
    assert.throws(() => declaredGraph([{ name: '' }]), { code: 'ERR_DIAGNOSIS_INPUT' })
    assert.throws(() => declaredGraph([{ name: 'x', dependsOn: [''] }]), { code: 'ERR_DIAGNOSIS_INPUT' })
    const many = Array.from({ length: GRAPH_LIMITS.maxNodes + 1 }, (_, i) => ({ name: `n${i}` }))
    assert.throws(() => declaredGraph(many), { code: 'ERR_DIAGNOSIS_INPUT' })
  })

  for (const seed of [1, 2, 3]) {
    it(`learns a lagged chain, orients it by lead/lag and prunes the indirect edge (seed ${seed})`, () => {
      const learned = learnEdges(chain(seed))
      const got = learned.map((e) => `${e.from}>${e.to}`).sort()
      assert.deepEqual(got, ['b>a', 'c>b'], `seed ${seed}: ${JSON.stringify(learned)}`)
      for (const e of learned) {
        assert.equal(e.provenance, 'learned')
        assert.equal(e.statistic?.lag, 1)
        assert.ok((e.statistic?.r ?? 0) > 0.8 && (e.statistic?.p ?? 1) < 1e-6)
      }
    })
  }

  it('learns nothing from short histories or independent noise', () => {
    assert.deepEqual(learnEdges(chain(4, 20)), [])
    const rand = stats.seededRandom(9)
    const noise = ['p', 'q', 'r'].map((component) => ({ component, metric: 'x', values: Array.from({ length: 300 }, () => stats.gaussian(rand)) }))
    assert.deepEqual(learnEdges(noise), [])
  })

  it('orients simultaneous coupling only when the declared graph allows one direction', () => {
    const rand = stats.seededRandom(5)
    const x = Array.from({ length: 300 }, () => stats.gaussian(rand))
    const y = x.map((v) => v + 0.3 * stats.gaussian(rand))
    const hs = [{ component: 'x', metric: 'm', values: x }, { component: 'y', metric: 'm', values: y }]
    assert.deepEqual(learnEdges(hs), [])
    const e = learnEdges(hs, {}, (from, to) => from === 'y' && to === 'x')
    assert.deepEqual(e.map((k) => `${k.from}>${k.to}`), ['y>x'])
  })

  it('prunes a simultaneous correlation explained by a common cause (order-1 partial correlation)', () => {
    const rand = stats.seededRandom(11)
    const x = Array.from({ length: 400 }, () => stats.gaussian(rand))
    const y = x.map((v) => v + 0.5 * stats.gaussian(rand))
    const z = x.map((v) => v + 0.5 * stats.gaussian(rand))
    const hs = [{ component: 'x', metric: 'm', values: x }, { component: 'y', metric: 'm', values: y }, { component: 'z', metric: 'm', values: z }]
    // y and z both call x, and y may call z (declared reachability orients the simultaneous pairs);
    // the y–z correlation is only their shared cause x, so no y>z edge may be learned.
    const allowed = (from: string, to: string): boolean => (to === 'x' && from !== 'x') || (from === 'y' && to === 'z')
    const e = learnEdges(hs, {}, allowed).map((k) => `${k.from}>${k.to}`).sort()
    assert.deepEqual(e, ['y>x', 'z>x'])
  })

  it('merges declared and learned edges with provenance', () => {
    const declared = declaredGraph([{ name: 'b', dependsOn: ['a'] }, { name: 'c' }])
    const learned = learnEdges(chain(1))
    const g = mergeGraph(declared, learned)
    const prov = Object.fromEntries(g.edges.map((e) => [`${e.from}>${e.to}`, e.provenance]))
    assert.deepEqual(prov, { 'b>a': 'both', 'c>b': 'learned' })
    assert.ok(g.edges.find((e) => e.from === 'b')?.statistic != null, 'merged edge keeps the learned statistic')
  })
})
