export { HomeostatError, ValidationError, TooLargeError } from './errors.ts'
export { LIMITS } from './limits.ts'
export {
  type Envelope,
  ENVELOPE_VERSION,
  envelopeSchema,
  formatIssues,
  parseWith,
  encodeEnvelope,
  decodeEnvelope,
  envelopeTime
} from './envelope.ts'
export * from './records.ts'
export * from './policy.ts'
export * from './planner.ts'
export * from './random.ts'
export * from './liveness.ts'
export type { Tuning, TuningOverrides } from './tuning.ts'
export { realTimers, sleepOn, every, type Timers, type Clock } from './time.ts'
export { backoffDelayMs, type BackoffOptions } from './backoff.ts'
export { silentLogger, type Logger } from './logger.ts'
export { componentSchema, probeSchema, resolveArtifact, previousArtifactVersion, type ComponentSpec, type ComponentInput, type ProbeSpec, type ProbeInput } from './component.ts'
export * from './wire.ts'
