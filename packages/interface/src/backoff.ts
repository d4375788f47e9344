// Retry back-off, one function for every package (the supervisor's restarts,
// recovery's restart back-off, the micro loop's retries of what it gave up
// on, the probe runner's probe-error retries). Pure, tested from a table.

export interface BackoffOptions {
  /** The delay of attempt 0. */
  initialMs: number
  /** Cap on any delay (jitter included). */
  maxMs: number
  /** Growth per attempt. */
  multiplier: number
  /** Fraction of the delay randomised, so a fleet does not retry in lockstep. */
  jitter: number
  /**
   * `symmetric` (default): ± jitter around the delay; `down`: up to `jitter` below it, never above (the
   * delay is then a ceiling, as for a restart a component waits on).
   */
  jitterMode?: 'symmetric' | 'down'
}

/**
 * Delay before attempt `attempt` (0-based): min(maxMs, initialMs · multiplier^attempt), then jittered with
 * `random` ∈ [0,1) and clamped to [0, maxMs]; whole milliseconds.
 */
export function backoffDelayMs (attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const a = Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : 0))
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.multiplier, Math.min(a, 64)))
  const jitter = Math.min(1, Math.max(0, o.jitter))
  const drawn = random()
  const r = Number.isFinite(drawn) ? Math.min(1, Math.max(0, drawn)) : 0.5
  const j = jitter === 0 ? 0 : o.jitterMode === 'down' ? -base * jitter * r : base * jitter * (2 * r - 1)
  return Math.round(Math.min(o.maxMs, Math.max(0, base + j)))
}
