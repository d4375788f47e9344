// The approval gate as the operator sees it: a recovery whose risk is above the
// threshold waits here until `homeostat approve ID` / `deny ID` (or the page's
// button) decides, or it expires. Bounded; decisions are kept for the audit.
import { randomBytes } from 'node:crypto'
import type { EventBus } from './events.ts'
import { ApprovalError } from '../errors.ts'

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired'

export interface Approval {
  id: string
  incidentId: string
  component: string
  action: string
  reason: string
  risk?: number
  state: ApprovalState
  requestedAtMs: number
  expiresAtMs: number
  decidedAtMs?: number
  decidedBy?: string
  note?: string
}

export interface ApprovalRequest {
  incidentId: string
  component: string
  action: string
  reason: string
  risk?: number
  timeoutMs?: number
}

export interface ApprovalQueue {
  /** Opens an approval; resolves with the decision (`expired` after the timeout). */
  request: (req: ApprovalRequest) => { approval: Approval, decision: Promise<ApprovalState> }
  decide: (id: string, decision: 'approved' | 'denied', by: string, note?: string) => Approval
  list: (q?: { state?: ApprovalState }) => Approval[]
  get: (id: string) => Approval | undefined
  /** Expires everything pending (shutdown). */
  close: () => void
}

export const APPROVAL_DEFAULTS = {
  /** An unanswered approval expires: the incident must not wait forever for a human who is asleep. */
  timeoutMs: 600_000,
  /** Pending approvals at once; beyond this new requests are denied at once (an approval storm is itself an incident). */
  maxPending: 64,
  /** Decided approvals kept for the audit view. */
  keepDecided: 500
}

export function createApprovalQueue (init: { events?: EventBus, now?: () => number, timeoutMs?: number, maxPending?: number, setTimer?: (fn: () => void, ms: number) => () => void } = {}): ApprovalQueue {
  const now = init.now ?? Date.now
  const setTimer = init.setTimer ?? ((fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return () => clearTimeout(t) })
  const items = new Map<string, Approval>()
  const waiters = new Map<string, { resolve: (s: ApprovalState) => void, cancel: () => void }>()
  const maxPending = init.maxPending ?? APPROVAL_DEFAULTS.maxPending

  const settle = (a: Approval, state: ApprovalState, by?: string, note?: string) => {
    a.state = state
    a.decidedAtMs = now()
    if (by !== undefined) a.decidedBy = by
    if (note !== undefined) a.note = note
    const w = waiters.get(a.id)
    waiters.delete(a.id)
    w?.cancel()
    w?.resolve(state)
    init.events?.emit('approval', a)
    const decided = [...items.values()].filter((x) => x.state !== 'pending')
    for (let i = 0; i < decided.length - APPROVAL_DEFAULTS.keepDecided; i++) items.delete(decided[i].id)
  }

  return {
    request (req) {
      const timeoutMs = req.timeoutMs ?? init.timeoutMs ?? APPROVAL_DEFAULTS.timeoutMs
      const a: Approval = {
        id: 'apr-' + randomBytes(4).toString('hex'),
        incidentId: req.incidentId,
        component: req.component,
        action: req.action,
        reason: req.reason,
        risk: req.risk,
        state: 'pending',
        requestedAtMs: now(),
        expiresAtMs: now() + timeoutMs
      }
      items.set(a.id, a)
      const pending = [...items.values()].filter((x) => x.state === 'pending').length
      if (pending > maxPending) {
        settle(a, 'denied', 'agent', `more than ${maxPending} approvals pending`)
        return { approval: a, decision: Promise.resolve('denied' as const) }
      }
      const decision = new Promise<ApprovalState>((resolve) => {
        const cancel = setTimer(() => { if (a.state === 'pending') settle(a, 'expired', 'agent', `no decision within ${timeoutMs} ms`) }, timeoutMs)
        waiters.set(a.id, { resolve, cancel })
      })
      init.events?.emit('approval', a)
      return { approval: a, decision }
    },
    decide (id, decision, by, note) {
      const a = items.get(id)
      if (a === undefined) throw new ApprovalError('ERR_NO_SUCH_APPROVAL', `no approval with id ${id}`)
      if (a.state !== 'pending') throw new ApprovalError('ERR_APPROVAL_DECIDED', `approval ${id} is already ${a.state}`)
      settle(a, decision, by, note)
      return a
    },
    list (q = {}) {
      return [...items.values()].filter((a) => q.state === undefined || a.state === q.state).sort((a, b) => b.requestedAtMs - a.requestedAtMs)
    },
    get (id) { return items.get(id) },
    close () { for (const a of items.values()) if (a.state === 'pending') settle(a, 'expired', 'agent', 'agent shutting down') }
  }
}
