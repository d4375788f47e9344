// Injected time: every component takes `now` and `timers`, so tests run many
// agents in one process on the simulated mesh's virtual clock.

export interface Timers {
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

/** Node's timers, unref'd so a coordinator never keeps a process alive on its own. */
export const realTimers: Timers = {
  setTimeout (fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout (handle) { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

export const sleep = async (timers: Timers, ms: number): Promise<void> => await new Promise((resolve) => { timers.setTimeout(resolve, ms) })

/** Calls `fn` every `everyMs` (± jitter) until the returned function is called. */
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
