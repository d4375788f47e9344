// Seeded synthetic incidents with known ground truth: a random DAG of
// components, a linear-Gaussian structural causal model over one metric per
// component (a component's metric = Σ w·dependency metrics + own noise), and
// fault injections (a shift of one component's own noise term).
import { encode as encodeHlc } from '@homeostat/hlc'
import type { Anomaly } from '@homeostat/interface'
import { declaredGraph, stats, type DependencyGraph, type SeriesInput } from '../src/index.ts'

export interface World {
  seed: number
  n: number
  names: string[]
  /** deps[j] = indices j depends on (all < j). */
  deps: number[][]
  weights: number[][]
  noise: number[]
  base: number[]
  graph: DependencyGraph
  rand: () => number
}

export function randomWorld (seed: number, n = 12, edgeProb = 0.25): World {
  const rand = stats.seededRandom(seed)
  const names = Array.from({ length: n }, (_, i) => `c${i}`)
  const deps: number[][] = []; const weights: number[][] = []
  for (let j = 0; j < n; j++) {
    const d: number[] = []; const w: number[] = []
    for (let i = 0; i < j; i++) if (rand() < edgeProb) { d.push(i); w.push(0.5 + 0.7 * rand()) }
    deps.push(d); weights.push(w)
  }
  const noise = names.map(() => 0.5 + rand())
  const base = names.map(() => 5 + 10 * rand())
  const graph = declaredGraph(names.map((name, j) => ({ name, dependsOn: deps[j].map((i) => names[i]) })))
  return { seed, n, names, deps, weights, noise, base, graph, rand }
}

/** Rows of the SCM; `shift(row, component)` adds to that component's own term. */
export function simulate (w: World, rows: number, shift: (row: number, c: number) => number = () => 0): number[][] {
  const out: number[][] = w.names.map(() => [])
  for (let r = 0; r < rows; r++) {
    const x = new Array<number>(w.n).fill(0)
    for (let j = 0; j < w.n; j++) {
      let v = w.base[j] + w.noise[j] * stats.gaussian(w.rand) + shift(r, j)
      w.deps[j].forEach((i, k) => { v += w.weights[j][k] * (x[i] - w.base[i]) })
      x[j] = v
      out[j].push(v)
    }
  }
  return out
}

/** Indices of components that (transitively) depend on c. */
export function dependentsOf (w: World, c: number): Set<number> {
  const s = new Set<number>()
  let changed = true
  while (changed) {
    changed = false
    for (let j = 0; j < w.n; j++) {
      if (s.has(j)) continue
      if (w.deps[j].some((i) => i === c || s.has(i))) { s.add(j); changed = true }
    }
  }
  return s
}

export function seriesOf (w: World, window: number[][], normal: number[][]): SeriesInput[] {
  return w.names.map((component, j) => ({ component, metric: 'm', values: window[j], normal: normal[j] }))
}

/** Anomaly records for the rows where a component is > 3σ off its normal median; HLC wall = row time. */
export function detectAnomalies (w: World, window: number[][], normal: number[][], rowMs: number, t0Ms: number, nodeOf: (c: number) => string): Anomaly[] {
  const out: Anomaly[] = []
  for (let j = 0; j < w.n; j++) {
    const m = stats.median(normal[j]); const s = stats.robustSigma(normal[j])
    for (let r = 0; r < window[j].length; r++) {
      const z = (window[j][r] - m) / s
      if (z > 3) {
        const node = nodeOf(j)
        out.push({ id: `a-${j}-${r}`, node, component: w.names[j], metric: 'm', kind: 'metric', score: Math.min(1, z / 10), value: window[j][r], hlc: encodeHlc({ wallMs: t0Ms + r * rowMs, logical: 0, node }), atMs: t0Ms + r * rowMs })
        break
      }
    }
  }
  return out
}

/**
 * A random microservice call graph with request-weighted latency and error
 * propagation, like the PetShop application: node 0 is the entry point; every
 * other node is called by one or more lower-numbered nodes `perRequest` times
 * per caller request. Average latency of n = own_n + Σ_c perRequest(n→c)·lat_c;
 * error fraction of n = own_n + Σ_c perRequest(n→c)·err_c (no retries, capped).
 */
export interface CallWorld {
  seed: number
  n: number
  names: string[]
  calls: Array<Array<{ callee: number, perRequest: number }>>
  ownLatency: number[]
  /** Relative row-to-row jitter of each node's own latency (some services are bursty). */
  jitter: number[]
  ownErrors: number[]
  graph: DependencyGraph
  rand: () => number
}

export function randomCallWorld (seed: number, n = 25): CallWorld {
  const rand = stats.seededRandom(seed)
  const names = Array.from({ length: n }, (_, i) => `svc${i}`)
  const calls: CallWorld['calls'] = names.map(() => [])
  for (let c = 1; c < n; c++) {
    const callers = new Set<number>([Math.floor(rand() * c)])
    if (c > 2 && rand() < 0.3) callers.add(Math.floor(rand() * c))
    for (const p of callers) calls[p].push({ callee: c, perRequest: 0.3 + 2 * rand() })
  }
  const ownLatency = names.map(() => 0.005 + 0.1 * rand() ** 2)
  const jitter = names.map(() => rand() < 0.2 ? 0.5 : 0.05 + 0.1 * rand())
  const ownErrors = names.map(() => rand() < 0.7 ? 0 : 0.002 * rand())
  const graph = declaredGraph(names.map((name, i) => ({ name, dependsOn: calls[i].map((k) => names[k.callee]) })))
  return { seed, n, names, calls, ownLatency, jitter, ownErrors, graph, rand }
}

/** `rows` rows of latency (s), unavailability (%) and requests; `fault(row, node)` = {latencyFactor?, errors?}. */
export function simulateCalls (w: CallWorld, rows: number, entryRequests: number, fault: (row: number, node: number) => { latencyFactor?: number, errors?: number } | null): { latency: number[][], unavailability: number[][], requests: number[][] } {
  const latency = w.names.map(() => [] as number[]); const unavailability = w.names.map(() => [] as number[]); const requests = w.names.map(() => [] as number[])
  for (let r = 0; r < rows; r++) {
    const req = new Array<number>(w.n).fill(0)
    req[0] = entryRequests * (1 + 0.05 * stats.gaussian(w.rand))
    for (let p = 0; p < w.n; p++) for (const k of w.calls[p]) req[k.callee] += req[p] * k.perRequest
    const lat = new Array<number>(w.n).fill(0); const err = new Array<number>(w.n).fill(0)
    for (let p = w.n - 1; p >= 0; p--) {
      const f = fault(r, p)
      let own = w.ownLatency[p] * Math.max(0.1, 1 + w.jitter[p] * stats.gaussian(w.rand)) * (f?.latencyFactor ?? 1)
      let e = w.ownErrors[p] + (f?.errors ?? 0)
      for (const k of w.calls[p]) { own += k.perRequest * lat[k.callee]; e += k.perRequest * err[k.callee] }
      lat[p] = own; err[p] = Math.min(1, e)
    }
    for (let p = 0; p < w.n; p++) {
      latency[p].push(lat[p]); unavailability[p].push(100 * err[p]); requests[p].push(Math.round(req[p]))
    }
  }
  return { latency, unavailability, requests }
}
