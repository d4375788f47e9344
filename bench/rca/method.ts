// Turns one PetShop issue into @homeostat/diagnosis input and runs it. Sees
// only the metrics, the call graph, normal-operation metrics when present,
// and the target node/metric — never the root cause.
import { encode as encodeHlc } from '@homeostat/hlc'
import type { Anomaly, Diagnosis, Incident } from '@homeostat/interface'
import { HISTORY_DEFAULTS, declaredGraph, diagnose, indexGraph, learnEdges, mergeGraph, rankRootCauses, reachable, summarizeNormal, type DependencyGraph, type NormalSummary, type RankOptions, type RankResult, type SeriesInput } from '@homeostat/diagnosis'
import { key, type Issue, type MetricTable, type Scenario } from './petshop.ts'
import { createAgentDiagnosis } from '../../agent/src/loops/micro/diagnosis.ts'

/** Units-only noise floors (not tuned): 1 ms of latency, half a percentage point of availability. */
const MIN_SCALE: Record<string, number> = { latency: 0.001, availability: 0.5 }

export function graphOf (s: Scenario): DependencyGraph {
  const deps = new Map<string, string[]>()
  for (const n of s.graph.nodes) deps.set(n, [])
  for (const [caller, callee] of s.graph.calls) deps.get(caller)?.push(callee)
  return declaredGraph([...deps].map(([name, dependsOn]) => ({ name, dependsOn })))
}

/** Bad-direction transform: latency as is; availability → unavailability (100 − %). */
function transform (metric: string, xs: ReadonlyArray<number | null> | undefined): Array<number | null> | undefined {
  if (xs == null) return undefined
  return metric === 'availability' ? xs.map((x) => x == null ? null : 100 - x) : [...xs]
}

/**
 * Normal-operation summaries per component and metric, computed once per
 * scenario (as an agent keeps running baselines), not per incident.
 */
export type Baselines = Map<string, NormalSummary>

const cache = new WeakMap<MetricTable, Map<string, Baselines>>()

export function baselinesFor (nodes: readonly string[], metric: string, normal: MetricTable | null): Baselines {
  const out: Baselines = new Map()
  if (normal == null) return out
  const per = cache.get(normal) ?? new Map<string, Baselines>()
  cache.set(normal, per)
  const have = per.get(metric)
  if (have != null) return have
  for (const c of nodes) {
    const nrm = transform(metric, normal.columns.get(key(c, metric, 'Average')))
    if (nrm != null) out.set(c, summarizeNormal(nrm, 'up'))
  }
  per.set(metric, out)
  return out
}

export function seriesFor (nodes: readonly string[], metric: string, table: MetricTable, baselines: Baselines): SeriesInput[] {
  const out: SeriesInput[] = []
  for (const c of nodes) {
    const values = transform(metric, table.columns.get(key(c, metric, 'Average')))
    if (values == null) continue
    const load = table.columns.get(key(c, 'requests', 'Sum'))
    const b = baselines.get(c)
    out.push({ component: c, metric, values, ...(load != null ? { load } : {}), ...(b != null ? { baseline: b } : {}) })
  }
  return out
}

/**
 * A plain detector standing in for the monitor: per component, the first row
 * whose value is > 3 noise scales above the baseline (normal history if
 * present, else the window's first row) becomes an Anomaly stamped with an HLC
 * at that row's time. The ranking uses these only for happens-before order.
 */
export function detect (series: readonly SeriesInput[], timesSec: readonly number[], node: string): Anomaly[] {
  const out: Anomaly[] = []
  for (const s of series) {
    const b = s.baseline != null && s.baseline.n >= 30 ? s.baseline : null
    const base = b != null ? b.median : s.values.find((x) => x != null) ?? null
    if (base == null) continue
    const noise = b != null ? b.sigma : 0
    const scale = Math.max(noise, 0.05 * Math.abs(base), MIN_SCALE[s.metric] ?? 0, 1e-12)
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]
      if (v == null) continue
      const z = (v - base) / scale
      if (z > 3) {
        const wallMs = Math.round(timesSec[i] * 1000)
        out.push({ id: `${s.component}:${s.metric}:${i}`, node, component: s.component, metric: s.metric, kind: 'metric', score: Math.min(1, z / 10), value: v, hlc: encodeHlc({ wallMs, logical: 0, node }), atMs: wallMs })
        break
      }
    }
  }
  return out
}

/** The incident an agent would open for an issue: on the alerting target, with its own anomalies. */
function incidentOf (s: Scenario, issue: Issue, anomalies: readonly Anomaly[], node: string): Incident {
  return {
    id: `${s.name}/${issue.split}/${issue.name}`,
    node,
    component: issue.target.node,
    targetKind: 'service',
    failureClass: issue.target.metric,
    status: 'open',
    openedAtMs: issue.target.timestampSec * 1000,
    steps: [],
    anomalies: anomalies.filter((a) => a.component === issue.target.node)
  }
}

export interface RunResult { diagnosis: Diagnosis, ranking: string[], ms: number }

export function diagnoseIssue (s: Scenario, graph: DependencyGraph, issue: Issue, rank: RankOptions = {}): RunResult {
  const metric = issue.target.metric
  const baselines = baselinesFor(graph.nodes, metric, s.normal)
  const t0 = performance.now()
  const series = seriesFor(graph.nodes, metric, issue.metrics, baselines)
  const node = 'petshop'
  const anomalies = detect(series, issue.metrics.timesSec, node)
  const alertMs = issue.target.timestampSec * 1000
  const incident = incidentOf(s, issue, anomalies, node)
  const diagnosis = diagnose({
    incident,
    graph,
    hlc: encodeHlc({ wallMs: alertMs, logical: 1, node }),
    anomalies: anomalies.filter((a) => a.component !== issue.target.node),
    metrics: { series, target: { component: issue.target.node, metric }, direction: 'up', minScale: MIN_SCALE[metric] }
  }, { rank })
  const ms = performance.now() - t0
  return { diagnosis, ranking: diagnosis.candidates.map((c) => c.component), ms }
}

/** The full ranking (every candidate with its evidence) and the series, for baselines and ablations. */
export function rankIssue (s: Scenario, graph: DependencyGraph, issue: Issue): { result: RankResult, series: SeriesInput[] } {
  const metric = issue.target.metric
  const series = seriesFor(graph.nodes, metric, issue.metrics, baselinesFor(graph.nodes, metric, s.normal))
  const anomalies = detect(series, issue.metrics.timesSec, 'petshop')
  const result = rankRootCauses({ graph, target: { component: issue.target.node, metric }, series, direction: 'up', minScale: MIN_SCALE[metric], anomalies }, { maxCandidates: 1000 })
  return { result, series }
}

/**
 * Declared call graph merged with edges learned from the scenario's normal
 * operation (latency, requests and availability histories), when it has any.
 * Simultaneous correlations are oriented only along declared reachability.
 */
export function learnedGraphOf (s: Scenario, declared: DependencyGraph): { graph: DependencyGraph, learned: number, confirmed: number, ms: number } {
  const t0 = performance.now()
  if (s.normal == null) return { graph: declared, learned: 0, confirmed: 0, ms: 0 }
  const histories = []
  for (const c of declared.nodes) {
    for (const [m, st] of [['latency', 'Average'], ['requests', 'Sum'], ['availability', 'Average']] as const) {
      const v = s.normal.columns.get(key(c, m, st))
      if (v != null && v.filter((x) => x != null).length >= s.normal.timesSec.length / 2) histories.push({ component: c, metric: m, values: v })
    }
  }
  const { dependencies } = indexGraph(declared)
  const edges = learnEdges(histories, {}, (from, to) => reachable(dependencies, from).has(to))
  const graph = mergeGraph(declared, edges)
  return { graph, learned: edges.length, confirmed: graph.edges.filter((e) => e.provenance === 'both').length, ms: performance.now() - t0 }
}

/**
 * The daemon's path (agent/src/loops/micro/diagnosis.ts, as the micro loop runs it): the agent's
 * series history is fed the scenario's normal operation (older than the incident window) and the
 * issue's rows, each component's target metric in its bad direction plus its requests as load; the
 * incident carries the target's anomalies, the timeline every other anomaly; the diagnosis is asked
 * at the window's last row. Only the dataset's facts are given: its row interval and its units.
 */
export function diagnoseIssueDaemon (s: Scenario, graph: DependencyGraph, issue: Issue): RunResult {
  const metric = issue.target.metric
  const t0 = performance.now()
  const times = issue.metrics.timesSec
  const stepSec = times.length > 1 ? times[1] - times[0] : 300
  const components = graph.nodes.map((name) => ({ name, dependsOn: graph.edges.filter((e) => e.from === name).map((e) => e.to) }))
  const endMs = Math.round(times[times.length - 1] * 1000)
  const node = 'petshop'
  const d = createAgentDiagnosis({
    components,
    stamp: () => encodeHlc({ wallMs: endMs, logical: 1, node }),
    now: () => endMs,
    history: { stepMs: stepSec * 1000, minScale: { [metric]: MIN_SCALE[metric] } }
  })
  const feed = (table: MetricTable, shiftSec: number): void => {
    for (const c of graph.nodes) {
      const v = transform(metric, table.columns.get(key(c, metric, 'Average')))
      const load = table.columns.get(key(c, 'requests', 'Sum'))
      table.timesSec.forEach((t, i) => {
        const atMs = Math.round((t + shiftSec) * 1000)
        const x = v?.[i]
        if (x != null) d.history.record(c, metric, atMs, x)
        const l = load?.[i]
        if (l != null) d.history.record(c, 'requests', atMs, l)
      })
    }
  }
  if (s.normal != null && s.normal.timesSec.length > 0) {
    // Normal operation recorded on another day: older than the incident window (so that it gives the
    // noise scale, and the window's own first rows the level, as they would on the day).
    const gapRows = HISTORY_DEFAULTS.lookbackSteps + 1
    feed(s.normal, times[0] - gapRows * stepSec - s.normal.timesSec[s.normal.timesSec.length - 1])
  }
  feed(issue.metrics, 0)
  const series = seriesFor(graph.nodes, metric, issue.metrics, baselinesFor(graph.nodes, metric, s.normal))
  const anomalies = detect(series, times, node)
  const incident = incidentOf(s, issue, anomalies, node)
  const diagnosis = d.diagnose(incident, { timeline: anomalies.filter((a) => a.component !== issue.target.node) })
  return { diagnosis, ranking: diagnosis.candidates.map((c) => c.component), ms: performance.now() - t0 }
}
