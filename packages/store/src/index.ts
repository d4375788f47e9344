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
  type StoreBatch
} from './store.ts'
