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
