// Root-cause ranking from anomaly records alone (no metric windows): what the
// agent has when only detectors' verdicts arrived, e.g. from remote nodes.
// Combines anomaly strength, coverage (how many anomalous components the
// candidate's fault would explain), HLC order (a cause's first anomaly
// happens-before its effects'), and a MicroRCA-style personalised random walk
// on the anomalous subgraph from the symptom towards its dependencies.
import { compare as compareHlc, compareClock, decode as decodeHlc, type HlcTimestamp } from '@homeostat/hlc'
import type { Anomaly, TuningOverrides } from '@homeostat/interface'
import { indexGraph, reachable, type DependencyGraph } from './graph.ts'
import { clamp01 } from './stats.ts'

export const ANOMALY_RANK_DEFAULTS = {
  /** Factor for a candidate whose first anomaly is after the target's. */
  laterPenalty: 0.5,
  /** How much an earlier (or concurrent) anomalous dependency discounts a candidate: it is probably a victim. */
  victimDiscount: 0.8,
  /** Random-walk restart probability (PageRank damping 0.85, as MicroRCA). */
  restart: 0.15,
  /** Power iterations for the walk; converges in a few dozen on graphs of this size. */
  iterations: 50,
  /** Weight of the random-walk score vs the structural score (the walk breaks ties, structure decides). */
  walkWeight: 0.3,
  maxCandidates: 10
} as const

export type AnomalyRankOptions = TuningOverrides<typeof ANOMALY_RANK_DEFAULTS>

export interface AnomalyCandidate {
  component: string
  node?: string
  score: number
  confidence: number
  strength: number
  coverage: number
  own: number
  order: number
  walk: number
  evidence: string[]
  explanation: string
}

interface First { t: HlcTimestamp, a: Anomaly, strength: number }

export function rankFromAnomalies (anomalies: readonly Anomaly[], graph: DependencyGraph, target: string, options: AnomalyRankOptions = {}): AnomalyCandidate[] {
  const o = { ...ANOMALY_RANK_DEFAULTS, ...options }
  const { dependencies, dependents } = indexGraph(graph)
  const first = new Map<string, First>()
  for (const a of anomalies) {
    let t: HlcTimestamp
    try { t = decodeHlc(a.hlc) } catch { continue }
    const have = first.get(a.component)
    const strength = Math.max(have?.strength ?? 0, clamp01(a.score))
    if (have == null || compareHlc(t, have.t) < 0) first.set(a.component, { t, a, strength })
    else have.strength = strength
  }
  const anomalous = new Set(first.keys())
  const closure = reachable(dependencies, target)
  const cands = [target, ...[...closure].filter((c) => anomalous.has(c) && c !== target)]
  if (!anomalous.has(target) && cands.length === 1) return []
  const tFirst = first.get(target)

  // Personalised random walk on the anomalous subgraph (+ target): from each
  // node, step to its anomalous dependencies in proportion to their strength,
  // or stay (self-loop weighted by own strength); restart at anomalous nodes.
  const nodes = [...new Set([target, ...cands])]
  const idx = new Map(nodes.map((n, i) => [n, i]))
  const pers = nodes.map((n) => first.get(n)?.strength ?? 0)
  const ps = pers.reduce((s, x) => s + x, 0) || 1
  let pr = pers.map((x) => x / ps)
  for (let it = 0; it < o.iterations; it++) {
    const next = new Array<number>(nodes.length).fill(0)
    nodes.forEach((n, i) => {
      const outs = (dependencies.get(n) ?? []).filter((d) => idx.has(d))
      const self = first.get(n)?.strength ?? 0
      const ws = outs.map((d) => first.get(d)?.strength ?? 0)
      const tot = self + ws.reduce((s, x) => s + x, 0)
      if (tot <= 0) { next[i] += pr[i]; return }
      next[i] += pr[i] * self / tot
      outs.forEach((d, k) => { next[idx.get(d) as number] += pr[i] * ws[k] / tot })
    })
    pr = next.map((x, i) => (1 - o.restart) * x + o.restart * pers[i] / ps)
  }
  const prMax = Math.max(...pr, 1e-12)

  const out: AnomalyCandidate[] = []
  for (const c of cands) {
    const f = first.get(c)
    if (f == null) continue
    // Coverage: share of anomalous components c's fault would reach (c and its anomalous dependents).
    const up = reachable(dependents, c)
    let covered = 1
    for (const x of anomalous) if (x !== c && up.has(x)) covered++
    const coverage = covered / anomalous.size
    // Victim test: an anomalous dependency whose first anomaly is not later than c's.
    let victimOf: string | null = null
    let own = 1
    for (const d of reachable(dependencies, c)) {
      const fd = first.get(d)
      if (fd == null || d === c) continue
      if (compareClock(fd.t, f.t) <= 0) {
        const disc = 1 - o.victimDiscount * fd.strength
        if (disc < own) { own = disc; victimOf = d }
      }
    }
    const order = c !== target && tFirst != null && compareClock(f.t, tFirst.t) > 0 ? o.laterPenalty : 1
    const walk = pr[idx.get(c) as number] / prMax
    const structural = f.strength * coverage * own * order
    const score = (1 - o.walkWeight) * structural + o.walkWeight * walk * structural ** 0.5
    const evidence = [
      `anomaly ${f.a.id} on ${c} (${f.a.metric}, score ${f.strength.toFixed(2)}) at ${f.a.hlc}`,
      `explains ${covered}/${anomalous.size} anomalous components`,
      victimOf != null ? `dependency ${victimOf} was anomalous no later` : 'no earlier anomalous dependency',
      order < 1 ? `first anomaly after ${target}'s` : `first anomaly not after ${target}'s`
    ]
    out.push({
      component: c,
      ...(f.a.node != null ? { node: f.a.node } : {}),
      score,
      confidence: 0,
      strength: f.strength,
      coverage,
      own,
      order,
      walk,
      evidence,
      explanation: `${c}: anomaly score ${f.strength.toFixed(2)}, would explain ${covered} of ${anomalous.size} anomalous components` +
        (victimOf != null ? `, but ${victimOf} below it was anomalous no later` : ', nothing anomalous below it earlier') +
        (order < 1 ? `; started after ${target}` : '')
    })
  }
  out.sort((a, b) => b.score - a.score || a.component.localeCompare(b.component))
  const total = out.reduce((s, x) => s + x.score, 0)
  for (const c of out) c.confidence = total > 0 ? clamp01(c.score * c.score / total) : 0
  return out.slice(0, o.maxCandidates)
}
