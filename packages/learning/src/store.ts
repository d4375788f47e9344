// The store-like seam learning (and the planner) persist through: get/put of
// JSON values by key. The agent passes `createStoreJsonStore` (a sub-store of
// its LevelDB store, @homeostat/store); tests use the memory store. The file
// store (one JSON file per key, written atomically via rename) is what agents
// used before the LevelDB store: `importLegacyJsonDir` imports such a
// directory into the store once and renames it aside. The file store itself is
// kept for one release (deprecated) for callers that still construct it.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { importLegacyOnce, readLegacyFile, StoreError, type LegacyImportResult, type Store } from '@homeostat/store'
import { LearningError } from './errors.ts'

export interface JsonStore {
  /** The stored value, or undefined when the key was never written. */
  get: (key: string) => Promise<unknown>
  put: (key: string, value: unknown) => Promise<void>
}

export function createMemoryJsonStore (): JsonStore & { raw: Map<string, string> } {
  const raw = new Map<string, string>()
  return {
    raw,
    get: async (key) => {
      const v = raw.get(key)
      return v === undefined ? undefined : JSON.parse(v)
    },
    put: async (key, value) => { raw.set(key, JSON.stringify(value)) }
  }
}

const safeKey = (key: string): string => {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(key)) throw new LearningError('ERR_BAD_OPTIONS', `store key must match [A-Za-z0-9._-]{1,128}, got ${JSON.stringify(key)}`)
  return key
}

/**
 * Values live in `<dir>/<key>.json`; a write goes to a temp file first, so a crash never leaves half a file.
 * @deprecated Use `createStoreJsonStore` (and `importLegacyJsonDir` once for an existing directory); kept for one release.
 */
export function createFileJsonStore (dir: string): JsonStore {
  let seq = 0
  return {
    async get (key) {
      let text: string
      try {
        text = await readFile(join(dir, `${safeKey(key)}.json`), 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      try {
        return JSON.parse(text)
      } catch (err) {
        throw new LearningError('ERR_BAD_SNAPSHOT', `${key}.json is not valid JSON: ${(err as Error).message}`)
      }
    },
    async put (key, value) {
      await mkdir(dir, { recursive: true })
      const file = join(dir, `${safeKey(key)}.json`)
      const tmp = `${file}.${process.pid}.${seq++}.tmp`
      await writeFile(tmp, JSON.stringify(value))
      await rename(tmp, file)
    }
  }
}

export const STORE_JSON_DEFAULTS = {
  /** Largest value one key may hold; the learning state is bounded by its own caps (cells, history) far below this. */
  maxValueBytes: 16 * 1024 * 1024,
  /** false: a put survives SIGKILL, as the file store's did (it did not fsync either); true also survives power loss. */
  sync: false,
  /** Most `<key>.json` files `importLegacyJsonDir` imports from one directory (the learner writes one or two keys). */
  maxLegacyFiles: 256
} as const

export interface StoreJsonStoreOptions {
  maxValueBytes?: number
  sync?: boolean
  /**
   * A `createFileJsonStore` directory of an older agent: imported (`importLegacyJsonDir`) before the first
   * get or put, then renamed aside. If the import fails, that get or put rejects with its `StoreError`
   * (`STORE_LEGACY`), the directory stays, and the next call tries again.
   */
  legacy?: { dir: string, onImport?: (r: LegacyImportResult) => void }
}

/**
 * A `JsonStore` in a sub-store of the agent's LevelDB store: key → UTF-8 JSON text (a raw sub-store named
 * `name`). A put resolves once LevelDB has it in its write-ahead log (survives SIGKILL; with `sync` also a
 * power cut). Keys are checked as the file store checked them; a value that does not parse back is
 * `ERR_BAD_SNAPSHOT`, one over `maxValueBytes` is `ERR_SNAPSHOT_TOO_LARGE` and is not written.
 */
export function createStoreJsonStore (store: Pick<Store, 'raw' | 'sub' | 'batch'>, name: string, options: StoreJsonStoreOptions = {}): JsonStore {
  const maxValueBytes = options.maxValueBytes ?? STORE_JSON_DEFAULTS.maxValueBytes
  const sync = options.sync ?? STORE_JSON_DEFAULTS.sync
  if (!Number.isInteger(maxValueBytes) || maxValueBytes < 2) throw new LearningError('ERR_BAD_OPTIONS', `maxValueBytes must be an integer ≥ 2, got ${maxValueBytes}`)
  const raw = store.raw(name)
  const legacy = options.legacy
  let imported: Promise<void> | undefined
  const ready = async (): Promise<void> => {
    if (legacy === undefined) return
    imported ??= importLegacyJsonDir(legacy.dir, store, name, { maxValueBytes }).then((r) => { legacy.onImport?.(r) }, (err: unknown) => { imported = undefined; throw err })
    await imported
  }
  return {
    async get (key) {
      safeKey(key)
      await ready()
      const bytes = await raw.get(key)
      if (bytes === undefined) return undefined
      try {
        return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
      } catch (err) {
        throw new LearningError('ERR_BAD_SNAPSHOT', `${name}/${key} is not valid JSON: ${(err as Error).message}`)
      }
    },
    async put (key, value) {
      safeKey(key)
      const text = JSON.stringify(value) as string | undefined
      if (text === undefined) throw new LearningError('ERR_BAD_SNAPSHOT', `${name}/${key}: the value is not JSON (${typeof value})`)
      const bytes = Buffer.from(text, 'utf8')
      if (bytes.byteLength > maxValueBytes) throw new LearningError('ERR_SNAPSHOT_TOO_LARGE', `${name}/${key} would be ${bytes.byteLength} bytes, over the ${maxValueBytes}-byte limit`)
      await ready()
      await raw.put(key, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { sync })
    }
  }
}

const LEGACY_FILE = /^([A-Za-z0-9._-]{1,128})\.json$/

/**
 * Imports a `createFileJsonStore` directory into the sub-store `createStoreJsonStore(store, name)` uses, once:
 * every `<key>.json` is copied as it is (a corrupt one stays corrupt, and `load` reports it as before), in one
 * atomic batch with a marker, then the directory is renamed `<dir>.migrated`. A key the store holds already
 * keeps the store's value (it is newer than any legacy file). Temp files of an interrupted write are not
 * values and are left out. (`createStoreJsonStore`'s `legacy` option calls this before its first get or put.)
 */
export async function importLegacyJsonDir (dir: string, store: Pick<Store, 'raw' | 'sub' | 'batch'>, name: string, options: { maxValueBytes?: number } = {}): Promise<LegacyImportResult> {
  const maxValueBytes = options.maxValueBytes ?? STORE_JSON_DEFAULTS.maxValueBytes
  return await importLegacyOnce(store, {
    id: `learning-json:${name}`,
    path: dir,
    read: async (path) => {
      let names: string[]
      try { names = (await readdir(path)).filter((f) => LEGACY_FILE.test(f)).sort() } catch (err) {
        throw new StoreError('STORE_LEGACY', `cannot list legacy learning directory ${path}: ${(err as Error).message}`, path, { cause: err })
      }
      if (names.length > STORE_JSON_DEFAULTS.maxLegacyFiles) throw new StoreError('STORE_LEGACY', `legacy learning directory ${path} has ${names.length} values, over the ${STORE_JSON_DEFAULTS.maxLegacyFiles} an import takes`, path)
      const out: Array<[string, Uint8Array]> = []
      const held = store.raw(name)
      for (const f of names) {
        if (await held.has(LEGACY_FILE.exec(f)![1]!)) continue
        const bytes = await readLegacyFile(join(path, f), maxValueBytes)
        out.push([LEGACY_FILE.exec(f)![1]!, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)])
      }
      return out
    },
    stage: (values, b) => {
      for (const [k, v] of values) b.putRaw(name, k, v)
      return values.length
    }
  })
}
