// The plain, serialisable records that flow monitor → diagnosis → planner →
// recovery → learning, each stamped with an encoded HLC time (`hlc`).
// Physical `atMs` is kept beside it for humans and for durations on one node;
// ordering across nodes always uses `hlc`.
import { z } from 'zod'
import { LIMITS } from './limits.ts'

const name = z.string().min(1).max(LIMITS.nameLength)
const text = z.string().max(LIMITS.textLength)
const hlc = z.string().min(21).max(20 + LIMITS.peerIdLength)
const finite = z.number().finite()

/** What a failure is about: a supervised workload, the device, a training job… */
export type TargetKind = 'process' | 'service' | 'device' | 'training' | 'node'

/** One measurement. `metric` is a dotted name such as `cpu.util` or `probe.http.latency_ms`. */
export interface Sample {
  metric: string
  component: string
  value: number
  atMs: number
}

export type AnomalyKind = 'metric' | 'probe' | 'predictive' | 'exit' | 'training'

/** A detector's or probe's verdict that something is off. */
export interface Anomaly {
  id: string
  node: string
  component: string
  metric: string
  kind: AnomalyKind
  /** Anomaly score in [0,1]. */
  score: number
  value: number
  hlc: string
  atMs: number
  detail?: string
}

export const anomalySchema = z.object({
  id: name,
  node: z.string().min(1).max(LIMITS.peerIdLength),
  component: name,
  metric: name,
  kind: z.enum(['metric', 'probe', 'predictive', 'exit', 'training']),
  score: z.number().min(0).max(1),
  value: finite,
  hlc,
  atMs: finite,
  detail: text.optional()
}).strict()

export type IncidentStepKind =
  | 'opened' | 'detected' | 'diagnosed' | 'planned' | 'approval' | 'acted'
  | 'verified' | 'recovered' | 'rolled_back' | 'escalated' | 'quarantined' | 'note'

export interface IncidentStep {
  kind: IncidentStepKind
  hlc: string
  atMs: number
  summary: string
  evidence?: string[]
  data?: Record<string, unknown>
}

export const incidentStepSchema = z.object({
  kind: z.enum(['opened', 'detected', 'diagnosed', 'planned', 'approval', 'acted', 'verified', 'recovered', 'rolled_back', 'escalated', 'quarantined', 'note']),
  hlc,
  atMs: finite,
  summary: text,
  evidence: z.array(text).max(LIMITS.evidenceItems).optional(),
  data: z.record(z.string(), z.unknown()).optional()
}).strict()

export type IncidentStatus = 'open' | 'recovering' | 'recovered' | 'escalated' | 'quarantined'

/**
 * One failure from first anomaly to verified recovery (or escalation). MTTR and
 * detection latency are computed from its steps, never estimated.
 */
/**
 * Failure classes in which restarting again and again is a crash loop (the
 * fault survives the restart): past a few in a short window, quarantine
 * instead. Not resource classes (cpu_hog, disk_fill), whose actions differ.
 */
export const RESTART_LOOP_CLASSES: ReadonlySet<string> = new Set(['crash', 'hang', 'unhealthy', 'memory_leak', 'oom', 'unknown', 'bad_artifact'])

/**
 * Actions that cannot remedy a failure class and can make it worse, for every planning engine: the micro
 * loop leaves them out of what a plan may choose. A process that fills its disk or burns its CPU limit
 * does it again after a restart (a restarted `dd` writes its 250 MB again); a command that cannot be
 * spawned, or a probe that cannot run, is not fixed by running the workload again.
 */
export const NOT_A_REMEDY: Readonly<Record<string, readonly ActionKind[]>> = {
  disk_fill: ['restart', 'kill', 'reload', 'rollback'],
  cpu_limit: ['restart', 'kill', 'reload', 'rollback'],
  spawn_error: ['restart', 'kill', 'reload', 'throttle', 'degrade', 'free_disk'],
  probe_error: ['restart', 'kill', 'reload', 'rollback', 'degrade', 'throttle', 'free_disk', 'quarantine']
}

/** When repeated recoveries of one component are a crash loop, for every planning engine (playbook and planner). */
export const CRASH_LOOP_DEFAULTS = {
  /** 5 restarts (incidents): more than a transient fault explains; fewer would quarantine a component during a flaky deploy. */
  maxRestarts: 5,
  /** within 2 minutes: each restart "worked" for a moment, yet the fault survives them all. */
  windowMs: 120_000
} as const

export interface Incident {
  id: string
  node: string
  component: string
  targetKind: TargetKind
  /** e.g. `crash`, `hang`, `memory_leak`, `cpu_hog`, `disk_fill`. */
  failureClass: string
  status: IncidentStatus
  /** Physical time the fault is believed to have begun (first anomaly), ms. */
  openedAtMs: number
  steps: IncidentStep[]
  anomalies: Anomaly[]
}

export const incidentSchema = z.object({
  id: name,
  node: z.string().min(1).max(LIMITS.peerIdLength),
  component: name,
  targetKind: z.enum(['process', 'service', 'device', 'training', 'node']),
  failureClass: name,
  status: z.enum(['open', 'recovering', 'recovered', 'escalated', 'quarantined']),
  openedAtMs: finite,
  steps: z.array(incidentStepSchema).max(LIMITS.incidentSteps),
  anomalies: z.array(anomalySchema).max(LIMITS.incidentSteps)
}).strict()

/** Every recovery action, once: the type, its schema and the traits below derive from this list. */
export const ACTION_KINDS = ['restart', 'kill', 'reload', 'rollback', 'degrade', 'throttle', 'free_disk', 'quarantine', 'relocate', 'escalate', 'none'] as const

/** A recovery action (`escalate`: hand to an operator; `none`: nothing to do). */
export type ActionKind = typeof ACTION_KINDS[number]

export const actionKindSchema = z.enum(ACTION_KINDS, { error: `expected one of ${ACTION_KINDS.join(', ')}` })

export interface ActionTraits {
  /**
   * 0 (harmless) … 1 (may make things worse): the planner weighs it, and above `policy.approvalRiskThreshold`
   * an operator must approve. Priors: a reload is routine; a restart costs a start; a kill loses in-flight
   * work; a rollback or a relocation changes what runs where.
   */
  risk: number
  /** (Re)starts the component's process (its restart history, the crash-loop rule and the disk-start guard count it). */
  startsProcess: boolean
  /** Takes the component down while it runs (disruption time is charged to the budget). */
  disruptive: boolean
  /** Changes the target, so a mesh claims it in the intervention registry first (quarantine is a local stop, decided alone). */
  claimed: boolean
}

/** What each action is, for every engine (playbook, planner, recovery, the micro loop, the approval gate). */
export const ACTION_TRAITS: Readonly<Record<ActionKind, ActionTraits>> = {
  reload: { risk: 0.05, startsProcess: false, disruptive: false, claimed: true },
  restart: { risk: 0.1, startsProcess: true, disruptive: true, claimed: true },
  throttle: { risk: 0.1, startsProcess: false, disruptive: false, claimed: true },
  degrade: { risk: 0.15, startsProcess: true, disruptive: true, claimed: true },
  kill: { risk: 0.2, startsProcess: true, disruptive: true, claimed: true },
  free_disk: { risk: 0.25, startsProcess: false, disruptive: false, claimed: true },
  quarantine: { risk: 0.3, startsProcess: false, disruptive: true, claimed: false },
  rollback: { risk: 0.4, startsProcess: true, disruptive: true, claimed: true },
  relocate: { risk: 0.5, startsProcess: false, disruptive: true, claimed: true },
  escalate: { risk: 0, startsProcess: false, disruptive: false, claimed: false },
  none: { risk: 0, startsProcess: false, disruptive: false, claimed: false }
}

/** The actions with a trait, as a set (e.g. `actionsWhere('startsProcess')`). */
export function actionsWhere (trait: 'startsProcess' | 'disruptive' | 'claimed'): ReadonlySet<ActionKind> {
  return new Set(ACTION_KINDS.filter((a) => ACTION_TRAITS[a][trait]))
}

/** Cost of a recovery in the budget's units; every field ≥ 0. */
export interface CostVector {
  /** CPU time the action consumes, seconds. */
  cpuSeconds: number
  /** Extra memory held during the action, MB. */
  memoryMb: number
  /** Network traffic, KB. */
  bandwidthKb: number
  /** Service disruption, seconds of unavailability. */
  disruptionSeconds: number
}

/** The cost vector's dimensions, in one order everywhere. */
export const COST_DIMENSIONS = ['cpuSeconds', 'memoryMb', 'bandwidthKb', 'disruptionSeconds'] as const satisfies ReadonlyArray<keyof CostVector>

const nonNegative = z.number().min(0).finite()
export const costVectorSchema: z.ZodType<CostVector> = z.object({ cpuSeconds: nonNegative, memoryMb: nonNegative, bandwidthKb: nonNegative, disruptionSeconds: nonNegative }).strict()

export const zeroCost = (): CostVector => ({ cpuSeconds: 0, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 })

export function addCost (a: CostVector, b: CostVector): CostVector {
  return { cpuSeconds: a.cpuSeconds + b.cpuSeconds, memoryMb: a.memoryMb + b.memoryMb, bandwidthKb: a.bandwidthKb + b.bandwidthKb, disruptionSeconds: a.disruptionSeconds + b.disruptionSeconds }
}

export function subCost (a: CostVector, b: CostVector): CostVector {
  return { cpuSeconds: a.cpuSeconds - b.cpuSeconds, memoryMb: a.memoryMb - b.memoryMb, bandwidthKb: a.bandwidthKb - b.bandwidthKb, disruptionSeconds: a.disruptionSeconds - b.disruptionSeconds }
}

export function scaleCost (a: CostVector, k: number): CostVector {
  return { cpuSeconds: a.cpuSeconds * k, memoryMb: a.memoryMb * k, bandwidthKb: a.bandwidthKb * k, disruptionSeconds: a.disruptionSeconds * k }
}

/** Every dimension finite and ≥ 0. */
export function isCostVector (c: CostVector): boolean {
  return COST_DIMENSIONS.every((d) => Number.isFinite(c[d]) && c[d] >= 0)
}

/** A root-cause candidate for an incident. */
export interface RootCauseCandidate {
  component: string
  node?: string
  /** Ranking score; larger is more likely. */
  score: number
  /** Calibrated-ish confidence in [0,1]. */
  confidence: number
  explanation: string
  evidence: string[]
}

export interface Diagnosis {
  incidentId: string
  hlc: string
  candidates: RootCauseCandidate[]
  /** Groups of components whose anomalies have no causal path between them. */
  independentGroups: string[][]
  /** Anomalies explained by an ongoing recovery rather than a new failure. */
  attributedToRecovery: string[]
  explanation: string
}

/** What recovery did and whether verification passed: the learning signal. */
export interface Outcome {
  incidentId: string
  node: string
  component: string
  failureClass: string
  action: ActionKind
  success: boolean
  /** From acted to verified (or failed verification), ms. */
  durationMs: number
  cost: CostVector
  hlc: string
}
