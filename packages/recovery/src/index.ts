export {
  RECOVERY_ERROR_CODES,
  type RecoveryErrorCode,
  RecoveryError,
  ActionTimeoutError,
  VerifyFailedError,
  UnsupportedActionError,
  QuarantinedError,
  RecoveryBusyError,
  UnknownComponentError,
  RecoveryConfigError,
  ActionFailedError,
  errorInfo
} from './errors.ts'
export { type BackoffOptions, backoffDelayMs, countInWindow } from './backoff.ts'
export { type RecoveryDefaults, RECOVERY_DEFAULTS, actionTimeoutMs, verifyTimeoutMs } from './defaults.ts'
export {
  type TargetInfo,
  type RecoveryTarget,
  type VerifyRequest,
  type Verify,
  type StepInput,
  type StepRecorder,
  type Logger,
  silentLogger
} from './target.ts'
export {
  type ArtifactConfig,
  type FallbackConfig,
  type FreeDiskConfig,
  type ThrottleConfig,
  type ComponentRecoveryConfig,
  componentRecoveryConfigSchema,
  parseRecoveryConfig
} from './config.ts'
export { type ActionContext, type ActionEffect, type ActionImpl, type ActionTable } from './actions/types.ts'
export { BUILTIN_ACTIONS } from './actions/index.ts'
export { previousArtifact, rollbackArtifact } from './actions/artifact.ts'
export { cpuMaxLine } from './actions/throttle.ts'
export { selectFilesToFree } from './actions/free-disk.ts'
export { pidAlive } from './actions/process-util.ts'
export {
  type RecoveryOptions,
  type RecoveryStatus,
  type RecoveryResult,
  type RecoveryStats,
  type Recovery,
  createRecovery
} from './executor.ts'
export {
  PLAYBOOK,
  PLAYBOOK_DEFAULTS,
  type PlaybookOptions,
  type Playbook,
  nextPlaybookAction,
  createPlaybook
} from './playbook.ts'
