// Root causes anywhere in a random call graph, PetShop-style (entry-point
// alert, five-row window, load-weighted mechanism), with and without normal
// history: checks the method is not tied to one component or one depth.
import { strict as assert } from 'node:assert'
import { rankRootCauses, summarizeNormal, type SeriesInput } from '../src/index.ts'
import { randomCallWorld, simulateCalls } from './synthetic.ts'

function run (metric: 'latency' | 'unavailability', withNormal: boolean): { top1: number, top3: number, n: number, missed: string[], roots: Set<number> } {
  let n = 0; let top1 = 0; let top3 = 0
  const missed: string[] = []
  const roots = new Set<number>()
  for (let seed = 1; n < 50 && seed < 1000; seed++) {
    const w = randomCallWorld(seed)
    const root = Math.floor(w.rand() * w.n)
    const factor = 4 + 6 * w.rand(); const errors = 0.02 + 0.05 * w.rand()
    const fault = (r: number, p: number): { latencyFactor?: number, errors?: number } | null =>
      p === root && r >= 2 && r <= 3 ? (metric === 'latency' ? { latencyFactor: factor } : { errors }) : null
    const normal = simulateCalls(randomCallWorld(seed), 200, 500, () => null)
    // The same noise with and without the fault (identically seeded worlds).
    const win = simulateCalls(w, 5, 500, fault)
    const w2 = randomCallWorld(seed); w2.rand(); w2.rand(); w2.rand()
    const calm = simulateCalls(w2, 5, 500, () => null)
    const values = metric === 'latency' ? win.latency : win.unavailability
    const calmValues = metric === 'latency' ? calm.latency : calm.unavailability
    // Only faults the entry point would alert on: the fault itself moves it by > 3 normal σ (and 0.5 pp for errors).
    const sigma = summarizeNormal(metric === 'latency' ? normal.latency[0] : normal.unavailability[0]).sigma
    const effect = Math.min(values[0][2] - calmValues[0][2], values[0][3] - calmValues[0][3])
    if (effect < 3 * sigma || (metric === 'unavailability' && effect < 0.5)) continue
    n++
    roots.add(root)
    const series: SeriesInput[] = w.names.map((component, i) => ({
      component,
      metric,
      values: values[i],
      load: win.requests[i],
      ...(withNormal ? { baseline: summarizeNormal(metric === 'latency' ? normal.latency[i] : normal.unavailability[i]) } : {})
    }))
    const r = rankRootCauses({ graph: w.graph, target: { component: w.names[0], metric }, series, minScale: metric === 'latency' ? 0.001 : 0.5 })
    const k = r.candidates.findIndex((c) => c.component === w.names[root]) + 1
    if (k === 1) top1++; else missed.push(`seed ${seed} root ${w.names[root]} rank ${k}`)
    if (k >= 1 && k <= 3) top3++
  }
  return { top1: top1 / n, top3: top3 / n, n, missed, roots }
}

describe('root causes anywhere in random call graphs (load-weighted mechanism)', function () {
  this.timeout(60_000)
  for (const metric of ['latency', 'unavailability'] as const) {
    for (const withNormal of [true, false]) {
      it(`${metric}, ${withNormal ? 'with' : 'without'} normal history: top-1 ≥ 0.8, top-3 ≥ 0.95 over 50 seeds, many distinct roots`, () => {
        const r = run(metric, withNormal)
        if (process.env.DIAG_VERBOSE != null) console.log(`    ${metric} normal=${withNormal}: top1 ${r.top1.toFixed(2)} top3 ${r.top3.toFixed(2)} n ${r.n} roots ${r.roots.size}`)
        assert.ok(r.n >= 40, `only ${r.n} alerting incidents`)
        assert.ok(r.roots.size >= 10, `roots not varied: ${r.roots.size}`)
        assert.ok(r.top1 >= 0.8 && r.top3 >= 0.95, `top1=${r.top1.toFixed(2)} top3=${r.top3.toFixed(2)} (n=${r.n}); missed: ${r.missed.join('; ')}`)
      })
    }
  }
})
