// The component dependency graph. An edge `from → to` means "from depends on
// (calls) to": a fault in `to` propagates to `from`. Edges come from config
// (`dependsOn`), from data (lagged correlation pruned by first-order
// conditional-independence tests), or both; each keeps its provenance.
import { DiagnosisInputError } from './errors.ts'
import { fisherZPValue, laggedCorrelation, partialCorrelation, pearson, pairedCount } from './stats.ts'
import type { TuningOverrides } from '@homeostat/interface'

export type EdgeProvenance = 'declared' | 'learned' | 'both'

export interface LearnedStatistic {
  method: 'lagged-correlation'
  /** Metric pair the statistic was computed on, `component:metric`. */
  fromMetric: string
  toMetric: string
  /** Correlation at the best lag. */
  r: number
  /** Rows the dependency's metric leads the dependent's (≥ 0 after orientation). */
  lag: number
  /** Fisher-z p-value of r (before multiple-testing correction). */
  p: number
  n: number
}

export interface DependencyEdge {
  from: string
  to: string
  provenance: EdgeProvenance
  statistic?: LearnedStatistic
}

export interface DependencyGraph {
  nodes: string[]
  edges: DependencyEdge[]
}

export interface ComponentDeclaration {
  name: string
  dependsOn?: readonly string[]
}

/** Hard caps: the graph is built from config and remote records. */
export const GRAPH_LIMITS = {
  /** Components in one graph; a fleet node runs tens, a service mesh a few hundred. */
  maxNodes: 2000,
  /** Edges in one graph (dense 2000² is never sensible). */
  maxEdges: 50_000
} as const

/** Graph from declared `dependsOn` lists. Unknown dependencies become nodes too. */
export function declaredGraph (components: readonly ComponentDeclaration[]): DependencyGraph {
  const nodes = new Set<string>()
  const edges = new Map<string, DependencyEdge>()
  for (const c of components) {
    if (typeof c.name !== 'string' || c.name.length === 0) throw new DiagnosisInputError('component without a name')
    nodes.add(c.name)
    for (const d of c.dependsOn ?? []) {
      if (typeof d !== 'string' || d.length === 0) throw new DiagnosisInputError(`component ${c.name} has an empty dependsOn entry`)
      if (d === c.name) continue
      nodes.add(d)
      edges.set(`${c.name}\u0000${d}`, { from: c.name, to: d, provenance: 'declared' })
    }
  }
  checkSize(nodes.size, edges.size)
  return { nodes: [...nodes], edges: [...edges.values()] }
}

function checkSize (nodes: number, edges: number): void {
  if (nodes > GRAPH_LIMITS.maxNodes) throw new DiagnosisInputError(`graph has ${nodes} nodes, over the ${GRAPH_LIMITS.maxNodes} limit`)
  if (edges > GRAPH_LIMITS.maxEdges) throw new DiagnosisInputError(`graph has ${edges} edges, over the ${GRAPH_LIMITS.maxEdges} limit`)
}

/** One metric history per component (aligned rows; null = missing). */
export interface MetricHistory {
  component: string
  metric: string
  values: ReadonlyArray<number | null>
}

export const LEARN_DEFAULTS = {
  /** Largest lag tried, in rows; monitoring intervals are coarse, causes show within a few rows. */
  maxLag: 3,
  /** Family-wise significance; divided by the number of pairs tested (Bonferroni). */
  alpha: 0.01,
  /** Ignore correlations weaker than this even if significant on long histories (practically irrelevant coupling). */
  minAbsR: 0.3,
  /** Rows needed before any test is run; fewer rows give no learned edges at all. */
  minRows: 30,
  /** Pairs tested at most (fan-out cap: n² grows fast). */
  maxPairs: 20_000,
  /** Slack when checking that a lagged chain a→c→b accounts for a–b (|r_ab| ≤ |r_ac·r_cb| + this); sampling error of r at ~100 rows is ~0.1. */
  chainTolerance: 0.1
} as const

export type LearnOptions = TuningOverrides<typeof LEARN_DEFAULTS>

/**
 * Learns dependency edges from metric histories: for each pair of components,
 * the metric pair with the strongest lagged correlation is kept if significant
 * (Fisher z, Bonferroni over pairs). Orientation: if x leads y (lag > 0) then y
 * depends on x. Simultaneous (lag 0) pairs are oriented only when exactly one
 * direction is in `allowed` (e.g. the declared graph's reachability), else
 * skipped: correlation alone cannot orient them. Then PC-style pruning of
 * order 1: an edge is dropped when a third component's metric makes the pair
 * conditionally independent.
 */
export function learnEdges (histories: readonly MetricHistory[], options: LearnOptions = {}, allowed?: (from: string, to: string) => boolean): DependencyEdge[] {
  const o = { ...LEARN_DEFAULTS, ...options }
  const usable = histories.filter((h) => h.values.length >= o.minRows)
  const comps = [...new Set(usable.map((h) => h.component))]
  const byComp = new Map<string, MetricHistory[]>()
  for (const h of usable) { const l = byComp.get(h.component) ?? []; l.push(h); byComp.set(h.component, l) }
  const pairs = (comps.length * (comps.length - 1)) / 2
  if (pairs > o.maxPairs) throw new DiagnosisInputError(`learning over ${comps.length} components needs ${pairs} pair tests, over the ${o.maxPairs} limit`)
  const threshold = o.alpha / Math.max(1, pairs)
  interface Cand { a: MetricHistory, b: MetricHistory, r: number, lag: number, n: number, p: number }
  const found: Cand[] = []
  for (let i = 0; i < comps.length; i++) {
    for (let j = i + 1; j < comps.length; j++) {
      let best: Cand | null = null
      for (const a of byComp.get(comps[i]) ?? []) {
        for (const b of byComp.get(comps[j]) ?? []) {
          const lc = laggedCorrelation(a.values, b.values, o.maxLag)
          if (Number.isNaN(lc.r)) continue
          const p = fisherZPValue(lc.r, lc.n)
          if (best == null || Math.abs(lc.r) > Math.abs(best.r)) best = { a, b, r: lc.r, lag: lc.lag, n: lc.n, p }
        }
      }
      if (best != null && best.p < threshold && Math.abs(best.r) >= o.minAbsR) found.push(best)
    }
  }
  // Order-1 conditional independence (PC-style pruning): drop a–b when some
  // component c adjacent to both explains it. Simultaneous pairs: Fisher test
  // on the partial correlation given c. Lagged pairs: a chain a→c→b whose lags
  // add up to a–b's lag and whose correlations multiply to at least |r_ab|
  // (minus a tolerance) accounts for the a–b correlation.
  const pairKey = (x: string, y: string): string => x < y ? `${x}\u0000${y}` : `${y}\u0000${x}`
  const byPair = new Map<string, Cand>()
  for (const f of found) byPair.set(pairKey(f.a.component, f.b.component), f)
  /** r and lag oriented so that positive lag means x leads y. */
  const rel = (x: string, y: string): { r: number, lag: number } | null => {
    const f = byPair.get(pairKey(x, y))
    if (f == null) return null
    return f.a.component === x ? { r: f.r, lag: f.lag } : { r: f.r, lag: -f.lag }
  }
  const adjacent = new Map<string, Set<string>>()
  for (const f of found) {
    (adjacent.get(f.a.component) ?? adjacent.set(f.a.component, new Set()).get(f.a.component))!.add(f.b.component);
    (adjacent.get(f.b.component) ?? adjacent.set(f.b.component, new Set()).get(f.b.component))!.add(f.a.component)
  }
  const out: DependencyEdge[] = []
  for (const f of found) {
    let separated = false
    const a = f.a.component; const b = f.b.component
    const common = [...(adjacent.get(a) ?? [])].filter((c) => adjacent.get(b)?.has(c))
    for (const c of common) {
      const ac = rel(a, c); const cb = rel(c, b)
      if (ac == null || cb == null) continue
      if (f.lag === 0 && ac.lag === 0 && cb.lag === 0) {
        const fc = byPair.get(pairKey(a, c)) as Cand; const gc = byPair.get(pairKey(c, b)) as Cand
        const za = fc.a.component === c ? fc.a : fc.b
        const zb = gc.a.component === c ? gc.a : gc.b
        const z = za.values.length >= zb.values.length ? za : zb
        const rxz = pearson(f.a.values, z.values); const ryz = pearson(f.b.values, z.values)
        if (Number.isNaN(rxz) || Number.isNaN(ryz)) continue
        const pr = partialCorrelation(f.r, rxz, ryz)
        const n = Math.min(pairedCount(f.a.values, z.values), pairedCount(f.b.values, z.values))
        if (fisherZPValue(pr, n, 1) >= threshold) { separated = true; break }
      } else if (ac.lag + cb.lag === f.lag && Math.abs(ac.lag) <= Math.abs(f.lag) && Math.abs(cb.lag) <= Math.abs(f.lag) &&
        Math.abs(f.r) <= Math.abs(ac.r * cb.r) + o.chainTolerance) {
        separated = true; break
      }
    }
    if (separated) continue
    // Orientation: positive lag = a leads b, so b depends on a.
    let from: MetricHistory; let to: MetricHistory
    if (f.lag > 0) { from = f.b; to = f.a } else if (f.lag < 0) { from = f.a; to = f.b } else {
      const ab = allowed?.(f.a.component, f.b.component) ?? false
      const ba = allowed?.(f.b.component, f.a.component) ?? false
      if (ab === ba) continue
      if (ab) { from = f.a; to = f.b } else { from = f.b; to = f.a }
    }
    out.push({
      from: from.component,
      to: to.component,
      provenance: 'learned',
      statistic: { method: 'lagged-correlation', fromMetric: `${from.component}:${from.metric}`, toMetric: `${to.component}:${to.metric}`, r: f.r, lag: Math.abs(f.lag), p: f.p, n: f.n }
    })
  }
  return out
}

/** Declared ∪ learned, with provenance `both` where they agree. Learned edges reversing a declared one are kept as learned (evidence to look at). */
export function mergeGraph (declared: DependencyGraph, learned: readonly DependencyEdge[]): DependencyGraph {
  const nodes = new Set(declared.nodes)
  const edges = new Map<string, DependencyEdge>()
  for (const e of declared.edges) edges.set(`${e.from}\u0000${e.to}`, { ...e })
  for (const e of learned) {
    nodes.add(e.from); nodes.add(e.to)
    const k = `${e.from}\u0000${e.to}`
    const have = edges.get(k)
    if (have == null) edges.set(k, { ...e, provenance: 'learned' })
    else edges.set(k, { ...have, provenance: have.provenance === 'learned' ? 'learned' : 'both', statistic: e.statistic ?? have.statistic })
  }
  checkSize(nodes.size, edges.size)
  return { nodes: [...nodes], edges: [...edges.values()] }
}

/** Adjacency view for traversals. */
export interface GraphIndex {
  /** component → components it depends on (callees: possible causes). */
  dependencies: Map<string, string[]>
  /** component → components depending on it (callers: where its faults show up). */
  dependents: Map<string, string[]>
}

export function indexGraph (g: DependencyGraph): GraphIndex {
  const dependencies = new Map<string, string[]>()
  const dependents = new Map<string, string[]>()
  for (const n of g.nodes) { dependencies.set(n, []); dependents.set(n, []) }
  for (const e of g.edges) {
    (dependencies.get(e.from) ?? dependencies.set(e.from, []).get(e.from))!.push(e.to);
    (dependents.get(e.to) ?? dependents.set(e.to, []).get(e.to))!.push(e.from)
  }
  return { dependencies, dependents }
}

/** Components reachable from `start` following `next` (excluding start unless on a cycle). */
export function reachable (next: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>()
  const stack = [...(next.get(start) ?? [])]
  while (stack.length > 0) {
    const n = stack.pop() as string
    if (seen.has(n)) continue
    seen.add(n)
    for (const m of next.get(n) ?? []) if (!seen.has(m)) stack.push(m)
  }
  return seen
}
