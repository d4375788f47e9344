// The approval gate: a decision whose action is riskier than the configured
// threshold waits here until an operator approves or denies it by id, or the
// timeout fires. The planner then falls back to the safest admissible action
// (on deny or timeout). The queue is bounded.
import type { PendingApproval } from '@homeostat/interface'
import type { PlannerClock } from './clock.ts'

export type ApprovalDecision = 'approved' | 'denied' | 'timeout' | 'rejected'

export interface ApprovalResolution {
  decision: ApprovalDecision
  by?: string
  reason?: string
  atMs: number
}

export interface ApprovalGateOptions {
  clock: PlannerClock
  timeoutMs: number
  maxPending: number
  /** Called when a request is queued (notify operators, log, expose on the API). */
  onRequest?: (p: PendingApproval) => void
}

export interface ApprovalGate {
  request: (p: Omit<PendingApproval, 'id' | 'requestedAtMs' | 'expiresAtMs'>) => { id: string, resolution: Promise<ApprovalResolution> }
  approve: (id: string, by?: string) => boolean
  deny: (id: string, by?: string, reason?: string) => boolean
  pending: () => PendingApproval[]
  /** Times out every pending request now (planner stop). */
  close: () => void
  stats: () => { requested: number, approved: number, denied: number, timedOut: number, rejected: number }
}

export function createApprovalGate (o: ApprovalGateOptions): ApprovalGate {
  const waiting = new Map<string, { p: PendingApproval, resolve: (r: ApprovalResolution) => void, timer: unknown }>()
  let seq = 0
  const s = { requested: 0, approved: 0, denied: 0, timedOut: 0, rejected: 0 }
  const finish = (id: string, r: Omit<ApprovalResolution, 'atMs'>): boolean => {
    const w = waiting.get(id)
    if (w === undefined) return false
    waiting.delete(id)
    o.clock.clearTimeout(w.timer)
    w.resolve({ ...r, atMs: o.clock.now() })
    return true
  }
  return {
    request (req) {
      s.requested++
      const now = o.clock.now()
      const id = `apr-${now.toString(36)}-${(++seq).toString(36)}`
      if (waiting.size >= o.maxPending) {
        s.rejected++
        return { id, resolution: Promise.resolve({ decision: 'rejected', reason: `${waiting.size} approvals already pending (limit ${o.maxPending})`, atMs: now }) }
      }
      const p: PendingApproval = { ...req, id, requestedAtMs: now, expiresAtMs: now + o.timeoutMs }
      const resolution = new Promise<ApprovalResolution>((resolve) => {
        const timer = o.clock.setTimeout(() => { if (finish(id, { decision: 'timeout', reason: `no operator answer within ${o.timeoutMs} ms` })) s.timedOut++ }, o.timeoutMs)
        waiting.set(id, { p, resolve, timer })
      })
      o.onRequest?.(p)
      return { id, resolution }
    },
    approve (id, by) {
      const ok = finish(id, { decision: 'approved', by })
      if (ok) s.approved++
      return ok
    },
    deny (id, by, reason) {
      const ok = finish(id, { decision: 'denied', by, reason })
      if (ok) s.denied++
      return ok
    },
    pending: () => [...waiting.values()].map((w) => ({ ...w.p })),
    close () {
      for (const id of [...waiting.keys()]) if (finish(id, { decision: 'timeout', reason: 'planner stopped' })) s.timedOut++
    },
    stats: () => ({ ...s })
  }
}

