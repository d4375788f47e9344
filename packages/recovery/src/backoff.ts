import { backoffDelayMs as sharedBackoff } from '@homeostat/interface'

// Restart backoff: exponential in the number of recent restarts, capped, with
// jitter so that many components (or many nodes) restarting after one shared
// fault do not stampede in lock-step. Pure functions, tested from a table.

export interface BackoffOptions {
  /** Delay before the second restart inside the window, ms (the first is immediate). */
  baseMs: number
  /** Growth per further restart. */
  factor: number
  /** Cap, ms. */
  maxMs: number
  /** Fraction of the delay that is randomised away: 0 = none, 1 = "full jitter". */
  jitter: number
}

/**
 * Delay before restart number `attempt` (0 = first restart of a quiet
 * component). Attempt 0 restarts at once: a crash of a component that has
 * been stable should cost only its start time. `random` returns [0,1).
 *   delay = min(maxMs, baseMs · factor^(attempt−1)) · (1 − jitter · random)
 */
export function backoffDelayMs (attempt: number, options: BackoffOptions, random: () => number): number {
  if (!(attempt >= 1)) return 0
  // The shared back-off (@homeostat/interface), its attempt 0 being our attempt 1, the spread below the delay only.
  return sharedBackoff(attempt - 1, { initialMs: options.baseMs, multiplier: options.factor, maxMs: options.maxMs, jitter: options.jitter, jitterMode: 'down' }, random)
}

/** Number of timestamps within `windowMs` before `nowMs` (restarts counted for backoff and crash-loop detection). */
export function countInWindow (timesMs: readonly number[], nowMs: number, windowMs: number): number {
  let n = 0
  for (const t of timesMs) if (t > nowMs - windowMs && t <= nowMs) n++
  return n
}
