// The budget ledger: every action's cost over a sliding window. An action is
// charged its predicted upper-bound cost when planned (`reserve`), so two
// concurrent incidents cannot both squeeze into the last of the budget; the
// observed cost replaces the reservation when the outcome arrives (`settle`).
// A reservation nobody settles expires after `reservationTtlMs`.
// Window maths is pure (`windowTotals`) and tested from a table: an entry at
// time a counts at time t iff t − windowMs < a ≤ t.
// CPU-seconds, bandwidth and disruption are flows: they add up over the
// window. Memory is a level: an action holds it only while it runs, so
// `memoryMb` counts for reservations (actions in flight) and is released when
// the action settles; the memory budget caps what in-flight recoveries hold.
import type { ActionKind, CostVector, LedgerEntry } from '@homeostat/interface'
import { addCost, zeroCost } from './cost.ts'

export interface LedgerOptions {
  windowMs: number
  reservationTtlMs?: number
  maxEntries?: number
  /** Closed tumbling windows remembered for C_historical. */
  historyWindows?: number
}

export const LEDGER_DEFAULTS = {
  /** An unsettled reservation (agent crashed mid-action, outcome lost) stops holding budget after 10 minutes. */
  reservationTtlMs: 600_000,
  /** A node healing more than 4,096 times in one window is looping; the oldest entries go first. */
  maxEntries: 4096,
  /** A day of 10-minute windows. */
  historyWindows: 144
} as const

/** Sums of spent and reserved cost within (t − windowMs, t]. Pure. */
export function windowTotals (entries: readonly LedgerEntry[], nowMs: number, windowMs: number): { spent: CostVector, reserved: CostVector } {
  let spent = zeroCost()
  let reserved = zeroCost()
  for (const e of entries) {
    if (e.atMs > nowMs || e.atMs <= nowMs - windowMs) continue
    if (e.state === 'spent') spent = addCost(spent, { ...e.cost, memoryMb: 0 })
    else reserved = addCost(reserved, e.cost)
  }
  return { spent, reserved }
}

/** Index of the tumbling window holding time t. Pure. */
export const windowIndex = (atMs: number, windowMs: number): number => Math.floor(atMs / windowMs)

export interface BudgetLedger {
  reserve: (e: { id: string, atMs: number, incidentId: string, action: ActionKind, cost: CostVector }) => void
  /** Replaces reservation `id` by the observed cost (kept at the reservation's time); without a reservation, charges at `atMs`. */
  settle: (id: string, cost: CostVector, atMs: number, incidentId: string, action: ActionKind) => void
  release: (id: string) => boolean
  /** Reservation id of the latest unsettled reservation for (incident, action). */
  findReservation: (incidentId: string, action: ActionKind) => string | undefined
  totals: (nowMs: number) => { spent: CostVector, reserved: CostVector }
  entries: (nowMs: number) => LedgerEntry[]
  /** Spend of the last closed tumbling windows, oldest first (for C_historical). */
  closedWindows: (nowMs: number) => CostVector[]
  stats: () => { entries: number, evicted: number, expired: number }
}

export function createBudgetLedger (options: LedgerOptions): BudgetLedger {
  const windowMs = options.windowMs
  const ttl = options.reservationTtlMs ?? LEDGER_DEFAULTS.reservationTtlMs
  const maxEntries = options.maxEntries ?? LEDGER_DEFAULTS.maxEntries
  const historyWindows = options.historyWindows ?? LEDGER_DEFAULTS.historyWindows
  let list: LedgerEntry[] = []
  const buckets = new Map<number, CostVector>()
  let evicted = 0
  let expired = 0

  const bucketAdd = (atMs: number, cost: CostVector): void => {
    const k = windowIndex(atMs, windowMs)
    buckets.set(k, addCost(buckets.get(k) ?? zeroCost(), cost))
    if (buckets.size > historyWindows + 2) {
      const oldest = Math.min(...buckets.keys())
      buckets.delete(oldest)
    }
  }
  const prune = (nowMs: number): void => {
    const keepFrom = nowMs - Math.max(windowMs, ttl)
    const before = list.length
    list = list.filter((e) => {
      if (e.state === 'reserved' && e.atMs + ttl <= nowMs) { expired++; return false }
      return e.atMs > keepFrom
    })
    void before
  }
  const push = (e: LedgerEntry): void => {
    list.push(e)
    if (list.length > maxEntries) {
      list = list.slice(list.length - maxEntries)
      evicted++
    }
  }

  return {
    reserve (e) {
      push({ id: e.id, atMs: e.atMs, incidentId: e.incidentId, action: e.action, state: 'reserved', cost: e.cost })
    },
    settle (id, cost, atMs, incidentId, action) {
      const i = list.findIndex((e) => e.id === id && e.state === 'reserved')
      if (i >= 0) {
        const r = list[i]!
        list[i] = { ...r, state: 'spent', cost }
        bucketAdd(r.atMs, { ...cost, memoryMb: 0 })
      } else {
        push({ id, atMs, incidentId, action, state: 'spent', cost })
        bucketAdd(atMs, { ...cost, memoryMb: 0 })
      }
    },
    release (id) {
      const before = list.length
      list = list.filter((e) => !(e.id === id && e.state === 'reserved'))
      return list.length < before
    },
    findReservation (incidentId, action) {
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i]!
        if (e.state === 'reserved' && e.incidentId === incidentId && e.action === action) return e.id
      }
      return undefined
    },
    totals (nowMs) {
      prune(nowMs)
      return windowTotals(list, nowMs, windowMs)
    },
    entries (nowMs) {
      prune(nowMs)
      return list.filter((e) => e.atMs <= nowMs && e.atMs > nowMs - windowMs).map((e) => ({ ...e, cost: { ...e.cost } }))
    },
    closedWindows (nowMs) {
      const current = windowIndex(nowMs, windowMs)
      const keys = [...buckets.keys()].filter((k) => k < current && k >= current - historyWindows).sort((a, b) => a - b)
      if (keys.length === 0) return []
      // Windows with no recovery at all count as zero spend.
      const first = Math.max(keys[0]!, current - historyWindows)
      const out: CostVector[] = []
      for (let k = first; k < current; k++) out.push(buckets.get(k) ?? zeroCost())
      return out
    },
    stats: () => ({ entries: list.length, evicted, expired })
  }
}
