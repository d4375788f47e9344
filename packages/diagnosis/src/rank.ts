// Root-cause ranking from metric windows: counterfactual attribution along the
// dependency graph.
//
// For an alerting target T and every component c that T (transitively)
// depends on, we ask two counterfactual questions:
//   1. own deviation: how much of c's deviation remains once the deviations of
//      c's own dependencies are removed? (CIRCA-style regression hypothesis
//      test when normal history allows fitting c ~ deps; otherwise an additive
//      load-weighted mechanism: a caller's excess time / errors are the sum of
//      its callees' excess plus its own.)
//   2. share: if c's own deviation were removed, how much of T's deviation
//      would vanish? (c's own excess × its total effect on T, over T's excess.)
// score = share × significance(own z) × HLC order factor. A root cause is big
// enough to explain the symptom, is not itself explained by something below
// it, stands out of its noise, and did not start after the symptom.
import { compare as compareHlc, compareClock, decode as decodeHlc, type HlcTimestamp } from '@homeostat/hlc'
import type { Anomaly, TuningOverrides } from '@homeostat/interface'
import { DiagnosisInputError } from './errors.ts'
import { indexGraph, reachable, type DependencyGraph } from './graph.ts'
import { clamp01, finiteValues, mean, median, ridgeFit, robustSigma, squash } from './stats.ts'

export interface SeriesInput {
  component: string
  metric: string
  /** The incident window, rows aligned across all series (null = missing). */
  values: ReadonlyArray<number | null>
  /** Per-row load (e.g. requests) of this component in the window; makes deviations extensive (excess × load). */
  load?: ReadonlyArray<number | null>
  /** Normal-operation history of the same metric; rows aligned across series when regression is wanted. */
  normal?: ReadonlyArray<number | null>
  /**
   * Summary of normal operation in the bad direction (see `summarizeNormal`),
   * kept by the caller so it is not recomputed per incident. Used instead of
   * `normal` for the reference level and noise scale when given.
   */
  baseline?: NormalSummary
}

export interface NormalSummary { median: number, sigma: number, n: number }

/** Median and robust σ of a normal history, after the `direction` transform. */
export function summarizeNormal (normal: ReadonlyArray<number | null>, direction: 'up' | 'down' = 'up'): NormalSummary {
  const v = finiteValues(badValues(normal, sign(direction)))
  return { median: median(v), sigma: robustSigma(v), n: v.length }
}

export interface RankInput {
  graph: DependencyGraph
  /** The alerting component and metric whose deviation is to be explained. */
  target: { component: string, metric: string }
  series: readonly SeriesInput[]
  /** Which way is bad for `target.metric` (and for the same metric on other components). Default `up`. */
  direction?: 'up' | 'down'
  /** Smallest noise scale for this metric, in its units (e.g. 1 ms; 0.5 percentage points). */
  minScale?: number
  /** Rows that belong to the incident; by default the rows where the target is at ≥ `incidentFraction` of its peak deviation. */
  incidentRows?: readonly number[]
  /** Anomaly records (any node), for happens-before order between cause and symptom. */
  anomalies?: readonly Anomaly[]
}

export const RANK_DEFAULTS = {
  /** A row is part of the incident when the target's deviation there is at least this fraction of its peak (half-maximum width). */
  incidentFraction: 0.5,
  /** Relative noise floor: deviations under ~5 % of a level are routine jitter for latency/throughput style metrics. */
  relativeFloor: 0.05,
  /** z at which the significance of an own deviation is ½ (3σ: the usual alarm line). */
  zCenter: 3,
  /** Width of the significance ramp, in σ (from ~0.12 at 1σ to ~0.88 at 5σ). */
  zWidth: 1,
  /** Normal rows needed before noise scales / regressions are fitted from normal history. */
  minNormalRows: 30,
  /** Ridge penalty (standardised units) for the per-component regression on its dependencies; small, only to survive collinearity. */
  ridgeLambda: 0.01,
  /** Factor applied to a candidate whose first anomaly happens strictly after the target's (causes precede effects). */
  laterPenalty: 0.5,
  /** Longest dependency path followed when propagating effects (also caps walks around cycles of learned edges). */
  maxDepth: 12,
  /** Candidates returned at most. */
  maxCandidates: 10
} as const

export type RankOptions = TuningOverrides<typeof RANK_DEFAULTS>

/** Per-component evidence the ranking used; all deviations in the "bad" direction. */
export interface CandidateEvidence {
  component: string
  /** Mean deviation over incident rows from the reference level, metric units. */
  deviation: number
  /** deviation / noise scale. */
  z: number
  /** Extensive deviation (deviation × mean load), or the deviation when no load. */
  excess: number
  /** Part of `excess` its dependencies account for. */
  explainedByDependencies: number
  /** excess − explained, ≥ 0. */
  ownExcess: number
  /** z of the own excess. */
  ownZ: number
  /** Total effect of one unit of own excess on the target (1 for the target itself). */
  effectOnTarget: number
  /** Fraction of the target's excess this component's own excess accounts for, [0,1]. */
  share: number
  /** squash(ownZ): how far the own deviation stands out of noise, [0,1]. */
  significance: number
  /** 1, or `laterPenalty` when its first anomaly happens after the target's. */
  order: number
  /** How dependencies' deviations were taken out; `none` when no dependency has data. */
  mechanism: 'additive' | 'regression' | 'none'
  /** Largest explaining dependency and its part. */
  topDependency?: { component: string, part: number }
}

export interface RankedCandidate {
  component: string
  score: number
  confidence: number
  evidence: CandidateEvidence
  explanation: string
}

export interface RankResult {
  candidates: RankedCandidate[]
  incidentRows: number[]
  referenceRows: number[]
  /** Every component the ranking looked at (target and its dependency closure with data). */
  considered: number
  /** How far the target's own metric stands out of its noise in the incident rows (deviation / noise scale). */
  targetZ: number
}

interface Prepared {
  s: SeriesInput
  bad: Array<number | null>
  normalBad: number[] | null
  deviation: number
  scale: number
  z: number
  load: number
  excess: number
}

const sign = (d: 'up' | 'down'): number => d === 'up' ? 1 : -1

function badValues (xs: ReadonlyArray<number | null> | undefined, sg: number): Array<number | null> {
  return (xs ?? []).map((x) => (x == null || !Number.isFinite(x)) ? null : sg * x)
}

/**
 * Incident rows from the target's window: rows at ≥ fraction × peak deviation
 * from `level` (the normal median when known; else the window median, which
 * assumes the fault covers under half the window).
 */
export function incidentRowsFor (targetBad: ReadonlyArray<number | null>, fraction: number, level?: number): number[] {
  const vals = finiteValues(targetBad)
  if (vals.length === 0) return []
  const m = level != null && Number.isFinite(level) ? level : median(vals)
  let peak = -Infinity
  for (const x of targetBad) if (x != null && x - m > peak) peak = x - m
  const rows: number[] = []
  targetBad.forEach((x, i) => { if (x != null && peak > 0 && x - m >= fraction * peak) rows.push(i) })
  if (rows.length === 0) targetBad.forEach((x, i) => { if (x != null && x - m === peak) rows.push(i) })
  return rows
}

function firstAnomalies (anomalies: readonly Anomaly[] | undefined): Map<string, HlcTimestamp> {
  const first = new Map<string, HlcTimestamp>()
  for (const a of anomalies ?? []) {
    let t: HlcTimestamp
    try { t = decodeHlc(a.hlc) } catch { continue }
    const have = first.get(a.component)
    if (have == null || compareHlc(t, have) < 0) first.set(a.component, t)
  }
  return first
}

/** Ranks root-cause candidates for `input.target`. Pure; throws DiagnosisInputError on unusable input. */
export function rankRootCauses (input: RankInput, options: RankOptions = {}): RankResult {
  const o = { ...RANK_DEFAULTS, ...options }
  const sg = sign(input.direction ?? 'up')
  const minScale = input.minScale ?? 0
  const { dependencies } = indexGraph(input.graph)
  const byComp = new Map<string, SeriesInput>()
  for (const s of input.series) {
    if (s.metric !== input.target.metric) continue
    if (!byComp.has(s.component)) byComp.set(s.component, s)
  }
  const targetSeries = byComp.get(input.target.component)
  if (targetSeries == null) throw new DiagnosisInputError(`no ${input.target.metric} series for target ${input.target.component}`)
  const width = targetSeries.values.length
  for (const s of byComp.values()) {
    if (s.values.length !== width) throw new DiagnosisInputError(`series ${s.component}:${s.metric} has ${s.values.length} rows, the target has ${width}`)
    if (s.load != null && s.load.length !== width) throw new DiagnosisInputError(`load of ${s.component}:${s.metric} has ${s.load.length} rows, expected ${width}`)
  }
  const targetBad = badValues(targetSeries.values, sg)
  const tSummary = targetSeries.baseline ?? (targetSeries.normal != null ? summarizeNormal(targetSeries.normal, input.direction ?? 'up') : null)
  const level = tSummary != null && tSummary.n >= o.minNormalRows ? tSummary.median : undefined
  const incident = input.incidentRows != null ? [...input.incidentRows].filter((i) => i >= 0 && i < width) : incidentRowsFor(targetBad, o.incidentFraction, level)
  if (incident.length === 0) throw new DiagnosisInputError(`target ${input.target.component}:${input.target.metric} has no values in the window`)
  const inc = new Set(incident)
  const reference: number[] = []
  for (let i = 0; i < width; i++) if (!inc.has(i)) reference.push(i)

  const prepared = new Map<string, Prepared>()
  for (const [c, s] of byComp) {
    const bad = badValues(s.values, sg)
    const summary = s.baseline ?? (s.normal != null ? summarizeNormal(s.normal, input.direction ?? 'up') : null)
    const normalOk = summary != null && summary.n >= o.minNormalRows
    const normalBad = s.load == null && s.normal != null && normalOk ? finiteValues(badValues(s.normal, sg)) : null
    const inVals = finiteValues(incident.map((i) => bad[i]))
    const refVals = finiteValues(reference.map((i) => bad[i]))
    if (inVals.length === 0) continue
    let ref: number
    if (refVals.length > 0) ref = median(refVals)
    else if (normalOk) ref = summary.median
    else continue
    const deviation = mean(inVals) - ref
    let noise = 0
    if (normalOk) noise = summary.sigma
    // Without normal history, the window's reference rows give the noise: robustly (a cause's early
    // deviation, which precedes the symptom's rows, must not pass for noise), half the range on 2 rows.
    else if (refVals.length >= 3) noise = robustSigma(refVals)
    else if (refVals.length === 2) noise = (Math.max(...refVals) - Math.min(...refVals)) / 2
    const scale = Math.max(noise, o.relativeFloor * Math.abs(ref), minScale, 1e-12)
    const loads = s.load != null ? finiteValues(incident.map((i) => s.load?.[i] ?? null)) : []
    const load = loads.length > 0 ? Math.max(0, mean(loads)) : 1
    prepared.set(c, { s, bad, normalBad, deviation, scale, z: deviation / scale, load, excess: deviation * load })
  }
  const T = prepared.get(input.target.component)
  if (T == null) throw new DiagnosisInputError(`target ${input.target.component} has no usable rows`)

  // Candidates: the target and everything it depends on, transitively, that has data.
  const closure = reachable(dependencies, input.target.component)
  const candidates = [input.target.component, ...[...closure].filter((c) => c !== input.target.component && prepared.has(c))]
  const sig = (z: number): number => squash(z, o.zCenter, o.zWidth)

  // Mechanism per component: regression on its dependencies when normal history allows, else additive.
  const coef = new Map<string, Map<string, number>>() // c → (dep → coefficient in excess units)
  const residualScale = new Map<string, number>()
  const mech = new Map<string, 'additive' | 'regression' | 'none'>()
  for (const c of new Set([...candidates, ...closure])) {
    const p = prepared.get(c)
    if (p == null) continue
    const deps = (dependencies.get(c) ?? []).filter((d) => prepared.has(d))
    const m = new Map<string, number>()
    // A regression needs its regressors to vary in the normal history: a dependency that sat on one
    // value (a failure rate of 0 all along) says nothing about its effect, and the additive
    // mechanism (a caller's excess = its callees' + its own) applies instead.
    const varies = (xs: ReadonlyArray<number | null> | undefined): boolean => { const v = finiteValues(xs ?? []); return v.length > 1 && Math.max(...v) > Math.min(...v) }
    const canRegress = p.s.load == null && p.normalBad != null && deps.length > 0 &&
      deps.every((d) => { const q = prepared.get(d) as Prepared; return q.s.load == null && q.s.normal != null && q.s.normal.length === (p.s.normal as ReadonlyArray<number | null>).length && varies(q.s.normal) })
    let fit = null
    if (canRegress) {
      fit = ridgeFit(deps.map((d) => badValues(prepared.get(d)?.s.normal, sg)), badValues(p.s.normal, sg), o.ridgeLambda)
    }
    if (deps.length === 0) {
      mech.set(c, 'none')
    } else if (fit != null) {
      deps.forEach((d, j) => m.set(d, fit.coefficients[j]))
      residualScale.set(c, Math.max(fit.residualSigma, minScale, 1e-12))
      mech.set(c, 'regression')
    } else {
      for (const d of deps) m.set(d, 1)
      mech.set(c, 'additive')
    }
    coef.set(c, m)
  }

  // Total effect on T of one unit of own excess at each component, walking
  // down from T. Regression steps multiply coefficients and sum over paths
  // (linear total effect); additive steps pass the excess through unchanged
  // but at most once (a callee's excess splits across the paths to T).
  const effReg = new Map<string, number>()
  const effAdd = new Map<string, number>()
  let frontier = new Map<string, number>([[input.target.component, 1]])
  for (let depth = 0; depth < o.maxDepth && frontier.size > 0; depth++) {
    const nextReg = new Map<string, number>()
    const nextAdd = new Map<string, number>()
    for (const [n, w] of frontier) {
      const additive = mech.get(n) === 'additive'
      for (const [d, b] of coef.get(n) ?? []) {
        if (additive) nextAdd.set(d, Math.max(nextAdd.get(d) ?? -Infinity, w))
        else nextReg.set(d, (nextReg.get(d) ?? 0) + w * b)
      }
    }
    const next = new Map<string, number>()
    for (const [d, w] of nextReg) { effReg.set(d, (effReg.get(d) ?? 0) + w); next.set(d, w) }
    for (const [d, w] of nextAdd) { effAdd.set(d, Math.max(effAdd.get(d) ?? -Infinity, w)); next.set(d, (next.get(d) ?? 0) + w) }
    for (const [d, w] of next) if (Math.abs(w) < 1e-9) next.delete(d)
    frontier = next
  }
  const effect = (c: string): number => (effReg.get(c) ?? 0) + (effAdd.has(c) ? Math.min(1, effAdd.get(c) as number) : 0)

  const first = firstAnomalies(input.anomalies)
  const tFirst = first.get(input.target.component)
  const evidence: CandidateEvidence[] = []
  for (const c of candidates) {
    const p = prepared.get(c)
    if (p == null) continue
    let explained = 0
    let top: { component: string, part: number } | undefined
    for (const [d, b] of coef.get(c) ?? []) {
      const q = prepared.get(d) as Prepared
      const part = mech.get(c) === 'regression'
        ? b * q.deviation * sig(q.z)
        : Math.max(0, q.excess) * sig(q.z)
      explained += part
      if (top == null || part > top.part) top = { component: d, part }
    }
    const ownExcess = Math.max(0, p.excess - Math.max(0, explained))
    const ownScale = mech.get(c) === 'regression' ? (residualScale.get(c) as number) : p.scale * p.load
    const ownZ = ownScale > 0 ? ownExcess / ownScale : 0
    const eff = c === input.target.component ? 1 : effect(c)
    const share = T.excess > 0 ? clamp01(ownExcess * eff / T.excess) : 0
    let order = 1
    const cf = first.get(c)
    if (c !== input.target.component && cf != null && tFirst != null && compareClock(cf, tFirst) > 0) order = o.laterPenalty
    evidence.push({
      component: c,
      deviation: p.deviation,
      z: p.z,
      excess: p.excess,
      explainedByDependencies: Math.max(0, explained),
      ownExcess,
      ownZ,
      effectOnTarget: eff,
      share,
      significance: sig(ownZ),
      order,
      mechanism: mech.get(c) ?? 'additive',
      ...(top != null && top.part > 0 ? { topDependency: top } : {})
    })
  }
  const scored = evidence.map((e) => ({ e, score: e.share * e.significance * e.order }))
  scored.sort((a, b) => b.score - a.score || b.e.ownZ - a.e.ownZ || a.e.component.localeCompare(b.e.component))
  const total = scored.reduce((s, x) => s + x.score, 0)
  const ranked: RankedCandidate[] = scored.slice(0, o.maxCandidates).map(({ e, score }) => ({
    component: e.component,
    score,
    confidence: total > 0 ? clamp01(score * score / total) : 0,
    evidence: e,
    explanation: explain(e, input.target, T)
  }))
  return { candidates: ranked, incidentRows: incident, referenceRows: reference, considered: evidence.length, targetZ: T.z }
}

function fmt (x: number): string {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  return a !== 0 && (a < 0.01 || a >= 1e5) ? x.toExponential(2) : x.toFixed(a < 1 ? 3 : 1)
}

function explain (e: CandidateEvidence, target: { component: string, metric: string }, T: Prepared): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`
  const parts: string[] = []
  if (e.component === target.component) {
    parts.push(`${e.component} ${target.metric} deviates ${fmt(e.deviation)} (z=${fmt(e.z)}); ${pct(e.share)} of it is not accounted for by its dependencies`)
  } else {
    parts.push(`${e.component} ${target.metric} deviates ${fmt(e.deviation)} (z=${fmt(e.z)}) and its own part accounts for ${pct(e.share)} of ${target.component}'s excess ${fmt(T.excess)}`)
  }
  if (e.topDependency != null && e.excess > 0) parts.push(`dependencies explain ${pct(Math.min(1, e.explainedByDependencies / e.excess))} (most: ${e.topDependency.component})`)
  else parts.push('no anomalous dependency below it')
  if (e.mechanism !== 'none') parts.push(e.mechanism === 'regression' ? 'mechanism: regression on dependencies fitted on normal history' : 'mechanism: additive load-weighted propagation')
  if (e.order < 1) parts.push('its first anomaly happens after the target\'s (penalised)')
  return parts.join('; ')
}
