// Virtual time for the simulated mesh: a binary heap of events ordered by
// (time, insertion sequence), advanced explicitly with runFor / runUntil.
// Between batches of same-time events the scheduler yields to the host event
// loop (setImmediate), so promise chains started by an event settle before
// virtual time moves on.

export interface ScheduledEvent {
  atMs: number
  seq: number
  fn: () => void
  cancelled: boolean
}

export const SCHEDULER_DEFAULTS = {
  /** Events run per runFor call before giving up: a livelock (a timer that
   * re-arms itself at 0 ms) must fail loudly instead of hanging the test. */
  maxEventsPerRun: 50_000_000,
  /** Same-time events drained before yielding to the host loop once. */
  batchEvents: 4096
} as const

export class SchedulerLivelockError extends Error {
  readonly name = 'SchedulerLivelockError'
  readonly code = 'ERR_SIM_LIVELOCK'
}

export interface Scheduler {
  now: () => number
  /** Runs `fn` `delayMs` from now (clamped to >= 0). Returns a cancel function. */
  schedule: (delayMs: number, fn: () => void) => () => void
  /** Advances virtual time by `ms`, running every event due. */
  runFor: (ms: number) => Promise<void>
  /** Advances in `stepMs` slices until `pred()` holds or `timeoutMs` passes; returns whether it held. */
  runUntil: (pred: () => boolean, options?: { timeoutMs?: number, stepMs?: number }) => Promise<boolean>
  pending: () => number
  eventsRun: () => number
}

const yieldToHost = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

export function createScheduler (startMs: number): Scheduler {
  let nowMs = startMs
  let seq = 0
  let ran = 0
  const heap: ScheduledEvent[] = []
  const less = (a: ScheduledEvent, b: ScheduledEvent): boolean => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
  const push = (e: ScheduledEvent): void => {
    heap.push(e)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(heap[i]!, heap[p]!)) break
      ;[heap[i], heap[p]] = [heap[p]!, heap[i]!]
      i = p
    }
  }
  const pop = (): ScheduledEvent | undefined => {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last != null) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }

  const runTo = async (targetMs: number): Promise<void> => {
    let budget = SCHEDULER_DEFAULTS.maxEventsPerRun
    await yieldToHost()
    while (heap.length > 0 && heap[0]!.atMs <= targetMs) {
      const t = heap[0]!.atMs
      nowMs = Math.max(nowMs, t)
      let n = 0
      while (heap.length > 0 && heap[0]!.atMs === t && n < SCHEDULER_DEFAULTS.batchEvents) {
        const e = pop()!
        if (e.cancelled) continue
        n++
        ran++
        if (--budget <= 0) throw new SchedulerLivelockError(`more than ${SCHEDULER_DEFAULTS.maxEventsPerRun} events in one run`)
        e.fn()
      }
      await yieldToHost()
    }
    nowMs = Math.max(nowMs, targetMs)
  }

  return {
    now: () => nowMs,
    schedule (delayMs, fn) {
      const e: ScheduledEvent = { atMs: nowMs + Math.max(0, Math.round(delayMs)), seq: seq++, fn, cancelled: false }
      push(e)
      return () => { e.cancelled = true }
    },
    runFor: async (ms) => { await runTo(nowMs + Math.max(0, ms)) },
    async runUntil (pred, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000
      const stepMs = options.stepMs ?? 10
      const end = nowMs + timeoutMs
      await yieldToHost()
      while (!pred()) {
        if (nowMs >= end) return false
        await runTo(Math.min(end, nowMs + stepMs))
      }
      return true
    },
    pending: () => heap.length,
    eventsRun: () => ran
  }
}
