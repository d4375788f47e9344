// The micro loop's diagnosis, as the daemon runs it (and as bench/rca scores
// it): the diagnoser over the declared dependency graph, fed the loop's
// HLC-ordered anomaly timeline, peers' anomalies (from their incident reports), what is being
// recovered, and metric windows
// from the agent's recent per-component series (probe latency and failures,
// process CPU and RSS), so that ranking uses counterfactual attribution on
// metrics whenever the history holds the incident's component.
import { createDiagnoser, createSeriesHistory, type ComponentDeclaration, type Diagnoser, type DiagnoserContext, type HistoryOptions, type SeriesHistory } from '@homeostat/diagnosis'
import type { Diagnosis, Incident } from '@homeostat/interface'

export interface AgentDiagnosisInit {
  components: readonly ComponentDeclaration[]
  /** Encoded HLC for each diagnosis. */
  stamp: () => string
  /** Wall clock (the end of an incident's metric window). */
  now: () => number
  history?: HistoryOptions
}

export interface AgentDiagnosis {
  readonly history: SeriesHistory
  readonly diagnoser: Diagnoser
  diagnose: (incident: Incident, context: Pick<DiagnoserContext, 'timeline' | 'recovering' | 'remote'>) => Diagnosis
}

export function createAgentDiagnosis (init: AgentDiagnosisInit): AgentDiagnosis {
  const history = createSeriesHistory(init.history)
  const diagnoser = createDiagnoser({
    components: init.components,
    stamp: init.stamp,
    metrics: (incident) => history.metricsFor(incident, init.now())
  })
  return {
    history,
    diagnoser,
    diagnose: (incident, context) => diagnoser.diagnose(incident, { timeline: context.timeline, ...(context.recovering != null ? { recovering: context.recovering } : {}), ...(context.remote != null && context.remote.length > 0 ? { remote: context.remote } : {}) })
  }
}
