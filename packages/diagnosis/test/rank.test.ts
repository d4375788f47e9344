import { strict as assert } from 'node:assert'
import { declaredGraph, rankRootCauses, rankFromAnomalies, stats } from '../src/index.ts'
import { dependentsOf, detectAnomalies, randomWorld, seriesOf, simulate } from './synthetic.ts'

interface Case { seed: number, root: number, target: number, rank: number }

/** One seeded incident: random DAG + SCM, a shift on a random root; the target is an affected dependent. */
function incident (seed: number): { w: ReturnType<typeof randomWorld>, root: number, target: number, window: number[][], normal: number[][] } | null {
  const w = randomWorld(seed, 10 + (seed % 8))
  const normal = simulate(w, 300)
  const roots = w.names.map((_, i) => i).filter((i) => dependentsOf(w, i).size > 0)
  if (roots.length === 0) return null
  const root = roots[Math.floor(w.rand() * roots.length)]
  const size = (6 + 6 * w.rand()) * w.noise[root]
  const window = simulate(w, 10, (r, c) => c === root && r >= 4 ? size : 0)
  // Target: a dependent whose mean shift over the fault rows stands out (what would alert).
  const affected = [...dependentsOf(w, root)].filter((j) => {
    const m = stats.median(normal[j]); const s = stats.robustSigma(normal[j])
    return (stats.mean(window[j].slice(4)) - m) / s > 4
  })
  if (affected.length === 0) return null
  return { w, root, target: affected[Math.floor(w.rand() * affected.length)], window, normal }
}

describe('root-cause ranking on synthetic SCM incidents', function () {
  this.timeout(60_000)
  it('metric attribution (regression on normal data) finds injected roots: top-1 ≥ 0.85, top-3 ≥ 0.95 over 60 seeds', () => {
    const cases: Case[] = []
    for (let seed = 1; cases.length < 60 && seed < 500; seed++) {
      const inc = incident(seed)
      if (inc == null) continue
      const { w, root, target, window, normal } = inc
      const r = rankRootCauses({ graph: w.graph, target: { component: w.names[target], metric: 'm' }, series: seriesOf(w, window, normal) })
      const rank = r.candidates.findIndex((c) => c.component === w.names[root]) + 1
      cases.push({ seed, root, target, rank: rank === 0 ? Infinity : rank })
      assert.ok(r.candidates.every((c) => c.confidence >= 0 && c.confidence <= 1 && c.explanation.length > 0), `seed ${seed}`)
      assert.ok(r.candidates.every((c) => c.evidence.mechanism !== 'additive'), `seed ${seed}: regression expected with 300 normal rows`)
    }
    const top1 = cases.filter((c) => c.rank === 1).length / cases.length
    const top3 = cases.filter((c) => c.rank <= 3).length / cases.length
    const missed = cases.filter((c) => c.rank > 1).map((c) => `seed ${c.seed} (root c${c.root}, target c${c.target}, rank ${c.rank})`)
    assert.ok(top1 >= 0.85 && top3 >= 0.95, `top1=${top1.toFixed(2)} top3=${top3.toFixed(2)}; missed: ${missed.join('; ')}`)
  })

  it('the root outranks the symptom even when the target itself is the root (no dependency explains it)', () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const w = randomWorld(seed, 8)
      const normal = simulate(w, 300)
      const t = w.n - 1
      const window = simulate(w, 10, (r, c) => c === t && r >= 5 ? 10 * w.noise[t] : 0)
      const r = rankRootCauses({ graph: w.graph, target: { component: w.names[t], metric: 'm' }, series: seriesOf(w, window, normal) })
      assert.equal(r.candidates[0].component, w.names[t], `seed ${seed}`)
      assert.ok(r.candidates[0].evidence.share > 0.8, `seed ${seed}: share ${r.candidates[0].evidence.share}`)
    }
  })

  it('additive load-weighted mechanism: a callee whose excess covers the caller\'s beats a noisy sibling', () => {
    // web calls search (high traffic) and lb (low traffic); search slows down.
    const graph = declaredGraph([{ name: 'web', dependsOn: ['search', 'lb', 'db'] }, { name: 'search', dependsOn: ['db'] }])
    const series = [
      { component: 'web', metric: 'latency', values: [0.10, 0.10, 0.16, 0.15, 0.10], load: [500, 500, 500, 500, 500] },
      { component: 'search', metric: 'latency', values: [0.01, 0.01, 0.045, 0.04, 0.01], load: [900, 900, 900, 900, 900] },
      { component: 'lb', metric: 'latency', values: [0.01, 0.01, 0.11, 0.10, 0.01], load: [40, 40, 40, 40, 40] },
      { component: 'db', metric: 'latency', values: [0.012, 0.012, 0.013, 0.012, 0.012], load: [1000, 1000, 1000, 1000, 1000] }
    ]
    const r = rankRootCauses({ graph, target: { component: 'web', metric: 'latency' }, series, minScale: 0.001 })
    assert.deepEqual(r.incidentRows, [2, 3])
    assert.equal(r.candidates[0].component, 'search')
    assert.equal(r.candidates[0].evidence.mechanism, 'additive')
    assert.ok(r.candidates[0].evidence.share > 0.9)
    assert.match(r.candidates[0].explanation, /search latency deviates/)
    const web = r.candidates.find((c) => c.component === 'web')
    assert.ok(web != null && web.score < 0.1, 'the symptom is explained by its dependencies')
  })

  it('penalises a candidate whose first anomaly happens after the target\'s (HLC order)', () => {
    const graph = declaredGraph([{ name: 't', dependsOn: ['a', 'b'] }])
    const series = [
      { component: 't', metric: 'm', values: [1, 1, 3, 3, 1] },
      { component: 'a', metric: 'm', values: [1, 1, 3, 3, 1] },
      { component: 'b', metric: 'm', values: [1, 1, 3, 3, 1] }
    ]
    const mk = (component: string, wallMs: number, node: string) => ({ id: component, node, component, metric: 'm', kind: 'metric' as const, score: 1, value: 3, hlc: encodeHlc({ wallMs, logical: 0, node }), atMs: wallMs })
    const anomalies = [mk('t', 2000, 'n1'), mk('a', 1000, 'n2'), mk('b', 3000, 'n3')]
    const r = rankRootCauses({ graph, target: { component: 't', metric: 'm' }, series, anomalies, minScale: 0.1 })
    const a = r.candidates.find((c) => c.component === 'a'); const b = r.candidates.find((c) => c.component === 'b')
    assert.ok(a != null && b != null)
    assert.equal(a.evidence.order, 1); assert.equal(b.evidence.order, 0.5)
    assert.ok(a.score > b.score)
  })

  it('rejects unusable input with ERR_DIAGNOSIS_INPUT', () => {
    const graph = declaredGraph([{ name: 't', dependsOn: ['a'] }])
    assert.throws(() => rankRootCauses({ graph, target: { component: 't', metric: 'm' }, series: [] }), { code: 'ERR_DIAGNOSIS_INPUT' })
    assert.throws(() => rankRootCauses({ graph, target: { component: 't', metric: 'm' }, series: [{ component: 't', metric: 'm', values: [1, 2] }, { component: 'a', metric: 'm', values: [1] }] }), { code: 'ERR_DIAGNOSIS_INPUT' })
    assert.throws(() => rankRootCauses({ graph, target: { component: 't', metric: 'm' }, series: [{ component: 't', metric: 'm', values: [null, null] }] }), { code: 'ERR_DIAGNOSIS_INPUT' })
  })

  it('anomaly-only ranking (HLC order + coverage + random walk) finds roots across skewed nodes: top-1 ≥ 0.85 over 60 seeds', () => {
    let hits = 0; let n = 0
    const missed: string[] = []
    for (let seed = 1; n < 60 && seed < 500; seed++) {
      const inc = incident(seed)
      if (inc == null) continue
      const { w, root, target, window, normal } = inc
      // Each component on its own node; HLC wall times are per-row but nodes' names break ties arbitrarily.
      const nodeOf = (c: number): string => `node-${(c * 7919 + seed) % 97}`
      const anomalies = detectAnomalies(w, window, normal, 60_000, 1_700_000_000_000, nodeOf)
      if (!anomalies.some((a) => a.component === w.names[target])) continue
      n++
      const r = rankFromAnomalies(anomalies, w.graph, w.names[target])
      if (r[0]?.component === w.names[root]) hits++
      else missed.push(`seed ${seed} (root c${root}, got ${r[0]?.component})`)
    }
    assert.ok(hits / n >= 0.85, `top1=${(hits / n).toFixed(2)} over ${n}; missed: ${missed.join('; ')}`)
  })
})

import { encode as encodeHlc } from '@homeostat/hlc'
