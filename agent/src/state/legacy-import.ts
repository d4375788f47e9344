// The agent's durable state lives in its store (<dataDir>/db); an agent upgraded
// from a version that kept files of its own imports each file once and renames
// it aside (*.migrated). This says so in the log, once.
import type { LegacyImportResult } from '@homeostat/store'

/** Logs a one-time import of a pre-store file (nothing when there was none, as on every later start). */
export function logImport (log: { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void }, what: string): (r: LegacyImportResult) => void {
  return (r) => {
    if (r.status === 'imported') log.info({ what, ...r }, `imported ${what} into the agent store`)
    if (r.moveError !== undefined) log.warn({ what, err: r.moveError }, `could not rename ${what} aside after importing it`)
  }
}
