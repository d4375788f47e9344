// Injected time: every component takes `now` and `timers`, so tests run many
// agents in one process on the simulated mesh's virtual clock. The one Timers
// shape lives in @homeostat/interface; these names stay for this package's callers.
import { every as everyOn, realTimers as real, sleepOn, type Timers as SharedTimers } from '@homeostat/interface'

export type Timers = SharedTimers

/** Node's timers, unref'd so a coordinator never keeps a process alive on its own. */
export const realTimers: Timers = real

export const sleep = async (timers: Timers, ms: number): Promise<void> => await sleepOn(timers, ms)

/** Calls `fn` every `everyMs` (± jitter) until the returned function is called. */
export const every = everyOn
