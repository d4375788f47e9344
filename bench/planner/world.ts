// The simulated world of the planner benchmark: failure classes whose TRUE
// action success rates, times and costs are known only here (the oracle).
// Policies see incidents and verified outcomes, nothing else.
import type { ActionKind, CostVector, TargetKind } from '@homeostat/interface'

export interface TrueAction {
  /** P(verification passes). */
  p: number
  /** Mean acted→verified (or failed) time, ms; actual is ±20 % uniform. */
  ttrMs: number
  /** Mean cost; actual is ±30 % uniform per dimension (so the true worst case is 1.3 × mean). */
  cost: CostVector
}

export interface FailureClassTruth {
  name: string
  targetKind: TargetKind
  components: string[]
  ratePerHour: number
  actions: Partial<Record<ActionKind, TrueAction>>
}

export const COST_SPREAD = 0.3
export const TTR_SPREAD = 0.2

const c = (cpuSeconds: number, memoryMb: number, bandwidthKb: number, disruptionSeconds: number): CostVector => ({ cpuSeconds, memoryMb, bandwidthKb, disruptionSeconds })

/** Hidden truth. Catalogue priors are deliberately off (e.g. it believes restart fixes a hang 70 % of the time). */
export const CLASSES: FailureClassTruth[] = [
  {
    name: 'crash', targetKind: 'process', components: ['detector', 'tracker', 'uploader'], ratePerHour: 3,
    actions: {
      restart: { p: 0.92, ttrMs: 5000, cost: c(2, 50, 0, 5) },
      kill: { p: 0.75, ttrMs: 4000, cost: c(1, 0, 0, 4) },
      reload: { p: 0.2, ttrMs: 2000, cost: c(0.5, 0, 0, 1) },
      rollback: { p: 0.95, ttrMs: 25_000, cost: c(12, 200, 60_000, 25) },
      relocate: { p: 0.97, ttrMs: 70_000, cost: c(35, 600, 250_000, 70) }
    }
  },
  {
    name: 'hang', targetKind: 'service', components: ['inference-api', 'feature-store'], ratePerHour: 2,
    actions: {
      restart: { p: 0.5, ttrMs: 6000, cost: c(2, 50, 0, 6) },
      kill: { p: 0.95, ttrMs: 4000, cost: c(1, 0, 0, 4) },
      reload: { p: 0.1, ttrMs: 2000, cost: c(0.5, 0, 0, 1) },
      relocate: { p: 0.95, ttrMs: 70_000, cost: c(35, 600, 250_000, 70) }
    }
  },
  {
    name: 'memory_leak', targetKind: 'service', components: ['inference-api', 'feature-store'], ratePerHour: 1,
    actions: {
      restart: { p: 0.9, ttrMs: 8000, cost: c(3, 60, 0, 8) },
      degrade: { p: 0.4, ttrMs: 3000, cost: c(0.5, 0, 0, 1) },
      throttle: { p: 0.15, ttrMs: 5000, cost: c(0.2, 0, 0, 0) },
      relocate: { p: 0.9, ttrMs: 70_000, cost: c(35, 600, 250_000, 70) }
    }
  },
  {
    name: 'bad_artifact', targetKind: 'service', components: ['inference-api'], ratePerHour: 0.5,
    actions: {
      restart: { p: 0.05, ttrMs: 5000, cost: c(2, 50, 0, 5) },
      reload: { p: 0.05, ttrMs: 2000, cost: c(0.5, 0, 0, 1) },
      rollback: { p: 0.93, ttrMs: 25_000, cost: c(12, 200, 60_000, 25) },
      relocate: { p: 0.1, ttrMs: 70_000, cost: c(35, 600, 250_000, 70) }
    }
  },
  {
    name: 'disk_fill', targetKind: 'service', components: ['uploader', 'feature-store'], ratePerHour: 0.5,
    actions: {
      free_disk: { p: 0.9, ttrMs: 12_000, cost: c(6, 0, 0, 0) },
      restart: { p: 0.1, ttrMs: 5000, cost: c(2, 50, 0, 5) },
      relocate: { p: 0.85, ttrMs: 70_000, cost: c(35, 600, 250_000, 70) }
    }
  },
  {
    name: 'cpu_hog', targetKind: 'service', components: ['detector', 'inference-api'], ratePerHour: 0.7,
    actions: {
      throttle: { p: 0.85, ttrMs: 5000, cost: c(0.2, 0, 0, 0) },
      restart: { p: 0.6, ttrMs: 5000, cost: c(2, 50, 0, 5) },
      kill: { p: 0.6, ttrMs: 4000, cost: c(1, 0, 0, 4) }
    }
  },
  {
    name: 'gpu_oom', targetKind: 'training', components: ['trainer'], ratePerHour: 0.5,
    actions: {
      restart: { p: 0.6, ttrMs: 15_000, cost: c(5, 300, 0, 15) },
      degrade: { p: 0.9, ttrMs: 5000, cost: c(0.5, 0, 0, 1) },
      relocate: { p: 0.95, ttrMs: 90_000, cost: c(40, 800, 400_000, 90) }
    }
  }
]

/** Crash-loop episodes: a component crashes `loopLength` times, `loopGapMs` apart. */
export const CRASH_LOOP = { ratePerHour: 0.1, loopLength: 5, loopGapMs: 60_000 }

export const WINDOW_MS = 600_000
/** Time from fault to detection, identical for every policy. */
export const DETECTION_MS = 10_000
/** A human answers an escalation or a quarantine in 30 minutes on average. */
export const HUMAN_RESPONSE_MS = 1_800_000
/** Safety stop for policies that never give up. */
export const MAX_ATTEMPTS = 8

/**
 * C_available(t) per 10-minute window on a 4-core, 8 GB edge node (Jetson
 * Orin NX class) with a 2 MB/s uplink: idle CPU follows a day/night load
 * curve (20–90 % idle), free memory 50–70 %, the shared link 60–90 %, and one
 * workload-window (600 s) is the disruption capacity.
 */
export function capacityAt (tMs: number): CostVector {
  const phase = Math.sin(2 * Math.PI * tMs / 86_400_000)
  const idle = 0.55 + 0.35 * phase
  const freeMemory = 0.6 + 0.1 * phase
  const link = 0.75 + 0.15 * phase
  return { cpuSeconds: 4 * 600 * idle, memoryMb: 8192 * freeMemory, bandwidthKb: 2000 * 600 * link, disruptionSeconds: 600 }
}

/** Recovery spending above this share of capacity in a window starves the workloads (collateral failures). */
export const HARM_SHARE = 0.5
