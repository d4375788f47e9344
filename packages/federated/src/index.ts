export { type Dataset, type SplitOptions, type FederatedSplit, IMAGE_SIZE, CLASSES, loadMnist, subset, splitNonIid } from './data.ts'
export { PARAMETER_COUNT, MAX_HIDDEN_UNITS, createParameters, parameterCount, hiddenUnitsOf, initialParameters, train, evaluate, l2Norm, isFiniteVector, type TrainOptions, type TrainResult, type Evaluation } from './model.ts'
export { QUANT_BLOCK, quantize8, dequantize8, quantizedByteLength } from './quantize.ts'
export {
  type Contribution, type ContributionHeader, type DecodedContribution, type DeltaEncoding, type CreateContributionInit,
  contributionId, createContribution, encodeContribution, decodeContribution
} from './contribution.ts'
export { ContributionError, CheckpointError, type RejectReason } from './errors.ts'
export { MERGE_DEFAULTS, mergeModel, foldable, contributionOrder, type MergeOptions, type MergeBase, type MergeResult, type Rejection, type RoundSummary } from './merge.ts'
export {
  type ModelCheckpoint, type ParameterBounds, createCheckpoint, encodeCheckpoint, decodeCheckpoint, checkpointHash,
  validateCheckpoint, learnBounds
} from './checkpoint.ts'
export { type FoldedRounds, EMPTY_FOLDED, FOLDED_LIMITS, foldedWith, foldedHas, foldedCount, foldedRuns, parseContributionId } from './folded.ts'
export { CHECKPOINT_DIR_DEFAULTS, checkpointDir, type CheckpointDir } from './checkpoint-file.ts'
export { STORE_CHECKPOINT_DEFAULTS, storeCheckpointDir, importLegacyCheckpointDir, type StoreCheckpointOptions } from './checkpoint-store.ts'
export { createFederatedState, type FederatedState, type FederatedStateInit, type FederatedStats } from './state.ts'
export {
  TRAINING_HEALTH_DEFAULTS, LR_CONTROLLER_DEFAULTS, createTrainingHealth, createLrController,
  type TrainingHealth, type TrainingSignal, type RoundObservation, type LrController
} from './health.ts'
export { TRAINER_DEFAULTS, createEdgeTrainer, type EdgeTrainer, type TrainerInit, type RoundReport } from './trainer.ts'
export { CANARY_DEFAULTS, createCanary, type Canary, type CanaryDecision } from './canary.ts'
export { REPLICATION_PROTOCOL, REPLICATION_DEFAULTS, createCheckpointReplicator, type CheckpointReplicator, type CheckpointReplicatorInit } from './replication.ts'
export {
  FEDERATED_SERVICE_DEFAULTS, createFederatedService, type FederatedService, type FederatedServiceInit, type FederatedStatus,
  type FederatedEvent, type ServiceTimers
} from './service.ts'
export type { Tunable } from './tunable.ts'
