// The seam between "what went wrong" and "what to do": the micro loop asks a
// RecoveryPolicy for the next action. The fixed playbook (packages/recovery)
// and the constrained planner (packages/planner) both implement it.
import type { ActionKind, CostVector, Diagnosis, Incident, Outcome } from './records.ts'

export interface PlanRequest {
  incident: Incident
  diagnosis?: Diagnosis
  /** Actions already tried for this incident, in order (escalation never repeats a failed one). */
  attempted: ActionKind[]
  /** Actions the target supports here (e.g. no `rollback` without a previous artifact). */
  available: ActionKind[]
  /**
   * Incidents of this component since it last ran healthy for a while (the micro loop's `stableAfterMs`),
   * this one included: what the crash-loop rule counts. A workload that ran healthy between two faults is
   * not crash-looping, however close the faults. Absent: the policy counts its own history.
   */
  recentFailures?: number
}

export interface AlternativeAction {
  action: ActionKind
  expectedReward: number
  expectedCost: number
  admissible: boolean
  why: string
}

export interface PlannedAction {
  /** `escalate` means: no admissible action, ask a human; `none` means: wait, nothing to do. */
  action: ActionKind
  /** Component to act on (the diagnosed root cause, not always the incident's component). */
  target: string
  /** Why this action, in one readable sentence. */
  reason: string
  /** True when the action's risk is above the approval threshold. */
  requiresApproval: boolean
  alternatives: AlternativeAction[]
  predictedCost?: CostVector
  /** Budget left after this action, in the planner's cost units, when a budget applies. */
  budgetLeft?: number
}

export interface RecoveryPolicy {
  plan: (request: PlanRequest) => Promise<PlannedAction>
  /** Feeds a verified outcome back (learning). */
  record: (outcome: Outcome) => void
  /** The caller will not run a planned action (e.g. an operator denied it): release what the plan reserved. */
  cancel?: (incidentId: string, action: ActionKind, reason?: string) => unknown
}
