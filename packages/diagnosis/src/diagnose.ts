// The diagnosis entry point: incident (+ remote anomalies, recoveries in
// progress, optional metric windows) → Diagnosis. Pure function of records.
import type { Anomaly, Diagnosis, Incident, RootCauseCandidate } from '@homeostat/interface'
import { LIMITS, anomalySchema } from '@homeostat/interface'
import { decode as decodeHlc } from '@homeostat/hlc'
import { rankFromAnomalies, type AnomalyRankOptions } from './anomaly-rank.ts'
import { DiagnosisInputError } from './errors.ts'
import type { DependencyGraph } from './graph.ts'
import { RANK_DEFAULTS, rankRootCauses, type RankOptions, type SeriesInput } from './rank.ts'
import { attributeToRecovery, independentGroups, type IndependentGroup, type RecoveryAttribution, type RecoveryInProgress, type SeparateOptions } from './separate.ts'

export interface DiagnoseInput {
  incident: Incident
  graph: DependencyGraph
  /** Encoded HLC to stamp the diagnosis with (the caller's clock). */
  hlc: string
  /** Further anomalies (e.g. remote ones that arrived over the mesh), merged with the incident's. */
  anomalies?: readonly Anomaly[]
  /** Recoveries in progress or just finished anywhere, for blip attribution. */
  recoveries?: readonly RecoveryInProgress[]
  /** Direct probes of suspected components (interventional evidence). */
  interventions?: readonly InterventionResult[]
  /** Metric windows: when present, ranking uses counterfactual attribution on them. */
  metrics?: {
    series: readonly SeriesInput[]
    /** Defaults to the incident's component and the metric of its first anomaly there. */
    target?: { component: string, metric: string }
    direction?: 'up' | 'down'
    minScale?: number
    incidentRows?: readonly number[]
  }
}

/**
 * Interventional evidence: the result of probing a suspected component
 * directly (e.g. an HTTP health check or a synthetic request sent to it alone),
 * after the incident began.
 */
export interface InterventionResult {
  component: string
  /** True when the component answered correctly and in time on its own. */
  healthy: boolean
  /** Encoded HLC of the probe; results older than the component's first anomaly are ignored. */
  hlc: string
  detail?: string
}

export const INTERVENTION_DEFAULTS = {
  /** A suspect that passes a direct probe keeps this fraction of its score (it may be intermittent, so not zero). */
  healthyFactor: 0.25,
  /** A suspect that fails a direct probe is confirmed: its score is raised towards 1 by this fraction of the gap. */
  failedBoost: 0.5
} as const

/** Components worth probing: the top candidates while the leader's confidence margin is thin. */
export function suggestProbes (d: Diagnosis, maxProbes = 3, margin = 0.3): string[] {
  const c = d.candidates
  if (c.length === 0) return []
  if (c.length === 1 || c[0].confidence - c[1].confidence >= margin) return c[0].confidence >= 0.8 ? [] : [c[0].component]
  return c.slice(0, maxProbes).map((x) => x.component)
}

export interface DiagnoseOptions {
  rank?: RankOptions
  anomalyRank?: AnomalyRankOptions
  separate?: SeparateOptions
  /** Most anomalies considered (cap for hostile / runaway input). */
  maxAnomalies?: number
}

const DEFAULT_MAX_ANOMALIES = 4 * LIMITS.incidentSteps

function clip (s: string): string { return s.length > LIMITS.textLength ? s.slice(0, LIMITS.textLength - 1) + '…' : s }

export interface DiagnosisDetails {
  diagnosis: Diagnosis
  /** Anomaly records dropped because they failed the schema or carried an undecodable HLC. */
  malformedAnomalies: number
  /** Groups with their root components (Diagnosis keeps only the member lists). */
  groups: IndependentGroup[]
  attributions: RecoveryAttribution[]
}

/** The Diagnosis record (see `diagnoseDetailed` for counts and group roots). */
export function diagnose (input: DiagnoseInput, options: DiagnoseOptions = {}): Diagnosis {
  return diagnoseDetailed(input, options).diagnosis
}

export function diagnoseDetailed (input: DiagnoseInput, options: DiagnoseOptions = {}): DiagnosisDetails {
  const { incident, graph } = input
  const all = [...incident.anomalies, ...(input.anomalies ?? [])]
  const max = options.maxAnomalies ?? DEFAULT_MAX_ANOMALIES
  if (all.length > max) throw new DiagnosisInputError(`${all.length} anomalies, over the ${max} limit`)
  try { decodeHlc(input.hlc) } catch { throw new DiagnosisInputError(`diagnosis hlc ${JSON.stringify(input.hlc)} is not an encoded HLC timestamp`) }
  const seen = new Set<string>()
  let malformed = 0
  const anomalies = all.filter((a) => {
    if (!anomalySchema.safeParse(a).success) { malformed++; return false }
    try { decodeHlc(a.hlc) } catch { malformed++; return false }
    return !seen.has(a.id) && (seen.add(a.id), true)
  })
  const { attributed, remaining } = attributeToRecovery(anomalies, input.recoveries ?? [], graph, options.separate)
  const groups = independentGroups(remaining, graph)
  const target = incident.component

  let candidates: RootCauseCandidate[] = []
  const notes: string[] = []
  let ranked = false
  if (input.metrics != null) {
    try {
      candidates = rankWithMetrics(input.metrics, target, remaining, anomalies, graph, options, notes)
      ranked = true
    } catch (err) {
      // Unusable windows (the target has no values there, a series of another width): rank from anomalies.
      if (!(err instanceof DiagnosisInputError)) throw err
      notes.push(`metric windows unusable (${err.message}): ranked from anomalies`)
    }
  }
  if (!ranked) {
    const r = rankFromAnomalies(remaining, graph, target, options.anomalyRank)
    candidates = r.map((c) => ({
      component: c.component,
      ...(c.node != null ? { node: c.node } : {}),
      score: c.score,
      confidence: c.confidence,
      explanation: clip(c.explanation),
      evidence: c.evidence.map(clip)
    }))
    notes.push(`anomaly-order ranking over ${remaining.length} anomalies`)
  }

  if (input.interventions != null && input.interventions.length > 0) {
    candidates = applyInterventions(candidates, input.interventions, remaining)
    notes.push(`${input.interventions.length} direct probe results applied`)
  }

  const parts: string[] = []
  if (candidates.length > 0) {
    const top = candidates[0]
    parts.push(`most likely root cause of ${target}: ${top.component} (confidence ${top.confidence.toFixed(2)}) — ${top.explanation}`)
  } else {
    parts.push(ranked ? `no clear cause for ${target}` : `no root-cause candidate for ${target}: its anomalies are ${attributed.length > 0 ? 'explained by recovery in progress' : 'absent'}`)
  }
  if (groups.length > 1) parts.push(`${groups.length} independent anomaly groups: ${groups.map((g) => `[${g.roots.join(', ')}]`).join(' ')}`)
  if (attributed.length > 0) parts.push(`${attributed.length} anomalies attributed to recovery (${[...new Set(attributed.map((a) => `${a.recovery.action} ${a.recovery.component}`))].join(', ')})`)
  if (malformed > 0) parts.push(`${malformed} malformed anomaly records ignored`)
  parts.push(...notes)
  const diagnosis: Diagnosis = {
    incidentId: incident.id,
    hlc: input.hlc,
    candidates,
    independentGroups: groups.map((g) => g.components),
    attributedToRecovery: attributed.map((a) => a.anomalyId),
    explanation: clip(parts.join('; '))
  }
  return { diagnosis, malformedAnomalies: malformed, groups, attributions: attributed }
}

function rankWithMetrics (metrics: NonNullable<DiagnoseInput['metrics']>, target: string, remaining: readonly Anomaly[], anomalies: readonly Anomaly[], graph: DependencyGraph, options: DiagnoseOptions, notes: string[]): RootCauseCandidate[] {
  const tm = metrics.target ?? { component: target, metric: remaining.find((a) => a.component === target)?.metric ?? anomalies.find((a) => a.component === target)?.metric ?? '' }
  const r = rankRootCauses({
    graph,
    target: tm,
    series: metrics.series,
    ...(metrics.direction != null ? { direction: metrics.direction } : {}),
    ...(metrics.minScale != null ? { minScale: metrics.minScale } : {}),
    ...(metrics.incidentRows != null ? { incidentRows: metrics.incidentRows } : {}),
    anomalies: remaining
  }, options.rank)
  const nodeOf = new Map<string, string>()
  for (const a of remaining) if (!nodeOf.has(a.component)) nodeOf.set(a.component, a.node)
  notes.push(`metric attribution over ${r.considered} components (incident rows ${r.incidentRows.join(',')})`)
  // Calibration: when the symptom itself is within noise (under the ranker's own significance
  // line), the metrics explain nothing — say so rather than name a component.
  const zLine = options.rank?.zCenter ?? RANK_DEFAULTS.zCenter
  if (!(r.targetZ >= zLine)) {
    notes.push(`no clear cause in the metrics: ${tm.component} ${tm.metric} deviates z=${r.targetZ.toFixed(1)}, under ${zLine}`)
    return []
  }
  return r.candidates.map((c) => ({
    component: c.component,
    ...(nodeOf.has(c.component) ? { node: nodeOf.get(c.component) as string } : {}),
    score: c.score,
    confidence: c.confidence,
    explanation: clip(c.explanation),
    evidence: [
      `share of ${tm.component} ${tm.metric} excess: ${(c.evidence.share * 100).toFixed(0)}%`,
      `own deviation z=${c.evidence.ownZ.toFixed(1)} (${c.evidence.mechanism})`,
      c.evidence.order < 1 ? 'first anomaly after the target\'s' : 'first anomaly not after the target\'s'
    ]
  }))
}

function applyInterventions (candidates: RootCauseCandidate[], results: readonly InterventionResult[], anomalies: readonly Anomaly[]): RootCauseCandidate[] {
  const firstWall = new Map<string, number>()
  for (const a of anomalies) {
    try { const w = decodeHlc(a.hlc).wallMs; if (w < (firstWall.get(a.component) ?? Infinity)) firstWall.set(a.component, w) } catch { /* counted upstream */ }
  }
  const latest = new Map<string, { r: InterventionResult, wallMs: number }>()
  for (const r of results) {
    let wallMs: number
    try { wallMs = decodeHlc(r.hlc).wallMs } catch { continue }
    const have = latest.get(r.component)
    if (have == null || wallMs > have.wallMs) latest.set(r.component, { r, wallMs })
  }
  const out = candidates.map((c) => {
    const p = latest.get(c.component)
    if (p == null || p.wallMs < (firstWall.get(c.component) ?? -Infinity)) return { ...c }
    const score = p.r.healthy ? c.score * INTERVENTION_DEFAULTS.healthyFactor : c.score + (1 - c.score) * INTERVENTION_DEFAULTS.failedBoost
    const line = `direct probe of ${c.component} at ${p.r.hlc}: ${p.r.healthy ? 'healthy (evidence against)' : 'failing (confirms)'}${p.r.detail != null ? ` — ${p.r.detail}` : ''}`
    return { ...c, score, evidence: [...c.evidence, clip(line)].slice(0, LIMITS.evidenceItems), explanation: clip(`${c.explanation}; ${line}`) }
  })
  out.sort((a, b) => b.score - a.score || a.component.localeCompare(b.component))
  const total = out.reduce((s, x) => s + x.score, 0)
  for (const c of out) c.confidence = total > 0 ? Math.min(1, Math.max(0, c.score * c.score / total)) : 0
  return out
}
