export { type Rng, createRng, seedFromString } from './prng.ts'
export {
  type BetaPrior, type NormalGammaPrior, type ScalarEvidence,
  betaMean, betaVariance, betaPosterior, normalGammaPosterior, normalGammaFromGuess,
  predictiveUpper, predictiveVariance, sampleMean, observe, emptyEvidence, weakenBeta, weakenNormalGamma
} from './posterior.ts'
export {
  type CellPrior, type CellState, type CellView, type OutcomeDraw, type OutcomeStats, type OutcomeStatsOptions,
  type CostDimension, COST_DIMENSIONS, OUTCOME_STATS_DEFAULTS, createOutcomeStats, zeroCost
} from './outcome-stats.ts'
export {
  type FailureEvent, type RecoveryEvent, type HistoryFeatures, type FailureHistory, type FailureHistoryOptions,
  type Decayed, type HistorySnapshot, HISTORY_DEFAULTS, createFailureHistory, decayTo, bump, ratePerHour
} from './history.ts'
export {
  type CrashLoop, type TriggerRule, type TimeOfDayPattern, type PatternReport, type PatternOptions,
  PATTERN_DEFAULTS, findCrashLoops, findTriggers, findTimeOfDay, minePatterns
} from './patterns.ts'
export {
  type AdaptiveBudget, type AdaptiveBudgetOptions, ADAPTIVE_BUDGET_DEFAULTS, ADAPTIVE_FEATURE_NAMES,
  adaptiveFeatures, createAdaptiveBudget
} from './adaptive-budget.ts'
export {
  type PriorEntry, type PriorsDocument, type ImportOptions, PRIORS_FORMAT, PRIORS_VERSION, MAX_PRIOR_ENTRIES,
  priorsDocumentSchema, priorEntrySchema, exportPriors, importPriors, parsePriors
} from './priors.ts'
export {
  type JsonStore, type StoreJsonStoreOptions, STORE_JSON_DEFAULTS,
  createMemoryJsonStore, createStoreJsonStore, importLegacyJsonDir, createFileJsonStore
} from './store.ts'
export { type Learning, type LearningOptions, type LearningState, type LoadResult, STATE_FORMAT, STATE_VERSION, createLearning } from './learning.ts'
export { LearningError } from './errors.ts'
