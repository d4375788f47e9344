// What recovery needs from the thing that runs workloads. The monitor's
// supervisor satisfies it structurally; recovery never reaches past it.
import type { ActionKind, Incident, IncidentStep } from '@homeostat/interface'

/** The parts of a component's state recovery reads. */
export interface TargetInfo {
  name: string
  pid?: number | null
  /** e.g. `running`, `starting`, `stopped`, `crashed`, `quarantined`. */
  state: string
  restarts?: number
  startedAtMs?: number | null
  /**
   * The component's spec as the supervisor holds it (the monitor's
   * ComponentSpec): `artifact`, `fallback` and `limits` are read from it, and
   * its old values are kept to undo `updateSpec`.
   */
  spec?: object
}

/**
 * A supervisor-like target. Methods may be sync or async; recovery awaits them
 * under its own timeout.
 */
export interface RecoveryTarget {
  startComponent: (name: string) => unknown
  stopComponent: (name: string, options?: { graceMs?: number }) => unknown
  restartComponent: (name: string, options?: { graceMs?: number }) => unknown
  /** Signals the component's process (group); `reason` is recorded with its exit. */
  signal: (name: string, sig: NodeJS.Signals, reason?: string) => unknown
  /** May throw (or return undefined) for an unknown component. */
  info: (name: string) => TargetInfo | undefined
  updateSpec: (name: string, patch: Record<string, unknown>) => unknown
  quarantine: (name: string, reason?: string) => unknown
  /**
   * Hold the component's process group to `cores` of CPU by duty cycle
   * (SIGSTOP/SIGCONT) until unlimitCpu, its exit or the supervisor's stop.
   * The throttle action's last method, when no cgroup cpu controller is
   * writable. Undefined when it cannot (no running process).
   */
  limitCpu?: (name: string, cores: number) => { method: 'duty-cycle', periodMs: number } | undefined
  /** Lifts limitCpu's limit (the group is left running); a no-op when there is none. */
  unlimitCpu?: (name: string) => void
}

export interface VerifyRequest {
  component: string
  action: ActionKind
  incident: Incident
  /** 1 for the first check after the action, then 2, 3… */
  check: number
}

/** True when the component is healthy again (for this incident's failure class). */
export type Verify = (request: VerifyRequest) => Promise<boolean> | boolean

/** A step as recovery produces it; the recorder stamps `hlc` and `atMs`. */
export interface StepInput {
  kind: IncidentStep['kind']
  summary: string
  evidence?: string[]
  data?: Record<string, unknown>
}

/**
 * Appends a step to an incident and returns the stamped step. The monitor's
 * IncidentManager (or anything holding incidents) sits behind it.
 */
export type StepRecorder = (incidentId: string, step: StepInput) => Promise<IncidentStep> | IncidentStep

export { silentLogger, type Logger } from '@homeostat/interface'
