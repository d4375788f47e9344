// Timer maths as pure functions (tested from a table).

export interface BackoffOptions {
  /** First delay. */
  initialMs: number
  /** Cap on any delay. */
  maxMs: number
  /** Growth per attempt. */
  multiplier: number
  /** Fraction of the delay randomised (0.2 → ±20 %), so a fleet does not retry in lockstep. */
  jitter: number
}

/**
 * Delay before retry number `attempt` (0-based): initial × multiplier^attempt,
 * capped, then jittered by ±jitter using `random` ∈ [0,1). Never negative,
 * never above maxMs.
 */
export function backoffDelayMs (attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const a = Math.max(0, Math.floor(attempt))
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.multiplier, Math.min(a, 64)))
  const j = o.jitter > 0 ? base * o.jitter * (2 * random() - 1) : 0
  return Math.round(Math.min(o.maxMs, Math.max(0, base + j)))
}

/**
 * Sliding-window crash-loop check: true when `times` (ascending, ms) holds
 * more than `maxCount` entries within the last `windowMs` before `nowMs`.
 */
export function isCrashLoop (times: readonly number[], nowMs: number, windowMs: number, maxCount: number): boolean {
  let n = 0
  for (let i = times.length - 1; i >= 0; i--) {
    if (nowMs - times[i]! > windowMs) break
    n++
  }
  return n > maxCount
}
