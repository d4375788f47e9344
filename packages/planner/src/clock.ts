// Injected time: the planner never reads Date.now or arms a real timer itself,
// so tests and the benchmark simulate hours in milliseconds.

export interface PlannerClock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const systemClock: PlannerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>) }
}

export interface ManualClock extends PlannerClock {
  /** Moves time forward, firing due timers in order. */
  advance: (ms: number) => void
  set: (ms: number) => void
  pendingTimers: () => number
}

/** Virtual time for tests and simulations. */
export function createManualClock (startMs = 0): ManualClock {
  let now = startMs
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  const fire = (): void => {
    for (;;) {
      let next: [number, { at: number, fn: () => void }] | undefined
      for (const e of timers) if (e[1].at <= now && (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e
      if (next === undefined) return
      timers.delete(next[0])
      next[1].fn()
    }
  }
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = ++seq; timers.set(id, { at: now + Math.max(0, ms), fn }); return id },
    clearTimeout: (h) => { timers.delete(h as number) },
    advance: (ms) => { now += ms; fire() },
    set: (ms) => { now = Math.max(now, ms); fire() },
    pendingTimers: () => timers.size
  }
}
