// One-time import of what an older agent kept in files of its own (before all
// its state went through this store). The importer reads the legacy file or
// directory, stages its content in one atomic batch together with a marker
// ("imported", keyed by the import's id and the path), writes it with fsync,
// and then renames the legacy path aside (`<path>.migrated`).
//
// - A crash before the batch: nothing changed; the next start imports again.
// - A crash between the batch and the rename: the marker is there, so the next
//   start does not import again (that would overwrite or duplicate what was
//   written since); it only completes the rename.
// - A legacy path that cannot be renamed is reported, never imported twice.
import { createHash } from 'node:crypto'
import { open, rename, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { StoreError } from './errors.ts'
import type { Store, StoreBatch } from './store.ts'

export const LEGACY_DEFAULTS = {
  /** JSON sub-store with one marker per import done, keyed by the import's id. */
  markerSub: 'migrations',
  /** Appended to a legacy file or directory once it is imported. */
  suffix: '.migrated',
  /** Largest legacy file read into memory (the old implementations read whole files too). */
  maxFileBytes: 256 * 1024 * 1024
} as const

/** What the store remembers of an import. */
export interface LegacyMarker {
  path: string
  items: number
  atMs: number
}

export interface LegacyImportSpec<T> {
  /** Stable id of this import (e.g. `learning-json:learning`); the store remembers it is done for this id and path. */
  id: string
  /** The legacy file or directory. */
  path: string
  /** Reads it (only when it exists and was not imported yet). Throw `StoreError` `STORE_LEGACY` when it cannot be read. */
  read: (path: string) => Promise<T>
  /** Adds the data to the batch, which is written atomically with the marker; returns how many items it staged. */
  stage: (data: T, batch: StoreBatch) => number
  now?: () => number
}

export interface LegacyImportResult {
  /** `absent`: nothing to import; `imported`: imported now; `already-imported`: an earlier start did (a left-over path is renamed now). */
  status: 'absent' | 'imported' | 'already-imported'
  path: string
  /** Items imported by this call (0 unless `imported`). */
  items: number
  /** Where the legacy path was moved. */
  movedTo?: string
  /** The legacy path could not be renamed aside (it is not imported again: the marker says it was). */
  moveError?: string
}

const exists = async (path: string): Promise<boolean> => {
  try { await stat(path); return true } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new StoreError('STORE_LEGACY', `cannot look at legacy path ${path}: ${(err as Error).message}`, path, { cause: err })
  }
}

/** Renames `path` to `<path>.migrated` (or `<path>.migrated-<ms>` when that exists already: never overwrites). */
async function moveAside (path: string, now: () => number): Promise<{ movedTo?: string, moveError?: string }> {
  let to = path + LEGACY_DEFAULTS.suffix
  if (await exists(to)) to = `${to}-${now()}`
  try {
    await rename(path, to)
    return { movedTo: to }
  } catch (err) {
    return { moveError: `renaming ${path} to ${to} failed: ${(err as Error).message}` }
  }
}

/** The marker's key: the import's id and a digest of the absolute path (a path can be longer than a key may be). */
export function legacyMarkerKey (id: string, path: string): string {
  return `${id}@${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 32)}`
}

/** Imports a legacy file or directory once (see the top of this file). */
export async function importLegacyOnce<T> (store: Pick<Store, 'sub' | 'batch'>, spec: LegacyImportSpec<T>): Promise<LegacyImportResult> {
  const now = spec.now ?? Date.now
  const markers = store.sub<LegacyMarker>(LEGACY_DEFAULTS.markerSub)
  const markerKey = legacyMarkerKey(spec.id, spec.path)
  const done = await markers.get(markerKey)
  const present = await exists(spec.path)
  if (done !== undefined) {
    if (!present) return { status: 'already-imported', path: spec.path, items: 0 }
    return { status: 'already-imported', path: spec.path, items: 0, ...await moveAside(spec.path, now) }
  }
  if (!present) return { status: 'absent', path: spec.path, items: 0 }
  const data = await spec.read(spec.path)
  const b = store.batch()
  const items = spec.stage(data, b)
  b.put<LegacyMarker>(LEGACY_DEFAULTS.markerSub, markerKey, { path: spec.path, items, atMs: now() })
  // fsync before the rename: the legacy copy goes away only once the imported one survives a power cut.
  await b.write({ sync: true })
  return { status: 'imported', path: spec.path, items, ...await moveAside(spec.path, now) }
}

/** Reads a whole legacy file, at most `maxBytes` (STORE_LEGACY when larger or unreadable). */
export async function readLegacyFile (path: string, maxBytes: number = LEGACY_DEFAULTS.maxFileBytes): Promise<Buffer> {
  let fh
  try { fh = await open(path, 'r') } catch (err) {
    throw new StoreError('STORE_LEGACY', `cannot open legacy file ${path}: ${(err as Error).message}`, path, { cause: err })
  }
  try {
    const { size } = await fh.stat()
    if (size > maxBytes) throw new StoreError('STORE_LEGACY', `legacy file ${path} is ${size} bytes, over the ${maxBytes}-byte import limit: move it away or import it by hand`, path)
    return await fh.readFile()
  } catch (err) {
    if (err instanceof StoreError) throw err
    throw new StoreError('STORE_LEGACY', `cannot read legacy file ${path}: ${(err as Error).message}`, path, { cause: err })
  } finally {
    await fh.close()
  }
}
