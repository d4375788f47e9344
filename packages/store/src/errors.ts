// One error class for the store; `code` is stable and what callers branch on.
import { HomeostatError } from '@homeostat/interface'

export type StoreErrorCode =
  /** Another process (or another open handle) holds the database lock. */
  | 'STORE_LOCKED'
  /** LevelDB reports corruption (or a stored value does not decode). */
  | 'STORE_CORRUPT'
  /** The store was closed (or never opened). */
  | 'STORE_CLOSED'
  /** A bad name, kind or key from the caller. */
  | 'STORE_INVALID'
  /** Any other I/O failure (disk full, permissions). */
  | 'STORE_IO'
  /** A file of an older version's own persistence could not be imported (unreadable, too large). */
  | 'STORE_LEGACY'

export class StoreError extends HomeostatError {
  constructor (readonly storeCode: StoreErrorCode, message: string, readonly path?: string, options?: { cause?: unknown }) {
    super(storeCode, message, options)
    this.name = 'StoreError'
  }
}

interface LevelishError { code?: string, cause?: LevelishError, message?: string }

/** The innermost LEVEL_* code of a level error (open errors wrap the real one in `cause`). */
export function levelCode (err: unknown): string | undefined {
  let e = err as LevelishError | undefined
  let code: string | undefined
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    if (typeof e.code === 'string' && e.code !== 'LEVEL_DATABASE_NOT_OPEN') code = e.code
    e = e.cause
  }
  return code ?? (err as LevelishError | undefined)?.code
}

/** Maps a level error to a StoreError with guidance. */
export function toStoreError (err: unknown, path: string, doing: string): StoreError {
  if (err instanceof StoreError) return err
  const code = levelCode(err)
  const detail = (err as Error)?.cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error)?.message
  if (code === 'LEVEL_LOCKED') {
    return new StoreError('STORE_LOCKED', `store at ${path} is locked by another process (is another agent using the same data directory?) while ${doing}: ${detail}`, path, { cause: err })
  }
  if (code === 'LEVEL_CORRUPTION' || code === 'LEVEL_DECODE_ERROR') {
    return new StoreError('STORE_CORRUPT', `store at ${path} is corrupt while ${doing}: ${detail}. Open it with { onCorrupt: 'repair' } (LevelDB repair, may lose the damaged tail) or { onCorrupt: 'move-aside' } (start empty, keep the old files)`, path, { cause: err })
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN') {
    return new StoreError('STORE_CLOSED', `store at ${path} is not open while ${doing}`, path, { cause: err })
  }
  return new StoreError('STORE_IO', `store at ${path} failed while ${doing}: ${detail ?? String(err)}`, path, { cause: err })
}
