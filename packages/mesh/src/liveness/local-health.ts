// Lifeguard's local health awareness: when our own event loop stalls (GC, CPU
// starvation, SIGSTOP/SIGCONT of this process) we cannot have read the answers
// that arrived meanwhile. A stalled tick shifts every deadline by the stall and
// raises a health score that stretches future timeouts.
import type { LivenessTuning } from '../defaults.ts'
import { nextLocalHealth, stallMs } from './timing.ts'

export interface LocalHealth {
  /** Call once per tick; returns the stall (ms) to add to pending deadlines, 0 when healthy. */
  tick: (expectedMs: number, actualMs: number) => number
  score: () => number
  /** Total ms of our own stalls observed (reported in stats). */
  stalledMsTotal: () => number
}

export function createLocalHealth (t: Pick<LivenessTuning, 'lagToleranceMs' | 'maxLocalHealth' | 'localHealthRecoveryMs'>, startMs: number): LocalHealth {
  let health = 0
  let healthySinceMs = startMs
  let stalledTotal = 0
  return {
    tick (expectedMs, actualMs) {
      const stall = stallMs(expectedMs, actualMs, t.lagToleranceMs)
      const next = nextLocalHealth(health, stall > 0, healthySinceMs, actualMs, t)
      health = next.health
      healthySinceMs = next.healthySinceMs
      stalledTotal += stall
      return stall
    },
    score: () => health,
    stalledMsTotal: () => stalledTotal
  }
}
