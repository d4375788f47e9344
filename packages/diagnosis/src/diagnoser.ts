// A ready-to-plug diagnoser for the agent's micro loop: holds the dependency
// graph (declared, optionally refined by learned edges), stamps diagnoses with
// the caller's HLC and turns the loop's context (timeline, recovering
// components) into diagnosis input. Still no I/O: everything comes in through
// the init functions.
import { decode as decodeHlc, encode as encodeHlc, type HlcTimestamp } from '@homeostat/hlc'
import type { Anomaly, Diagnosis, Incident } from '@homeostat/interface'
import { DiagnosisInputError } from './errors.ts'
import { diagnoseDetailed, type DiagnoseInput, type DiagnoseOptions, type InterventionResult } from './diagnose.ts'
import { declaredGraph, learnEdges, mergeGraph, indexGraph, reachable, type ComponentDeclaration, type DependencyGraph, type LearnOptions, type MetricHistory } from './graph.ts'
import { SEPARATE_DEFAULTS, type RecoveryInProgress } from './separate.ts'

export interface DiagnoserInit {
  /** Components and their `dependsOn` from config. */
  components: readonly ComponentDeclaration[]
  /** Encoded HLC for each diagnosis (e.g. `() => encode(hlc.now())`). */
  stamp: () => string
  /** Metric windows for an incident, when the agent keeps them (enables counterfactual attribution). */
  metrics?: (incident: Incident) => DiagnoseInput['metrics'] | undefined
  options?: DiagnoseOptions
}

/** What the micro loop passes: its HLC-ordered anomaly timeline and what is being recovered. */
export interface DiagnoserContext {
  timeline: readonly Anomaly[]
  /** Recoveries in progress: full records, or bare component names (taken as started `expectedDurationMs` before now). */
  recovering?: ReadonlyArray<string | RecoveryInProgress>
  /** Remote anomalies that arrived over the mesh. */
  remote?: readonly Anomaly[]
  /** Results of probing suspects directly (see `suggestProbes`). */
  interventions?: readonly InterventionResult[]
}

export interface DiagnoserStats {
  diagnoses: number
  malformedAnomalies: number
  failures: number
  learnedEdges: number
}

export interface Diagnoser {
  diagnose: (incident: Incident, context: DiagnoserContext) => Diagnosis
  /** Refines the graph with edges learned from metric histories; returns how many were learned. */
  learn: (histories: readonly MetricHistory[], options?: LearnOptions) => number
  graph: () => DependencyGraph
  stats: () => DiagnoserStats
}

export function createDiagnoser (init: DiagnoserInit): Diagnoser {
  const declared = declaredGraph(init.components)
  let graph = declared
  const counters: DiagnoserStats = { diagnoses: 0, malformedAnomalies: 0, failures: 0, learnedEdges: 0 }
  const expectedMs = init.options?.separate?.expectedDurationMs ?? SEPARATE_DEFAULTS.expectedDurationMs
  return {
    diagnose (incident, context) {
      try {
        const stamp = init.stamp()
        let now: HlcTimestamp
        try { now = decodeHlc(stamp) } catch { throw new DiagnosisInputError(`stamp ${JSON.stringify(stamp)} is not an encoded HLC timestamp`) }
        const recoveries: RecoveryInProgress[] = (context.recovering ?? []).map((r) => typeof r === 'string'
          ? { component: r, action: 'recovery', startedHlc: encodeHlc({ wallMs: Math.max(0, now.wallMs - expectedMs), logical: 0, node: now.node }) }
          : r)
        const metrics = init.metrics?.(incident)
        const r = diagnoseDetailed({
          incident,
          graph,
          hlc: stamp,
          anomalies: [...context.timeline, ...(context.remote ?? [])],
          recoveries,
          ...(context.interventions != null ? { interventions: context.interventions } : {}),
          ...(metrics != null ? { metrics } : {})
        }, init.options)
        counters.diagnoses++
        counters.malformedAnomalies += r.malformedAnomalies
        return r.diagnosis
      } catch (err) {
        counters.failures++
        throw err
      }
    },
    learn (histories, options) {
      const { dependencies } = indexGraph(declared)
      const edges = learnEdges(histories, options, (from, to) => reachable(dependencies, from).has(to))
      graph = mergeGraph(declared, edges)
      counters.learnedEdges = edges.length
      return edges.length
    },
    graph: () => graph,
    stats: () => ({ ...counters })
  }
}
