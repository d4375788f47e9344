// A tiny typed emitter: `on` returns an unsubscribe; a throwing listener is
// logged and counted, never breaks the emitter.
import { realTimers, silentLogger, type Logger, type Timers } from '@homeostat/interface'

export { silentLogger, type Logger }

export type Unsubscribe = () => void

/** Injected timers, so a simulation can run the monitor on virtual time (the shared Timers shape). */
export type Scheduler = Timers

/** Node's timers, unref'd. */
export const realScheduler: Scheduler = realTimers

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
