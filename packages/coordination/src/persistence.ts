// Where a replica keeps its Yjs updates so an agent restarts with what it knew.
// The agent keeps them in its LevelDB store (`storePersistence`: a raw
// sub-store, values keyed by sequence); tests and the simulator use the
// in-memory one.
import type { Store } from '@homeostat/store'

export interface UpdatePersistence {
  /** Every update appended since the last `replace`, oldest first. */
  load: () => Promise<Uint8Array[]>
  append: (update: Uint8Array) => Promise<void>
  /** Replaces the log with one merged update (compaction). */
  replace: (merged: Uint8Array) => Promise<void>
}

export interface MemoryPersistence extends UpdatePersistence {
  /** Updates held, for tests. */
  size: () => number
}

/** Survives a simulated crash as long as the test keeps the object. */
export function createMemoryPersistence (): MemoryPersistence {
  let log: Uint8Array[] = []
  return {
    load: async () => [...log],
    append: async (u) => { log.push(u) },
    replace: async (m) => { log = [m] },
    size: () => log.length
  }
}

/** What `storePersistence` needs of @homeostat/store's `Store`. */
export type RawStore = Pick<Store, 'raw' | 'batch'>

/** Sequence keys, zero-padded so LevelDB's key order is numeric order. */
const seqKey = (n: number): string => String(n).padStart(16, '0')

/**
 * Yjs updates in a raw sub-store of the agent's LevelDB store (`@homeostat/store`): one entry per
 * update under a sequence key; compaction replaces them all with the merged update in one atomic
 * batch, so a crash mid-compaction leaves either the old entries or the merged one, never neither.
 * Each append resolves once LevelDB has it in its write-ahead log (survives SIGKILL).
 */
export function storePersistence (store: RawStore, sub: string): UpdatePersistence {
  const raw = store.raw(sub)
  /** Keys written since the last compaction (at most compactAfterUpdates + 1: bounded). */
  let keys: string[] = []
  let next = 0
  return {
    async load () {
      const entries = await raw.entries()
      keys = entries.map(([k]) => k)
      const last = keys[keys.length - 1]
      next = last === undefined ? 0 : Number(last) + 1
      return entries.map(([, v]) => v)
    },
    async append (u) {
      const k = seqKey(next++)
      await raw.put(k, u)
      keys.push(k)
    },
    async replace (merged) {
      const k = seqKey(next++)
      const b = store.batch()
      for (const old of keys) b.delRaw(sub, old)
      b.putRaw(sub, k, merged)
      await b.write()
      keys = [k]
    }
  }
}
