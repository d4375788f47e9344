// LevelDB persistence for every package: an HLC-keyed append-only event log,
// keyed JSON sub-stores, raw byte sub-stores, and atomic batches across them.
//
// Durability: a write is acknowledged when LevelDB has appended it to its
// write-ahead log. With the default `sync: false` that survives the process
// being SIGKILLed (the data is in the kernel's page cache); `sync: true`
// fsyncs every write and also survives power loss, at a cost of milliseconds.
import { rename } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { Level } from 'level'
import { createHlc, decode, encode, compare, type Hlc, type HlcTimestamp } from '@homeostat/hlc'
import { StoreError, levelCode, toStoreError } from './errors.ts'

export const STORE_DEFAULTS = {
  /** Survives a process kill; set true to survive power loss too (fsync per write). */
  sync: false,
  /** Refuse to guess: a corrupt database is reported, not silently changed. */
  onCorrupt: 'throw' as const,
  /** Cap on entries returned by one `read` call when no limit is given (a read must not pull the whole log into memory). */
  readLimit: 10_000,
  /** LevelDB block cache: small, this runs on a Raspberry Pi. */
  cacheSizeBytes: 4 * 1024 * 1024
} as const

export interface StoreOptions {
  /** Directory of the LevelDB database (created if missing). */
  path: string
  /** Clock for log keys; defaults to a private HLC with `nodeId`. Pass the agent's HLC to share one clock. */
  hlc?: Hlc
  nodeId?: string
  now?: () => number
  sync?: boolean
  /** What to do when LevelDB reports corruption on open. */
  onCorrupt?: 'throw' | 'repair' | 'move-aside'
  cacheSizeBytes?: number
}

export interface LogEntry<T = unknown> {
  /** The LevelDB key: encoded HLC + a unique suffix; sorts in clock order. */
  key: string
  /** Encoded HLC of the event. */
  hlc: string
  kind: string
  /** Physical time of the append, ms (for humans and local durations). */
  atMs: number
  record: T
}

export interface LogQuery {
  /** Inclusive lower bound, an encoded HLC (or a timestamp). */
  fromHlc?: string | HlcTimestamp
  /** Exclusive upper bound. */
  toHlc?: string | HlcTimestamp
  kind?: string
  limit?: number
  reverse?: boolean
}

/** Per-write options. */
export interface WriteOptions {
  /**
   * fsync this write before it resolves (survives power loss), even when the store was opened
   * with `sync: false`. It cannot weaken a store opened with `sync: true`.
   */
  sync?: boolean
}

export interface EventLog {
  /** Appends a record stamped with the store's HLC (or `hlc` when given, e.g. a remote event's time). */
  append: <T>(kind: string, record: T, opts?: { hlc?: string | HlcTimestamp } & WriteOptions) => Promise<LogEntry<T>>
  read: <T = unknown>(q?: LogQuery) => Promise<Array<LogEntry<T>>>
  iterate: <T = unknown>(q?: LogQuery) => AsyncIterable<LogEntry<T>>
  last: <T = unknown>(kind?: string) => Promise<LogEntry<T> | undefined>
  /**
   * Retention: deletes entries older than `beforeHlc` (all kinds, or one kind),
   * at most `max` per call (default 10,000) so a prune never holds the store
   * for long. Returns how many were deleted.
   */
  prune: (opts: { beforeHlc: string | HlcTimestamp, kind?: string, max?: number }) => Promise<number>
}

export interface RangeQuery {
  prefix?: string
  gte?: string
  lt?: string
  limit?: number
  reverse?: boolean
}

export interface KeyedStore<V> {
  readonly name: string
  get: (key: string) => Promise<V | undefined>
  put: (key: string, value: V, opts?: WriteOptions) => Promise<void>
  del: (key: string, opts?: WriteOptions) => Promise<void>
  has: (key: string) => Promise<boolean>
  iterate: (q?: RangeQuery) => AsyncIterable<[string, V]>
  entries: (q?: RangeQuery) => Promise<Array<[string, V]>>
}

export interface StoreBatch {
  put: <V>(sub: string, key: string, value: V) => StoreBatch
  del: (sub: string, key: string) => StoreBatch
  putRaw: (sub: string, key: string, value: Uint8Array) => StoreBatch
  delRaw: (sub: string, key: string) => StoreBatch
  /** Adds a log append to the batch; returns the entry it will write. */
  append: <T>(kind: string, record: T, opts?: { hlc?: string | HlcTimestamp }) => LogEntry<T>
  readonly length: number
  /** Writes everything atomically: all or nothing. */
  write: (opts?: WriteOptions) => Promise<void>
}

export interface StoreStats {
  appends: number
  puts: number
  dels: number
  batches: number
  errors: number
}

export interface Store {
  readonly path: string
  readonly status: 'open' | 'closed'
  readonly log: EventLog
  /** A keyed sub-store of JSON values. */
  sub: <V = unknown>(name: string) => KeyedStore<V>
  /** A keyed sub-store of raw bytes (Yjs updates, checkpoints). */
  raw: (name: string) => KeyedStore<Uint8Array>
  batch: () => StoreBatch
  close: () => Promise<void>
  stats: () => StoreStats
}

const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/
const KIND_RE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/
/** Separates the HLC from the uniqueness suffix; below every printable char, so `encode` order is kept. */
const KEY_SEP = '\x00'
/** Upper bound for keys with a given prefix. */
const HIGH = '\uffff'

function checkName (name: string, what: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new StoreError('STORE_INVALID', `${what} "${String(name)}" must match ${NAME_RE.source}`)
}
function checkKey (key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw new StoreError('STORE_INVALID', 'keys must be non-empty strings of at most 1024 characters')
}
const hlcString = (h: string | HlcTimestamp): string => typeof h === 'string' ? h : encode(h)

/** Repairs a LevelDB directory in place (may drop a damaged tail). */
export async function repairStore (path: string): Promise<void> {
  // `level` is classic-level on Node; its typings omit the static repair.
  try { await (Level as unknown as { repair: (p: string) => Promise<void> }).repair(path) } catch (err) { throw toStoreError(err, path, 'repairing') }
}

export async function openStore (options: StoreOptions): Promise<Store> {
  const path = options.path
  const now = options.now ?? Date.now
  const hlc = options.hlc ?? createHlc({ nodeId: options.nodeId ?? 'local', now })
  const sync = options.sync ?? STORE_DEFAULTS.sync
  const onCorrupt = options.onCorrupt ?? STORE_DEFAULTS.onCorrupt
  const mk = (): Level<string, unknown> => new Level<string, unknown>(path, { valueEncoding: 'json', cacheSize: options.cacheSizeBytes ?? STORE_DEFAULTS.cacheSizeBytes } as object)

  let db = mk()
  try {
    await db.open()
  } catch (err) {
    const code = levelCode(err)
    if (code !== 'LEVEL_CORRUPTION' || onCorrupt === 'throw') throw toStoreError(err, path, 'opening')
    if (onCorrupt === 'repair') {
      await repairStore(path)
    } else {
      await rename(path, `${path}.corrupt-${Date.now()}`).catch((e) => { throw toStoreError(e, path, 'moving a corrupt store aside') })
    }
    db = mk()
    try { await db.open() } catch (err2) { throw toStoreError(err2, path, `opening after ${onCorrupt}`) }
  }

  const counters: StoreStats = { appends: 0, puts: 0, dels: 0, batches: 0, errors: 0 }
  let closed = false
  // classic-level honours `sync`; the universal typings do not list it.
  const writeOpts = { sync } as object
  const syncOpts = { sync: true } as object
  const optsOf = (o?: WriteOptions): object => o?.sync === true ? syncOpts : writeOpts
  const logDb = db.sublevel<string, LogEntry>('log', { valueEncoding: 'json' })
  const kindDb = db.sublevel<string, string>('logk', { valueEncoding: 'utf8' })
  const session = randomBytes(4).toString('hex')
  let seq = 0

  const guard = async <R>(doing: string, fn: () => Promise<R>): Promise<R> => {
    if (closed) throw new StoreError('STORE_CLOSED', `store at ${path} is closed (${doing})`, path)
    try { return await fn() } catch (err) {
      counters.errors++
      throw toStoreError(err, path, doing)
    }
  }

  // Local stamps must sort after everything already in the log, even if the
  // wall clock stepped back across a restart: `floor` is the last local key.
  let floor: HlcTimestamp | undefined
  for await (const k of logDb.keys({ reverse: true, limit: 1 })) {
    try { floor = decode(k.slice(0, k.indexOf(KEY_SEP))) } catch { /* foreign key: ignore */ }
  }
  const stamp = (): HlcTimestamp => {
    let t = hlc.now()
    if (floor !== undefined && compare(t, floor) <= 0) t = { wallMs: floor.wallMs, logical: floor.logical + 1, node: hlc.nodeId }
    floor = t
    return t
  }
  const makeEntry = <T>(kind: string, record: T, given?: string | HlcTimestamp): LogEntry<T> => {
    if (typeof kind !== 'string' || !KIND_RE.test(kind)) throw new StoreError('STORE_INVALID', `log kind "${String(kind)}" must match ${KIND_RE.source}`)
    let h: string
    if (given !== undefined) {
      h = hlcString(given)
      try { decode(h) } catch { throw new StoreError('STORE_INVALID', `"${h}" is not an encoded HLC timestamp`) }
    } else {
      h = encode(stamp())
    }
    const key = `${h}${KEY_SEP}${session}${(seq++).toString(36).padStart(6, '0')}`
    return { key, hlc: h, kind, atMs: now(), record }
  }
  const kindKey = (kind: string, key: string): string => `${kind}!${key}`

  const logRange = (q: LogQuery): { gte?: string, lt?: string, limit: number, reverse: boolean } => {
    const r: { gte?: string, lt?: string, limit: number, reverse: boolean } = { limit: q.limit ?? STORE_DEFAULTS.readLimit, reverse: q.reverse ?? false }
    if (q.fromHlc !== undefined) r.gte = hlcString(q.fromHlc)
    if (q.toHlc !== undefined) r.lt = hlcString(q.toHlc)
    return r
  }

  async function * iterateLog<T> (q: LogQuery = {}): AsyncGenerator<LogEntry<T>> {
    if (closed) throw new StoreError('STORE_CLOSED', `store at ${path} is closed (reading the log)`, path)
    const r = logRange(q)
    try {
      if (q.kind === undefined) {
        for await (const [, v] of logDb.iterator(r)) yield v as LogEntry<T>
        return
      }
      const base = `${q.kind}!`
      const kr = { gte: base + (r.gte ?? ''), lt: r.lt !== undefined ? base + r.lt : `${q.kind}"`, limit: r.limit, reverse: r.reverse }
      const keys: string[] = []
      for await (const k of kindDb.keys(kr)) {
        keys.push(k.slice(base.length))
        if (keys.length >= 256) { for (const v of await logDb.getMany(keys.splice(0))) if (v !== undefined) yield v as LogEntry<T> }
      }
      for (const v of await logDb.getMany(keys)) if (v !== undefined) yield v as LogEntry<T>
    } catch (err) {
      counters.errors++
      throw toStoreError(err, path, 'reading the log')
    }
  }

  const log: EventLog = {
    async append (kind, record, opts = {}) {
      const e = makeEntry(kind, record, opts.hlc)
      await guard('appending to the log', async () => {
        await db.batch([
          { type: 'put', sublevel: logDb, key: e.key, value: e as LogEntry },
          { type: 'put', sublevel: kindDb, key: kindKey(kind, e.key), value: '' }
        ] as never, optsOf(opts))
      })
      counters.appends++
      return e
    },
    async read (q) {
      const out = []
      for await (const e of iterateLog(q)) out.push(e)
      return out as never
    },
    iterate: (q) => iterateLog(q),
    async last (kind) {
      for await (const e of iterateLog({ kind, reverse: true, limit: 1 })) return e as never
      return undefined
    },
    async prune ({ beforeHlc, kind, max }) {
      const victims: LogEntry[] = []
      const q: LogQuery = { toHlc: beforeHlc, limit: max ?? STORE_DEFAULTS.readLimit }
      if (kind !== undefined) q.kind = kind
      for await (const e of iterateLog(q)) victims.push(e)
      if (victims.length === 0) return 0
      await guard('pruning the log', async () => {
        await db.batch(victims.flatMap((e) => [
          { type: 'del', sublevel: logDb, key: e.key },
          { type: 'del', sublevel: kindDb, key: kindKey(e.kind, e.key) }
        ]) as never, writeOpts)
      })
      counters.dels += victims.length
      return victims.length
    }
  }

  const subs = new Map<string, KeyedStore<unknown>>()
  const makeSub = <V>(prefix: 'kv' | 'raw', name: string): KeyedStore<V> => {
    checkName(name, 'sub-store name')
    const id = `${prefix}-${name}`
    const existing = subs.get(id)
    if (existing !== undefined) return existing as KeyedStore<V>
    const s = db.sublevel<string, V>(id, { valueEncoding: prefix === 'raw' ? 'view' : 'json' })
    const range = (q: RangeQuery = {}): { gte?: string, lt?: string, limit: number, reverse: boolean } => {
      const r: { gte?: string, lt?: string, limit: number, reverse: boolean } = { limit: q.limit ?? -1, reverse: q.reverse ?? false }
      if (q.prefix !== undefined) { r.gte = q.prefix; r.lt = q.prefix + HIGH }
      if (q.gte !== undefined) r.gte = q.gte
      if (q.lt !== undefined) r.lt = q.lt
      return r
    }
    async function * iterate (q?: RangeQuery): AsyncGenerator<[string, V]> {
      if (closed) throw new StoreError('STORE_CLOSED', `store at ${path} is closed (iterating ${name})`, path)
      try {
        for await (const kv of s.iterator(range(q))) yield kv
      } catch (err) {
        counters.errors++
        throw toStoreError(err, path, `iterating ${name}`)
      }
    }
    const store: KeyedStore<V> = {
      name,
      get: async (key) => { checkKey(key); return await guard(`reading ${name}/${key}`, async () => await s.get(key)) },
      put: async (key, value, opts) => { checkKey(key); await guard(`writing ${name}/${key}`, async () => { await s.put(key, value, optsOf(opts)) }); counters.puts++ },
      del: async (key, opts) => { checkKey(key); await guard(`deleting ${name}/${key}`, async () => { await s.del(key, optsOf(opts)) }); counters.dels++ },
      has: async (key) => { checkKey(key); return await guard(`reading ${name}/${key}`, async () => (await s.get(key)) !== undefined) },
      iterate,
      entries: async (q) => { const out: Array<[string, V]> = []; for await (const kv of iterate(q)) out.push(kv); return out }
    }
    subs.set(id, store as KeyedStore<unknown>)
    return store
  }
  const sublevels = new Map<string, unknown>()
  const sublevelOf = (prefix: 'kv' | 'raw', name: string): unknown => {
    const id = `${prefix}-${name}`
    let s = sublevels.get(id)
    if (s === undefined) {
      checkName(name, 'sub-store name')
      s = db.sublevel<string, unknown>(id, { valueEncoding: prefix === 'raw' ? 'view' : 'json' })
      sublevels.set(id, s)
    }
    return s
  }

  return {
    path,
    get status () { return closed ? 'closed' as const : 'open' as const },
    log,
    sub: <V>(name: string) => makeSub<V>('kv', name),
    raw: (name) => makeSub<Uint8Array>('raw', name),
    batch () {
      type Op = { type: 'put' | 'del', sublevel: unknown, key: string, value?: unknown }
      const ops: Op[] = []
      let appends = 0
      let puts = 0
      let dels = 0
      const b: StoreBatch = {
        put (sub, key, value) { checkKey(key); ops.push({ type: 'put', sublevel: sublevelOf('kv', sub), key, value } as Op); puts++; return b },
        del (sub, key) { checkKey(key); ops.push({ type: 'del', sublevel: sublevelOf('kv', sub), key } as Op); dels++; return b },
        putRaw (sub, key, value) { checkKey(key); ops.push({ type: 'put', sublevel: sublevelOf('raw', sub), key, value } as Op); puts++; return b },
        delRaw (sub, key) { checkKey(key); ops.push({ type: 'del', sublevel: sublevelOf('raw', sub), key } as Op); dels++; return b },
        append (kind, record, opts = {}) {
          const e = makeEntry(kind, record, opts.hlc)
          ops.push({ type: 'put', sublevel: logDb, key: e.key, value: e } as Op)
          ops.push({ type: 'put', sublevel: kindDb, key: kindKey(kind, e.key), value: '' } as Op)
          appends++
          return e
        },
        get length () { return ops.length },
        async write (opts) {
          if (ops.length === 0) return
          await guard('writing a batch', async () => { await db.batch(ops.splice(0) as never, optsOf(opts)) })
          counters.batches++
          counters.appends += appends
          counters.puts += puts
          counters.dels += dels
        }
      }
      return b
    },
    async close () {
      if (closed) return
      closed = true
      try { await db.close() } catch (err) { throw toStoreError(err, path, 'closing') }
    },
    stats: () => ({ ...counters })
  }
}
