// Planner-facing shared shapes: what the agent's API shows about the safety
// budget, the approval queue and the audit log. Plain, serialisable records.
import type { ActionKind, CostVector } from './records.ts'

/** `static`: β = 0.15·C_available; `dynamic`: β = α·C_available(t) + (1−α)·C_historical(t); `adaptive`: β = f(Γ_t, H_t)·C_available(t) within hard bounds. */
export type BudgetMode = 'static' | 'dynamic' | 'adaptive'

export interface LedgerEntry {
  id: string
  atMs: number
  incidentId: string
  action: ActionKind
  /** `reserved`: predicted upper-bound cost held while the action runs; `spent`: the observed cost. */
  state: 'reserved' | 'spent'
  cost: CostVector
}

export interface BudgetView {
  mode: BudgetMode
  windowMs: number
  atMs: number
  /** β(t) per cost dimension. */
  beta: CostVector
  /** C_available(t) per cost dimension (per window). */
  available: CostVector
  /** C_historical(t) (dynamic mode). */
  historical?: CostVector
  /** f(Γ_t, H_t) (adaptive mode), as a fraction of C_available. */
  adaptiveFraction?: number
  spent: CostVector
  reserved: CostVector
  /** β − spent − reserved, per dimension (may be negative only if β shrank). */
  remaining: CostVector
  /** max over dimensions of (spent + reserved)/β. */
  utilisation: number
  /** Lagrange multiplier on cost (dual variable). */
  lambda: number
  entries: LedgerEntry[]
}

export interface PendingApproval {
  id: string
  incidentId: string
  action: ActionKind
  target: string
  risk: number
  requestedAtMs: number
  expiresAtMs: number
  reason: string
}

export interface AuditRecord {
  seq: number
  atMs: number
  kind: string
  data: Record<string, unknown>
  /** Hash of the previous record (64 zeros for the first). */
  prevHash: string
  /** sha256 over the canonical JSON of {seq, atMs, kind, data, prevHash}. */
  hash: string
}
