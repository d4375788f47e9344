// Injected time: every long-lived part takes its clock and its timers, so a
// test runs an agent's loops on a simulated clock (an hour in seconds) and a
// simulation runs thousands of agents in one process. One shape for every
// package: the real timers, the simulated mesh's per-node timers and a test's
// manual scheduler all satisfy it.

/** A clock: physical time in ms since the epoch (Date.now's contract). */
export type Clock = () => number

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/** Node's timers, unref'd: a timer of ours never keeps a process alive on its own. */
export const realTimers: Timers = {
  setTimeout (fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout (handle) { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

/** Resolves after `ms` on `timers`. */
export const sleepOn = async (timers: Timers, ms: number): Promise<void> => await new Promise((resolve) => { timers.setTimeout(resolve, ms) })

/**
 * Calls `fn` every `everyMs` (± `jitter()` ms) on `timers` until the returned function is called. The next
 * run is armed after `fn` returns, so a slow `fn` never overlaps itself; a throwing one keeps the schedule.
 */
export function every (timers: Timers, everyMs: number, fn: () => void, jitter: () => number = () => 0): () => void {
  let handle: unknown
  let stopped = false
  const arm = (): void => {
    if (stopped) return
    handle = timers.setTimeout(() => {
      if (stopped) return
      try { fn() } finally { arm() }
    }, Math.max(1, everyMs + jitter()))
  }
  arm()
  return () => { stopped = true; timers.clearTimeout(handle) }
}
