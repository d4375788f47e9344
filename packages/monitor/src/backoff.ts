// Timer maths as pure functions (tested from a table).

// Back-off is the shared one (@homeostat/interface), 0-based, ± jitter.
export { backoffDelayMs, type BackoffOptions } from '@homeostat/interface'

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
