// @homeostat/diagnosis: causal root-cause analysis across components and nodes.
// Pure functions of records; no network, no I/O.
export { DiagnosisInputError } from './errors.ts'
export {
  type DependencyGraph,
  type DependencyEdge,
  type EdgeProvenance,
  type LearnedStatistic,
  type ComponentDeclaration,
  type MetricHistory,
  type LearnOptions,
  type GraphIndex,
  GRAPH_LIMITS,
  LEARN_DEFAULTS,
  declaredGraph,
  learnEdges,
  mergeGraph,
  indexGraph,
  reachable
} from './graph.ts'
export {
  type SeriesInput,
  type RankInput,
  type RankOptions,
  type RankResult,
  type RankedCandidate,
  type CandidateEvidence,
  type NormalSummary,
  summarizeNormal,
  RANK_DEFAULTS,
  rankRootCauses,
  incidentRowsFor
} from './rank.ts'
export {
  type AnomalyCandidate,
  type AnomalyRankOptions,
  ANOMALY_RANK_DEFAULTS,
  rankFromAnomalies
} from './anomaly-rank.ts'
export {
  type RecoveryInProgress,
  type RecoveryAttribution,
  type IndependentGroup,
  type SeparateOptions,
  SEPARATE_DEFAULTS,
  attributeToRecovery,
  independentGroups
} from './separate.ts'
export { type DiagnoseInput, type DiagnoseOptions, type DiagnosisDetails, type InterventionResult, INTERVENTION_DEFAULTS, diagnose, diagnoseDetailed, suggestProbes } from './diagnose.ts'
export * as stats from './stats.ts'
export { type Diagnoser, type DiagnoserInit, type DiagnoserContext, type DiagnoserStats, createDiagnoser } from './diagnoser.ts'
export { type SeriesHistory, type HistoryOptions, type HistoryStats, HISTORY_DEFAULTS, createSeriesHistory } from './history.ts'
