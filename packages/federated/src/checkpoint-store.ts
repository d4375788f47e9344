// Checkpoints in the agent's LevelDB store (@homeostat/store): a raw sub-store,
// one entry per checkpoint under `ckpt-<version+1, 10 digits>` (the file
// names of `checkpointDir`, without `.bin`), so key order is version order.
// A write puts the new checkpoint and deletes the ones beyond `keep` in one
// atomic batch, fsynced by default (as the directory's temp file + fsync +
// rename was), so a crash leaves the old set or the new one, never a torn
// checkpoint. Reading back decodes, checks the hash and validates as the
// directory does; a bad entry is skipped and reported, and the previous one is
// used. `importLegacyCheckpointDir` imports an older agent's directory once.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { importLegacyOnce, readLegacyFile, StoreError, type LegacyImportResult, type Store } from '@homeostat/store'
import { CheckpointError } from './errors.ts'
import { decodeCheckpoint, encodeCheckpoint, validateCheckpoint } from './checkpoint.ts'
import { CHECKPOINT_DIR_DEFAULTS, type CheckpointDir } from './checkpoint-file.ts'

export const STORE_CHECKPOINT_DEFAULTS = {
  /** Raw sub-store of the checkpoints. */
  name: 'checkpoints',
  /** Checkpoints kept, as on disk: enough to step back past a bad one or two. */
  keep: CHECKPOINT_DIR_DEFAULTS.keep,
  /** Upper bound of `keep` (each checkpoint is up to ~1 MB). */
  maxKeep: 100,
  /** fsync each write, as the directory did: the last good model survives a power cut. */
  sync: true,
  /** Largest legacy checkpoint file imported (a 784-H-10 MLP of the largest size is ~10 MB as f32). */
  maxLegacyFileBytes: 64 * 1024 * 1024
} as const

export interface StoreCheckpointOptions {
  keep?: number
  sync?: boolean
  /**
   * A `checkpointDir` directory of an older agent: imported (`importLegacyCheckpointDir`) before the first
   * write, read or list, then renamed aside. If the import fails, that call rejects with its `StoreError`
   * (`STORE_LEGACY`), the directory stays, and the next call tries again.
   */
  legacy?: { dir: string, onImport?: (r: LegacyImportResult) => void }
}

const KEY = /^ckpt-\d{10}$/
const FILE = /^(ckpt-\d{10})\.bin$/
const keyOf = (version: number): string => `ckpt-${String(version + 1).padStart(10, '0')}`

const checkKeep = (keep: number): number => {
  if (!Number.isInteger(keep) || keep < 1 || keep > STORE_CHECKPOINT_DEFAULTS.maxKeep) throw new RangeError(`keep must be an integer in 1…${STORE_CHECKPOINT_DEFAULTS.maxKeep}, got ${keep}`)
  return keep
}

/** A `CheckpointDir` whose checkpoints live in the raw sub-store `name` of the store. `write` returns `<name>/<key>`. */
export function storeCheckpointDir (store: Pick<Store, 'raw' | 'sub' | 'batch'>, name: string, parameterCount: number, options: StoreCheckpointOptions = {}): CheckpointDir {
  const keep = checkKeep(options.keep ?? STORE_CHECKPOINT_DEFAULTS.keep)
  const sync = options.sync ?? STORE_CHECKPOINT_DEFAULTS.sync
  const raw = store.raw(name)
  const legacy = options.legacy
  let imported: Promise<void> | undefined
  const ready = async (): Promise<void> => {
    if (legacy === undefined) return
    imported ??= importLegacyCheckpointDir(legacy.dir, store, name, { keep }).then((r) => { legacy.onImport?.(r) }, (err: unknown) => { imported = undefined; throw err })
    await imported
  }
  const keys = async (): Promise<string[]> => {
    const out: string[] = []
    // Bounded: writes keep at most `keep` entries (an import may leave up to 2 × keep until the next write).
    for await (const [k] of raw.iterate({ prefix: 'ckpt-', limit: 4 * STORE_CHECKPOINT_DEFAULTS.maxKeep })) if (KEY.test(k)) out.push(k)
    return out
  }
  /** Serialises writes: each sees the keys the previous one left. */
  let tail: Promise<unknown> = Promise.resolve()
  return {
    async list () {
      await ready()
      return await keys()
    },
    async write (cp) {
      const bytes = encodeCheckpoint(cp)
      const key = keyOf(cp.version)
      const mine = tail.then(async () => {
        await ready()
        const all = [...new Set([...await keys(), key])].sort()
        const b = store.batch()
        b.putRaw(name, key, bytes)
        for (const old of all.slice(0, Math.max(0, all.length - keep))) b.delRaw(name, old)
        await b.write({ sync })
      })
      tail = mine.catch(() => {})
      await mine
      return `${name}/${key}`
    },
    async readLatest (bounds) {
      await ready()
      const skipped: Array<{ file: string, code: string, message: string }> = []
      for (const k of (await keys()).reverse()) {
        try {
          const bytes = await raw.get(k)
          if (bytes === undefined) throw new CheckpointError('FED_CHECKPOINT_MISSING', `checkpoint ${k} disappeared while reading`)
          const cp = decodeCheckpoint(bytes, parameterCount)
          validateCheckpoint(cp, bounds)
          return { checkpoint: cp, skipped }
        } catch (err) {
          const code = err instanceof CheckpointError ? err.code : err instanceof StoreError ? err.code : 'FED_CHECKPOINT_CORRUPT'
          skipped.push({ file: k, code, message: (err as Error).message })
        }
      }
      return { skipped }
    }
  }
}

/**
 * Imports a `checkpointDir` directory into the sub-store `storeCheckpointDir(store, name, …)` uses, once: the
 * newest `keep` `ckpt-*.bin` files as they are (a torn or corrupt one is skipped when read back, as on disk),
 * in one atomic batch with a marker, then the directory is renamed `<dir>.migrated`. A checkpoint the store
 * holds already is kept. Temp files of an interrupted write are left out.
 */
export async function importLegacyCheckpointDir (dir: string, store: Pick<Store, 'raw' | 'sub' | 'batch'>, name: string, options: { keep?: number } = {}): Promise<LegacyImportResult> {
  const keep = checkKeep(options.keep ?? STORE_CHECKPOINT_DEFAULTS.keep)
  return await importLegacyOnce(store, {
    id: `federated-checkpoints:${name}`,
    path: dir,
    read: async (path) => {
      let files: string[]
      try { files = (await readdir(path)).filter((f) => FILE.test(f)).sort() } catch (err) {
        throw new StoreError('STORE_LEGACY', `cannot list legacy checkpoint directory ${path}: ${(err as Error).message}`, path, { cause: err })
      }
      const out: Array<[string, Uint8Array]> = []
      const held = store.raw(name)
      for (const f of files.slice(-keep)) {
        const key = FILE.exec(f)![1]!
        if (await held.has(key)) continue
        const b = await readLegacyFile(join(path, f), STORE_CHECKPOINT_DEFAULTS.maxLegacyFileBytes)
        out.push([key, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)])
      }
      return out
    },
    stage: (entries, b) => {
      for (const [k, v] of entries) b.putRaw(name, k, v)
      return entries.length
    }
  })
}
