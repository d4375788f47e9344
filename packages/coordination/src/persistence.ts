// Where a replica keeps its Yjs updates so an agent restarts with what it knew.
// The store package backs this with a LevelDB sub-store (raw byte values keyed
// by sequence); tests and the simulator use the in-memory one.

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
