export {
  createMicroLoop,
  worsened,
  type MicroLoop,
  type MicroLoopOptions,
  type MicroSupervisor,
  type MicroProbes,
  type MicroEvents,
  type MicroStats,
  type AnomalyReport,
  type AnomalySource,
  type DiagnoseContext,
  type ClassVerifier,
  type Measure,
  type Observation,
  type MicroProbeStatus
} from './loop.ts'
export { createHolds, retryDelayMs, HOLD_DEFAULTS, type Hold, type Holds, type HoldTuning, type WaitingFor } from './holds.ts'
export { supervisionGaps, shouldRun, completed, type ComponentSnapshot, type GapContext } from './watchdog.ts'
export { MICRO_DEFAULTS } from './defaults.ts'
export { classifyExit, classifyProbe } from './classify.ts'
export { createIncidentLog, type IncidentLog } from './incidents.ts'
export { createResourceWatch, RESOURCE_DEFAULTS, type ResourceWatch, type ResourceOptions } from './resources.ts'
