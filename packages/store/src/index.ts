export { StoreError, toStoreError, levelCode, type StoreErrorCode } from './errors.ts'
export {
  openStore,
  repairStore,
  STORE_DEFAULTS,
  type Store,
  type StoreOptions,
  type StoreStats,
  type EventLog,
  type LogEntry,
  type LogQuery,
  type KeyedStore,
  type RangeQuery,
  type StoreBatch,
  type WriteOptions
} from './store.ts'
export {
  importLegacyOnce,
  legacyMarkerKey,
  readLegacyFile,
  LEGACY_DEFAULTS,
  type LegacyImportSpec,
  type LegacyImportResult,
  type LegacyMarker
} from './legacy.ts'
