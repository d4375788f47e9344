// The diagnosis entry point: incident (+ remote anomalies, recoveries in
// progress, optional metric windows) → Diagnosis. Pure function of records.
import type { Anomaly, Diagnosis, Incident, RootCauseCandidate } from '@homeostat/interface'
import { LIMITS, anomalySchema } from '@homeostat/interface'
import { decode as decodeHlc } from '@homeostat/hlc'
import { rankFromAnomalies, type AnomalyRankOptions } from './anomaly-rank.ts'
import { DiagnosisInputError } from './errors.ts'
import type { DependencyGraph } from './graph.ts'
import { rankRootCauses, type RankOptions, type SeriesInput } from './rank.ts'
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
  if (input.metrics != null) {
    const tm = input.metrics.target ?? { component: target, metric: remaining.find((a) => a.component === target)?.metric ?? anomalies.find((a) => a.component === target)?.metric ?? '' }
    const r = rankRootCauses({
      graph,
      target: tm,
      series: input.metrics.series,
      ...(input.metrics.direction != null ? { direction: input.metrics.direction } : {}),
      ...(input.metrics.minScale != null ? { minScale: input.metrics.minScale } : {}),
      ...(input.metrics.incidentRows != null ? { incidentRows: input.metrics.incidentRows } : {}),
      anomalies: remaining
    }, options.rank)
    candidates = r.candidates.map((c) => ({
      component: c.component,
      score: c.score,
      confidence: c.confidence,
      explanation: clip(c.explanation),
      evidence: [
        `share of ${tm.component} ${tm.metric} excess: ${(c.evidence.share * 100).toFixed(0)}%`,
        `own deviation z=${c.evidence.ownZ.toFixed(1)} (${c.evidence.mechanism})`,
        c.evidence.order < 1 ? 'first anomaly after the target\'s' : 'first anomaly not after the target\'s'
      ]
    }))
    notes.push(`metric attribution over ${r.considered} components (incident rows ${r.incidentRows.join(',')})`)
  } else {
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

  const parts: string[] = []
  if (candidates.length > 0) {
    const top = candidates[0]
    parts.push(`most likely root cause of ${target}: ${top.component} (confidence ${top.confidence.toFixed(2)}) — ${top.explanation}`)
  } else {
    parts.push(`no root-cause candidate for ${target}: its anomalies are ${attributed.length > 0 ? 'explained by recovery in progress' : 'absent'}`)
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
