// Nothing is given up for good. When the micro loop ends an incident without
// healing it (escalated to an operator, or quarantined), the component is put
// on hold and tried again after a capped exponential back-off — as
// Kubernetes' CrashLoopBackOff does (10 s, 20 s, 40 s … 5 min, never giving
// up) — and released from the hold once it then stays healthy. A hold can say
// what it waits for (e.g. "port 8080 free"): the retry then comes as soon as
// that is true, not only when the back-off ends. Pure state and maths; the
// loop owns the timers.
import { backoffDelayMs } from '@homeostat/interface'

export const HOLD_DEFAULTS = {
  /** First retry after giving up: Kubernetes' CrashLoopBackOff starts at 10 s. */
  retryInitialMs: 10_000,
  /** Doubling per retry that did not stick. */
  retryMultiplier: 2,
  /** …capped at 5 min, as CrashLoopBackOff: a component that should run is still tried a dozen times an hour. */
  retryMaxMs: 300_000,
  /** ±10 %: agents of a fleet that gave up on one shared fault do not retry in lockstep. */
  retryJitter: 0.1,
  /** Components on hold at most (bounded by the supervisor's component count in practice). */
  maxHolds: 256
} as const

export type HoldTuning = { -readonly [K in keyof typeof HOLD_DEFAULTS]: number }

/** Delay before retry number `attempt` (1 = the first retry): the shared back-off (@homeostat/interface), ± jitter, capped. */
export function retryDelayMs (attempt: number, o: Pick<HoldTuning, 'retryInitialMs' | 'retryMultiplier' | 'retryMaxMs' | 'retryJitter'>, random: () => number): number {
  const n = Math.max(1, Math.floor(Number.isFinite(attempt) ? attempt : 1))
  return backoffDelayMs(n - 1, { initialMs: o.retryInitialMs, multiplier: o.retryMultiplier, maxMs: o.retryMaxMs, jitter: o.retryJitter }, random)
}

export interface Hold {
  component: string
  /** Retries so far (the next one is number attempt + 1). */
  attempt: number
  /** Why the loop gave up (the incident's last words). */
  reason: string
  incidentId: string
  /** waiting: the retry is scheduled at `retryAtMs`; probation: retried at `sinceMs`, watching whether it stays healthy. */
  phase: 'waiting' | 'probation'
  retryAtMs: number
  sinceMs: number
  /** What the retry waits for (see WaitingFor). */
  waitingFor?: WaitingFor
}

/**
 * A precondition of the retry, in words ("port 8080 is free") with its check. The retry never comes while
 * it is false. `early`: the retry comes as soon as it is true (a freed port: the start can only work now);
 * otherwise it comes when the back-off is over and it is true (a freed disk: a writer started again at once
 * would only fill it again).
 */
export interface WaitingFor { what: string, ready: () => boolean, early: boolean }

export interface Holds {
  /** Puts `component` on hold after an incident that did not heal it; returns the hold (attempt and when). */
  hold: (component: string, incidentId: string, reason: string, nowMs: number, waitingFor?: Hold['waitingFor']) => Hold
  get: (component: string) => Hold | undefined
  /** The retry is made: watch it (probation). */
  retried: (component: string, nowMs: number) => void
  /** It stayed healthy (or an operator took over): forget it, attempts and all. */
  clear: (component: string) => boolean
  /** Holds whose retry is due now (back-off over, or what an early precondition waits for is there; never while a precondition is false). */
  due: (nowMs: number) => Hold[]
  list: () => Hold[]
}

export function createHolds (o: Partial<HoldTuning> = {}, random: () => number = Math.random): Holds {
  const t = { ...HOLD_DEFAULTS, ...o }
  const holds = new Map<string, Hold>()
  return {
    hold (component, incidentId, reason, nowMs, waitingFor) {
      const prev = holds.get(component)
      const attempt = prev?.attempt ?? 0
      const h: Hold = { component, attempt, reason: reason.slice(0, 512), incidentId, phase: 'waiting', retryAtMs: nowMs + retryDelayMs(attempt + 1, t, random), sinceMs: nowMs }
      if (waitingFor !== undefined) h.waitingFor = waitingFor
      holds.set(component, h)
      if (holds.size > t.maxHolds) holds.delete(holds.keys().next().value as string)
      return h
    },
    get: (c) => holds.get(c),
    retried (c, nowMs) {
      const h = holds.get(c)
      if (h === undefined) return
      h.attempt++
      h.phase = 'probation'
      h.sinceMs = nowMs
      delete h.waitingFor
    },
    clear: (c) => holds.delete(c),
    due (nowMs) {
      const out: Hold[] = []
      for (const h of holds.values()) {
        if (h.phase !== 'waiting') continue
        const w = h.waitingFor
        if (w === undefined) { if (nowMs >= h.retryAtMs) out.push(h); continue }
        let ready = false
        try { ready = w.ready() } catch { ready = false }
        if (ready && (w.early || nowMs >= h.retryAtMs)) out.push(h)
      }
      return out
    },
    list: () => [...holds.values()].map((h) => ({ ...h }))
  }
}
