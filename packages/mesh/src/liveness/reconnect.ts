// Reconnection to known peers with capped exponential backoff and a bound on
// dials in flight. A peer dead for longer than forgetAfterMs is given up.
import type { LivenessTuning } from '../defaults.ts'
import { reconnectDelayMs } from './timing.ts'

interface Entry { attempt: number, dueMs: number, deadSinceMs: number, inFlight: boolean }

export interface Reconnector {
  /** Start retrying `peer` (declared dead at `nowMs`). `wait` (the side of the pair that lets the
   * other redial) puts the first attempt at the capped delay, as a fallback in case the other side
   * does not come back on its own. */
  schedule: (peer: string, nowMs: number, wait?: boolean) => void
  /** The peer is connected again: stop retrying. */
  cancel: (peer: string) => void
  /** Run due attempts; returns peers given up this tick. */
  tick: (nowMs: number) => string[]
  pending: () => number
  clear: () => void
}

export function createReconnector (
  t: Pick<LivenessTuning, 'reconnectBaseMs' | 'reconnectMaxDelayMs' | 'reconnectJitter' | 'maxParallelReconnects' | 'forgetAfterMs'>,
  dial: (peer: string) => Promise<boolean>,
  random: () => number,
  now: () => number
): Reconnector {
  const entries = new Map<string, Entry>()
  let inFlight = 0
  return {
    schedule (peer, nowMs, wait = false) {
      if (entries.has(peer)) return
      const attempt = wait ? Number.POSITIVE_INFINITY : 0 // at the cap from the start
      entries.set(peer, { attempt, dueMs: nowMs + reconnectDelayMs(attempt, random(), t), deadSinceMs: nowMs, inFlight: false })
    },
    cancel (peer) { entries.delete(peer) },
    tick (nowMs) {
      const forgotten: string[] = []
      for (const [peer, e] of entries) {
        if (e.inFlight) continue
        if (nowMs - e.deadSinceMs >= t.forgetAfterMs) {
          entries.delete(peer)
          forgotten.push(peer)
          continue
        }
        if (nowMs < e.dueMs || inFlight >= t.maxParallelReconnects) continue
        e.inFlight = true
        inFlight++
        void dial(peer).catch(() => false).then((ok) => {
          inFlight--
          e.inFlight = false
          if (ok) { entries.delete(peer); return }
          e.attempt++
          e.dueMs = now() + reconnectDelayMs(e.attempt, random(), t)
        })
      }
      return forgotten
    },
    pending: () => entries.size,
    clear: () => { entries.clear() }
  }
}
