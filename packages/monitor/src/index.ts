export {
  probeSchema,
  componentSchema,
  parseComponents,
  parseComponent,
  formatPath,
  startOrder,
  resolveArtifact,
  previousArtifactVersion,
  ConfigError,
  type ComponentSpec,
  type ComponentInput,
  type ProbeSpec,
  type ProbeInput
} from './config.ts'
export { createLineRing, type LineRing } from './ring.ts'
export { backoffDelayMs, isCrashLoop, type BackoffOptions } from './backoff.ts'
export { Emitter, silentLogger, realScheduler, type Logger, type Scheduler, type Unsubscribe } from './events.ts'
export {
  createSupervisor,
  SUPERVISOR_DEFAULTS,
  SupervisorError,
  type Supervisor,
  type SupervisorOptions,
  type SupervisorEvents,
  type ComponentInfo,
  type ComponentState,
  type ExitInfo,
  type StopOptions,
  type Tail
} from './supervisor.ts'
