// Failure history Γ_t: exponentially decayed counters of failures (overall,
// per class, per component), of recovery outcomes and escalations, plus a
// bounded ring of recent events for pattern mining. `features(now)` turns it
// into the Γ_t vector the planner and the adaptive budget read.

export interface FailureEvent {
  atMs: number
  component: string
  /** A failure class (`crash`, `hang`…) or, for `kind: 'trigger'`, a trigger label (`deploy`, `config_change`…). */
  label: string
  kind: 'failure' | 'trigger'
}

export interface RecoveryEvent {
  atMs: number
  component: string
  failureClass: string
  action: string
  success: boolean
}

export interface HistoryFeatures {
  /** Decayed failure rate, per hour. */
  failureRatePerHour: number
  /** Decayed share of recoveries that verified (prior 1 success in 2 while empty). */
  recoverySuccessRate: number
  /** Decayed escalations per hour. */
  escalationRatePerHour: number
  /** Failures in the last `recentWindowMs`. */
  recentFailures: number
  /** Largest decayed per-component failure rate, per hour (a crash-looping component stands out). */
  worstComponentRatePerHour: number
}

export interface FailureHistoryOptions {
  halfLifeMs?: number
  maxEvents?: number
  recentWindowMs?: number
  maxKeys?: number
}

export const HISTORY_DEFAULTS = {
  /** One hour: Γ should reflect "is this node having a bad day right now", not last week. */
  halfLifeMs: 3600_000,
  /** Ring of raw events for pattern mining; 2,000 covers days of a flaky node at a few hundred bytes each. */
  maxEvents: 2000,
  /** "Recent" for the raw count feature: 10 minutes, the default budget window. */
  recentWindowMs: 600_000,
  /** Per-class / per-component counters kept; more distinct names than this is input abuse. */
  maxKeys: 1024
} as const

/** A counter decaying with half-life h: value(t) = value(t0)·2^(-(t-t0)/h). Pure. */
export interface Decayed { value: number, atMs: number }

export function decayTo (c: Decayed, atMs: number, halfLifeMs: number): number {
  if (atMs <= c.atMs) return c.value
  return c.value * Math.pow(0.5, (atMs - c.atMs) / halfLifeMs)
}

export function bump (c: Decayed, atMs: number, halfLifeMs: number, by = 1): Decayed {
  const t = Math.max(atMs, c.atMs)
  return { value: decayTo(c, t, halfLifeMs) + by, atMs: t }
}

/** Decayed count → events per hour (the count of a steady Poisson process of rate r settles at r·h/ln 2). */
export function ratePerHour (count: number, halfLifeMs: number): number {
  return count * Math.LN2 / halfLifeMs * 3600_000
}

export interface HistorySnapshot {
  total: Decayed
  successes: Decayed
  failures: Decayed
  escalations: Decayed
  byClass: Array<[string, Decayed]>
  byComponent: Array<[string, Decayed]>
  events: FailureEvent[]
}

export interface FailureHistory {
  recordFailure: (e: Omit<FailureEvent, 'kind'>) => void
  recordTrigger: (e: Omit<FailureEvent, 'kind'>) => void
  recordRecovery: (e: RecoveryEvent) => void
  recordEscalation: (atMs: number) => void
  features: (nowMs: number) => HistoryFeatures
  classRatePerHour: (failureClass: string, nowMs: number) => number
  componentRatePerHour: (component: string, nowMs: number) => number
  events: () => FailureEvent[]
  snapshot: () => HistorySnapshot
  restore: (s: HistorySnapshot) => void
}

export function createFailureHistory (options: FailureHistoryOptions = {}): FailureHistory {
  const h = options.halfLifeMs ?? HISTORY_DEFAULTS.halfLifeMs
  const maxEvents = options.maxEvents ?? HISTORY_DEFAULTS.maxEvents
  const recentWindowMs = options.recentWindowMs ?? HISTORY_DEFAULTS.recentWindowMs
  const maxKeys = options.maxKeys ?? HISTORY_DEFAULTS.maxKeys
  const zero = (): Decayed => ({ value: 0, atMs: 0 })
  let total = zero()
  let successes = zero()
  let failures = zero()
  let escalations = zero()
  const byClass = new Map<string, Decayed>()
  const byComponent = new Map<string, Decayed>()
  let events: FailureEvent[] = []

  const bumpMap = (m: Map<string, Decayed>, k: string, atMs: number): void => {
    const cur = m.get(k)
    if (cur === undefined && m.size >= maxKeys) {
      // Evict the smallest counter: it carries the least information.
      let victim: string | undefined
      let least = Infinity
      for (const [kk, v] of m) {
        const d = decayTo(v, atMs, h)
        if (d < least) { least = d; victim = kk }
      }
      if (victim !== undefined) m.delete(victim)
    }
    m.set(k, bump(cur ?? zero(), atMs, h))
  }
  const push = (e: FailureEvent): void => {
    events.push(e)
    if (events.length > maxEvents) events = events.slice(events.length - maxEvents)
  }

  return {
    recordFailure (e) {
      total = bump(total, e.atMs, h)
      bumpMap(byClass, e.label, e.atMs)
      bumpMap(byComponent, e.component, e.atMs)
      push({ ...e, kind: 'failure' })
    },
    recordTrigger (e) { push({ ...e, kind: 'trigger' }) },
    recordRecovery (e) {
      if (e.success) successes = bump(successes, e.atMs, h)
      else failures = bump(failures, e.atMs, h)
    },
    recordEscalation (atMs) { escalations = bump(escalations, atMs, h) },
    features (now) {
      const s = decayTo(successes, now, h)
      const f = decayTo(failures, now, h)
      let worst = 0
      for (const v of byComponent.values()) worst = Math.max(worst, decayTo(v, now, h))
      let recent = 0
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!
        if (e.atMs <= now - recentWindowMs) break
        if (e.kind === 'failure' && e.atMs <= now) recent++
      }
      return {
        failureRatePerHour: ratePerHour(decayTo(total, now, h), h),
        recoverySuccessRate: (s + 1) / (s + f + 2),
        escalationRatePerHour: ratePerHour(decayTo(escalations, now, h), h),
        recentFailures: recent,
        worstComponentRatePerHour: ratePerHour(worst, h)
      }
    },
    classRatePerHour: (c, now) => ratePerHour(decayTo(byClass.get(c) ?? zero(), now, h), h),
    componentRatePerHour: (c, now) => ratePerHour(decayTo(byComponent.get(c) ?? zero(), now, h), h),
    events: () => events.slice(),
    snapshot: () => structuredClone({ total, successes, failures, escalations, byClass: [...byClass], byComponent: [...byComponent], events }),
    restore (s) {
      total = s.total; successes = s.successes; failures = s.failures; escalations = s.escalations
      byClass.clear(); for (const [k, v] of s.byClass.slice(0, maxKeys)) byClass.set(k, v)
      byComponent.clear(); for (const [k, v] of s.byComponent.slice(0, maxKeys)) byComponent.set(k, v)
      events = s.events.slice(-maxEvents)
    }
  }
}
