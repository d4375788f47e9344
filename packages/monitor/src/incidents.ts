// What a detector, probe or watcher reports when something is wrong. The
// monitor does not keep incident records itself: the micro loop turns reports
// into incidents (its incident log: anti-flapping, one open incident per
// component and class), and the agent's incident book persists them.
import type { AnomalyKind, TargetKind } from '@homeostat/interface'

/** What a detector, probe or watcher reports (the shape the micro loop's AnomalySource uses). */
export interface AnomalyReport {
  component: string
  failureClass: string
  metric: string
  kind: AnomalyKind
  /** In [0,1]. */
  score: number
  value: number
  /** When the fault began as the reporter sees it (defaults to now). */
  onsetMs?: number
  detail?: string
  evidence?: string[]
  targetKind?: TargetKind
  /** Extra structured facts (e.g. a prediction's timeToLimitMs), copied to the opened step. */
  data?: Record<string, unknown>
  /**
   * A signal that alone must never act: a detector's metric anomaly (no probe failing, no limit crossed,
   * no confirmed forecast) or a node-wide reading. The micro loop records it as an observation.
   */
  observationOnly?: boolean
  /** Why it is observation-only, in words (shown with the observation). */
  observationWhy?: string
}
