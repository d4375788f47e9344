// A tiny typed emitter: `on` returns an unsubscribe; a throwing listener is
// logged and counted, never breaks the emitter.

export interface Logger {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

const noop = (): void => {}
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }

export type Unsubscribe = () => void

/** Injected timers, so a simulation can run the monitor on virtual time. */
export interface Scheduler {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>) }
}

export class Emitter<E extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof E, Set<(v: never) => void>>()
  listenerErrors = 0
  constructor (private readonly logger: Logger = silentLogger) {}

  on<K extends keyof E> (event: K, fn: (value: E[K]) => void): Unsubscribe {
    let set = this.listeners.get(event)
    if (set === undefined) { set = new Set(); this.listeners.set(event, set) }
    const f = fn as (v: never) => void
    set.add(f)
    return () => { set.delete(f) }
  }

  emit<K extends keyof E> (event: K, value: E[K]): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    for (const fn of [...set]) {
      try { (fn as (v: E[K]) => void)(value) } catch (err) {
        this.listenerErrors++
        this.logger.error({ err, event: String(event) }, 'listener threw')
      }
    }
  }
}
