// Append-only, hash-chained audit log of the planner's decisions. Each record
// carries the previous record's hash; the hash covers the canonical JSON of
// {seq, atMs, kind, data, prevHash}. `verifyChain` detects an edited record
// (hash mismatch), a deleted or reordered one (sequence gap / broken link) and
// a malformed line. Removing records from the *end* leaves a valid shorter
// chain: publish `head()` elsewhere (the agent logs it; the mesh can gossip
// it) and pass it as `expectedHead` to detect truncation too.
//
// Stores: `createStoreAuditStore` keeps the lines in a sub-store of the
// agent's LevelDB store (@homeostat/store), in append order; agents before it
// kept a JSONL file (`createFileAuditStore`, deprecated), which
// `importLegacyAuditFile` imports once and renames aside.
import { createHash } from 'node:crypto'
import { open, readFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { AuditRecord } from '@homeostat/interface'
import { importLegacyOnce, readLegacyFile, StoreError, type LegacyImportResult, type Store } from '@homeostat/store'
import { PlannerError } from './errors.ts'

export const GENESIS_HASH = '0'.repeat(64)

/** Where the log's lines go. Implementations must only ever append. */
export interface AuditStore {
  append: (line: string) => Promise<void>
  readAll: () => Promise<string[]>
}

/** JSON with object keys sorted at every level, so the hash does not depend on insertion order. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null'
    return JSON.stringify(value) ?? 'null'
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

export function hashRecord (r: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalJson({ seq: r.seq, atMs: r.atMs, kind: r.kind, data: r.data, prevHash: r.prevHash })).digest('hex')
}

export type AuditProblem = 'malformed' | 'hash-mismatch' | 'broken-link' | 'sequence-gap' | 'truncated'

export interface VerifyResult {
  ok: boolean
  /** Records checked. */
  checked: number
  /** Index (position in the input) of the first bad record. */
  badIndex?: number
  problem?: AuditProblem
  detail?: string
}

export interface VerifyOptions {
  /** The chain's expected last record (detects truncation). */
  expectedHead?: { seq: number, hash: string }
  /** When verifying a tail of a longer log: the seq and prevHash the first record must have. */
  anchor?: { seq: number, prevHash: string }
}

function isRecord (x: unknown): x is AuditRecord {
  if (x === null || typeof x !== 'object') return false
  const r = x as Record<string, unknown>
  return Number.isInteger(r.seq) && typeof r.atMs === 'number' && typeof r.kind === 'string' &&
    r.data !== null && typeof r.data === 'object' && !Array.isArray(r.data) &&
    typeof r.prevHash === 'string' && typeof r.hash === 'string'
}

/** Verifies a chain given as records or as JSON lines. */
export function verifyChain (input: ReadonlyArray<AuditRecord | string>, options: VerifyOptions = {}): VerifyResult {
  let expectSeq = options.anchor?.seq ?? 0
  let expectPrev = options.anchor?.prevHash ?? GENESIS_HASH
  for (let i = 0; i < input.length; i++) {
    let r: unknown = input[i]
    if (typeof r === 'string') {
      try { r = JSON.parse(r) } catch { return { ok: false, checked: i, badIndex: i, problem: 'malformed', detail: 'not JSON' } }
    }
    if (!isRecord(r)) return { ok: false, checked: i, badIndex: i, problem: 'malformed', detail: 'not an audit record' }
    if (r.seq !== expectSeq) return { ok: false, checked: i, badIndex: i, problem: 'sequence-gap', detail: `expected seq ${expectSeq}, found ${r.seq}` }
    if (r.prevHash !== expectPrev) return { ok: false, checked: i, badIndex: i, problem: 'broken-link', detail: `record ${r.seq} does not point at the previous record` }
    if (hashRecord(r) !== r.hash) return { ok: false, checked: i, badIndex: i, problem: 'hash-mismatch', detail: `record ${r.seq} was altered` }
    expectSeq = r.seq + 1
    expectPrev = r.hash
  }
  const head = options.expectedHead
  if (head !== undefined && (expectSeq - 1 !== head.seq || expectPrev !== head.hash)) {
    return { ok: false, checked: input.length, badIndex: input.length, problem: 'truncated', detail: `chain ends at seq ${expectSeq - 1}, expected ${head.seq}` }
  }
  return { ok: true, checked: input.length }
}

export function createMemoryAuditStore (): AuditStore & { lines: string[] } {
  const lines: string[] = []
  return { lines, append: async (l) => { lines.push(l) }, readAll: async () => lines.slice() }
}

export interface FileAuditStoreOptions {
  /** fdatasync after every record (a decision is not attributable if a power cut loses it). */
  sync?: boolean
}

/**
 * One JSON record per line, opened in append mode only.
 * @deprecated Use `createStoreAuditStore` (and `importLegacyAuditFile` once for an existing file); kept for one release.
 */
export function createFileAuditStore (path: string, options: FileAuditStoreOptions = {}): AuditStore {
  const sync = options.sync ?? true
  return {
    async append (line) {
      if (line.includes('\n')) throw new PlannerError('ERR_AUDIT_STORE', 'an audit line must not contain a newline')
      await mkdir(dirname(path), { recursive: true })
      const fh = await open(path, 'a')
      try {
        await fh.write(`${line}\n`)
        if (sync) await fh.datasync()
      } finally {
        await fh.close()
      }
    },
    async readAll () {
      let text: string
      try { text = await readFile(path, 'utf8') } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw err
      }
      return text.split('\n').filter((l) => l.length > 0)
    }
  }
}

export const STORE_AUDIT_DEFAULTS = {
  /** Sub-store of the audit lines. */
  name: 'audit',
  /** fsync every record, as the file store's fdatasync did: a decision is not attributable if a power cut loses it. */
  sync: true,
  /** Longest line accepted: a decision with every alternative and its reasons is a few KB. */
  maxLineBytes: 256 * 1024
} as const

export interface StoreAuditStoreOptions {
  sync?: boolean
  maxLineBytes?: number
  /**
   * A `createFileAuditStore` file of an older agent: imported (`importLegacyAuditFile`) before the first
   * append or read, then renamed aside. If the import fails, that call rejects with its `StoreError`
   * (`STORE_LEGACY`), the file stays, and the next call tries again.
   */
  legacy?: { file: string, onImport?: (r: LegacyImportResult) => void }
}

/** Line keys: zero-padded sequence numbers, so LevelDB's key order is append order. */
const lineKey = (n: number): string => String(n).padStart(16, '0')
const LINE_KEY = /^\d{16}$/
const utf8 = (s: string): Uint8Array => { const b = Buffer.from(s, 'utf8'); return new Uint8Array(b.buffer, b.byteOffset, b.byteLength) }
const text = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8')

/**
 * The audit lines in a raw sub-store of the agent's LevelDB store, one entry per line under a sequence key.
 * Appends are written one after another in call order; each resolves once LevelDB has the line (and, with
 * `sync`, the default, once it is fsynced), so an acknowledged record survives SIGKILL and a power cut, and
 * the stored order is the chain's order. A failed append rejects (the audit log counts it) and leaves no gap.
 */
export function createStoreAuditStore (store: Pick<Store, 'raw' | 'sub' | 'batch'>, name: string = STORE_AUDIT_DEFAULTS.name, options: StoreAuditStoreOptions = {}): AuditStore {
  const sync = options.sync ?? STORE_AUDIT_DEFAULTS.sync
  const maxLineBytes = options.maxLineBytes ?? STORE_AUDIT_DEFAULTS.maxLineBytes
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new PlannerError('ERR_BAD_OPTIONS', `maxLineBytes must be a positive integer, got ${maxLineBytes}`)
  const raw = store.raw(name)
  let next: number | undefined
  /** Appends in flight, in order: the next one starts when the previous one settled. */
  let tail: Promise<unknown> = Promise.resolve()
  const legacy = options.legacy
  let imported: Promise<void> | undefined
  const ready = async (): Promise<void> => {
    if (legacy === undefined) return
    imported ??= importLegacyAuditFile(legacy.file, store, name).then((r) => { legacy.onImport?.(r) }, (err: unknown) => { imported = undefined; throw err })
    await imported
  }
  const start = async (): Promise<number> => {
    if (next !== undefined) return next
    await ready()
    for await (const [k] of raw.iterate({ reverse: true, limit: 1 })) {
      if (!LINE_KEY.test(k)) throw new PlannerError('ERR_AUDIT_STORE', `sub-store ${name} holds a key that is not an audit line ("${k.slice(0, 40)}")`)
      next = Number(k) + 1
    }
    next ??= 0
    return next
  }
  return {
    async append (line) {
      if (line.includes('\n')) throw new PlannerError('ERR_AUDIT_STORE', 'an audit line must not contain a newline')
      const bytes = utf8(line)
      if (bytes.byteLength > maxLineBytes) throw new PlannerError('ERR_AUDIT_STORE', `an audit line of ${bytes.byteLength} bytes is over the ${maxLineBytes}-byte limit`)
      const mine = tail.then(async () => {
        const n = await start()
        await raw.put(lineKey(n), bytes, { sync })
        next = n + 1
      })
      tail = mine.catch(() => {})
      await mine
    },
    async readAll () {
      await tail
      await ready()
      const out: string[] = []
      for await (const [, v] of raw.iterate()) out.push(text(v))
      return out
    }
  }
}

/**
 * Imports a `createFileAuditStore` file into the sub-store `createStoreAuditStore(store, name)` uses, once:
 * every non-empty line as it is (a torn or edited line stays so: `load` reports the chain broken, as it did),
 * in one atomic batch with a marker, then the file is renamed `<path>.migrated`. Call it before the planner
 * starts. A sub-store that already holds lines is not mixed with the file (two chains cannot be joined):
 * that is `STORE_LEGACY`, and the file stays where it is.
 */
export async function importLegacyAuditFile (path: string, store: Pick<Store, 'sub' | 'raw' | 'batch'>, name: string = STORE_AUDIT_DEFAULTS.name): Promise<LegacyImportResult> {
  return await importLegacyOnce(store, {
    id: `planner-audit:${name}`,
    path,
    read: async (p) => {
      for await (const _ of store.raw(name).iterate({ limit: 1 })) {
        throw new StoreError('STORE_LEGACY', `cannot import the audit log ${p}: sub-store ${name} already holds an audit chain (move the file away to keep the new chain, or clear ${name})`, p)
      }
      return (await readLegacyFile(p)).toString('utf8').split('\n').filter((l) => l.length > 0)
    },
    stage: (lines, b) => {
      lines.forEach((l, i) => b.putRaw(name, lineKey(i), utf8(l)))
      return lines.length
    }
  })
}

export interface AuditLogOptions {
  store?: AuditStore
  now: () => number
  /** Records kept in memory for `records()`; the store keeps everything. */
  maxInMemory?: number
}

export const AUDIT_DEFAULTS = {
  /** ~10k decisions is weeks of a busy node; older ones stay on disk. */
  maxInMemory: 10_000
} as const

export interface AuditLog {
  /** Reads the store, verifies it and continues its chain. A broken stored chain is reported, and the log continues from its last record (it never rewrites history). */
  load: () => Promise<VerifyResult>
  /** Appends synchronously (hash computed now); persistence is queued in order. */
  append: (kind: string, data: Record<string, unknown>) => AuditRecord
  /** Resolves when every appended record is in the store; rejects never (errors are counted). */
  flush: () => Promise<void>
  records: () => AuditRecord[]
  head: () => { seq: number, hash: string }
  /** Verifies the records held in memory (and the last loaded anchor). */
  verify: () => VerifyResult
  stats: () => { records: number, storeErrors: number }
}

export function createAuditLog (options: AuditLogOptions): AuditLog {
  const maxInMemory = options.maxInMemory ?? AUDIT_DEFAULTS.maxInMemory
  let mem: AuditRecord[] = []
  let anchor = { seq: 0, prevHash: GENESIS_HASH }
  let nextSeq = 0
  let lastHash = GENESIS_HASH
  let total = 0
  let storeErrors = 0
  let chain: Promise<void> = Promise.resolve()

  const keep = (r: AuditRecord): void => {
    mem.push(r)
    if (mem.length > maxInMemory) {
      mem = mem.slice(mem.length - maxInMemory)
      anchor = { seq: mem[0]!.seq, prevHash: mem[0]!.prevHash }
    }
  }

  return {
    async load () {
      if (options.store === undefined) return { ok: true, checked: 0 }
      const lines = await options.store.readAll()
      const result = verifyChain(lines)
      const parsed: AuditRecord[] = []
      for (const l of lines) {
        try {
          const r = JSON.parse(l) as unknown
          if (isRecord(r)) parsed.push(r)
        } catch { /* counted by verifyChain's result */ }
      }
      mem = parsed.slice(-maxInMemory)
      anchor = mem.length > 0 ? { seq: mem[0]!.seq, prevHash: mem[0]!.prevHash } : { seq: 0, prevHash: GENESIS_HASH }
      const last = parsed[parsed.length - 1]
      if (last !== undefined) {
        nextSeq = last.seq + 1
        lastHash = last.hash
      }
      total = parsed.length
      return result
    },
    append (kind, data) {
      const base = { seq: nextSeq, atMs: options.now(), kind, data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>, prevHash: lastHash }
      const r: AuditRecord = { ...base, hash: hashRecord(base) }
      nextSeq++
      lastHash = r.hash
      total++
      keep(r)
      const store = options.store
      if (store !== undefined) {
        const line = JSON.stringify(r)
        chain = chain.then(() => store.append(line)).catch(() => { storeErrors++ })
      }
      return r
    },
    flush: () => chain,
    records: () => mem.slice(),
    head: () => ({ seq: nextSeq - 1, hash: lastHash }),
    verify: () => verifyChain(mem, { anchor }),
    stats: () => ({ records: total, storeErrors })
  }
}
