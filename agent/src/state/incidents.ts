// The agent's incident book: every incident this node (and, on the cloud peer,
// the fleet) has seen, most recently detected first, bounded, and persisted in
// the agent's LevelDB store so `homeostat report` survives restarts.
//
// The book answers from memory (a bounded index, least recently updated
// dropped first) and is usable before the store opens: `attach(store)` loads
// the records kept there (importing a pre-store `incidents.jsonl` journal once)
// and from then on writes every change to the store's `incidents` sub-store, one
// record per incident, in coalesced batches. `upsert` stays synchronous; a
// change is durable once `flush()` resolves (it survives SIGKILL from then on).
// `detach()` flushes and stops writing (call it before closing the store).
import { HomeostatError, incidentSchema, type Incident } from '@homeostat/interface'
import { importLegacyOnce, readLegacyFile, type LegacyImportResult, type Store } from '@homeostat/store'
import type { EventBus } from './events.ts'

export const INCIDENT_DEFAULTS = {
  /** Incidents kept in memory and in the store. A fleet of 100 nodes with one incident an hour each fills this in ~2 days; the least recently updated ones are dropped (from the store too). */
  maxIncidents: 5000,
  /** JSON sub-store of the records: one per incident, keyed by node and id. */
  subStore: 'incidents',
  /** Records written per store batch (a burst of changes coalesces into batches of at most this many). */
  writeBatchMax: 256,
  /** Largest pre-store journal imported (5000 incidents × 3 versions each of a few KB fit well below it). */
  maxJournalBytes: 256 * 1024 * 1024
} as const

/** The book's own failures. */
export class IncidentBookError extends HomeostatError {
  constructor (code: 'INCIDENTS_ATTACHED', message: string) {
    super(code, message)
    this.name = 'IncidentBookError'
  }
}

export interface IncidentQuery {
  limit?: number
  status?: Incident['status']
  node?: string
  component?: string
  /** Only incidents opened at or after this physical time. */
  sinceMs?: number
}

/**
 * When the incident was detected (its first `detected` step), else when it was opened. The
 * fault onset (`openedAtMs`) can be minutes earlier than detection (a disk filling slowly), so
 * ordering by it would put a just-detected incident below older ones.
 */
export function detectedAtMs (inc: Incident): number {
  return inc.steps.find((s) => s.kind === 'detected')?.atMs ?? inc.openedAtMs
}

export interface AttachOptions {
  /** A pre-store journal (`<dataDir>/incidents.jsonl`): imported once, then renamed `<file>.migrated`. */
  legacyJournal?: string
}

export interface AttachResult {
  /** Incidents loaded from the store (after the import, before trimming to maxIncidents). */
  loaded: number
  /** Stored records that failed validation: skipped and deleted. */
  invalid: number
  /** The journal import, when a journal was named. */
  imported?: LegacyImportResult & { rejected: number }
}

export interface IncidentBook {
  /** Inserts or replaces the incident with this id (and node); emits an `incident` event. Invalid records are rejected and counted. Durable once `flush()` resolves (when attached). */
  upsert: (incident: Incident, origin?: 'local' | 'remote') => boolean
  get: (id: string) => Incident | undefined
  /** Newest first by detection time (`detectedAtMs`). */
  list: (q?: IncidentQuery) => Incident[]
  all: () => Incident[]
  /** Loads the store's records (and imports a legacy journal once); from then on every change is written there. Incidents upserted before are kept (they are newer) and written. */
  attach: (store: Pick<Store, 'sub' | 'batch'>, options?: AttachOptions) => Promise<AttachResult>
  /** Resolves when every change so far is in the store; rejects with the store's error if a write failed (the changes stay queued and are retried by the next upsert or flush). */
  flush: () => Promise<void>
  /** Flushes, then stops writing (later changes stay in memory). Call before closing the store. */
  detach: () => Promise<void>
  readonly attached: boolean
  readonly rejected: number
  readonly size: number
  /** Failed store writes. */
  readonly storeErrors: number
}

export interface IncidentBookInit {
  events?: EventBus
  maxIncidents?: number
  onReject?: (why: string) => void
  /** A store write failed (it is retried on the next change or flush). */
  onStoreError?: (err: Error) => void
}

/** What one stored record holds: `seq` orders records by their last update (the index's eviction order). */
interface StoredIncident { seq: number, incident: Incident }

const keyOf = (node: string, id: string): string => `${node}\u0000${id}`

/** Parses a pre-store journal as the old book loaded it: later lines replace earlier ones of the same incident, torn lines are skipped. */
function parseJournal (text: string, max: number): { incidents: Incident[], rejected: number } {
  const byKey = new Map<string, Incident>()
  let rejected = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const inc = incidentSchema.parse(JSON.parse(line)) as Incident
      const k = keyOf(inc.node, inc.id)
      byKey.delete(k)
      byKey.set(k, inc)
    } catch { rejected++ /* a torn last line after SIGKILL */ }
    while (byKey.size > max) byKey.delete(byKey.keys().next().value as string)
  }
  return { incidents: [...byKey.values()], rejected }
}

/**
 * Imports a pre-store journal into the book's sub-store once (one atomic batch with a marker), then renames it
 * `<file>.migrated`. Its records sort before everything the store holds (they are older); an incident the
 * store holds already keeps the store's version. `attach({ legacyJournal })` calls this.
 */
export async function importLegacyIncidentJournal (file: string, store: Pick<Store, 'sub' | 'batch'>, options: { maxIncidents?: number, subStore?: string } = {}): Promise<LegacyImportResult & { rejected: number }> {
  const max = options.maxIncidents ?? INCIDENT_DEFAULTS.maxIncidents
  const sub = options.subStore ?? INCIDENT_DEFAULTS.subStore
  let rejected = 0
  const r = await importLegacyOnce(store, {
    id: `agent-incidents:${sub}`,
    path: file,
    read: async (path) => {
      const parsed = parseJournal((await readLegacyFile(path, INCIDENT_DEFAULTS.maxJournalBytes)).toString('utf8'), max)
      rejected = parsed.rejected
      const held = store.sub<StoredIncident>(sub)
      const fresh: Incident[] = []
      for (const inc of parsed.incidents) if (!(await held.has(keyOf(inc.node, inc.id)))) fresh.push(inc)
      return fresh
    },
    stage: (incidents, b) => {
      incidents.forEach((incident, i) => b.put<StoredIncident>(sub, keyOf(incident.node, incident.id), { seq: i - incidents.length, incident }))
      return incidents.length
    }
  })
  return { ...r, rejected }
}

export function createIncidentBook (init: IncidentBookInit = {}): IncidentBook {
  const max = init.maxIncidents ?? INCIDENT_DEFAULTS.maxIncidents
  const sub = INCIDENT_DEFAULTS.subStore
  /** Insertion order = least recently updated first (the eviction order). */
  const byKey = new Map<string, Incident>()
  let nextSeq = 0
  let rejected = 0
  let storeErrors = 0
  let store: Pick<Store, 'sub' | 'batch'> | undefined
  let attaching = false
  /** Changes not yet written: a record to put, or null to delete. At most one per key: bounded by maxIncidents + the keys that may be stored. */
  const pending = new Map<string, StoredIncident | null>()
  /** Keys that may be in the store (written, or in a batch in flight): an evicted one is deleted there too. */
  const stored = new Set<string>()
  let writing: Promise<void> | undefined

  const evict = (): void => {
    while (byKey.size > max) {
      const k = byKey.keys().next().value as string
      byKey.delete(k)
      if (stored.has(k)) pending.set(k, null)
      else pending.delete(k)
    }
  }
  const remember = (k: string, inc: Incident): void => {
    byKey.delete(k)
    byKey.set(k, inc)
    const seq = nextSeq++
    if (store !== undefined || attaching) pending.set(k, { seq, incident: inc })
    evict()
  }

  const drain = async (): Promise<void> => {
    await Promise.resolve() // let a burst of synchronous upserts coalesce into one batch
    while (pending.size > 0 && store !== undefined) {
      const chunk: Array<[string, StoredIncident | null]> = []
      for (const e of pending) {
        chunk.push(e)
        if (chunk.length >= INCIDENT_DEFAULTS.writeBatchMax) break
      }
      const b = store.batch()
      for (const [k, v] of chunk) {
        pending.delete(k)
        if (v === null) b.del(sub, k)
        else { b.put<StoredIncident>(sub, k, v); stored.add(k) }
      }
      try {
        await b.write()
      } catch (err) {
        // Back in the queue unless a newer change of that incident came meanwhile.
        for (const [k, v] of chunk) if (!pending.has(k)) pending.set(k, v)
        storeErrors++
        init.onStoreError?.(err as Error)
        throw err
      }
      for (const [k, v] of chunk) if (v === null && !pending.has(k)) stored.delete(k)
    }
  }
  const kick = (): Promise<void> => {
    writing ??= drain().finally(() => { writing = undefined })
    return writing
  }

  const book: IncidentBook = {
    upsert (incident, origin = 'local') {
      const r = incidentSchema.safeParse(incident)
      if (!r.success) {
        rejected++
        init.onReject?.(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
        return false
      }
      const inc = r.data as Incident
      remember(keyOf(inc.node, inc.id), inc)
      if (store !== undefined) kick().catch(() => { /* counted and reported in drain; retried by the next change or flush */ })
      init.events?.emit('incident', { origin, incident: inc })
      return true
    },
    get (id) {
      for (const inc of byKey.values()) if (inc.id === id) return inc
      return undefined
    },
    list (q = {}) {
      const out: Incident[] = []
      const all = [...byKey.values()].map((i) => ({ i, at: detectedAtMs(i) })).sort((a, b) => b.at - a.at)
      for (const { i } of all) {
        if (q.status !== undefined && i.status !== q.status) continue
        if (q.node !== undefined && i.node !== q.node) continue
        if (q.component !== undefined && i.component !== q.component) continue
        if (q.sinceMs !== undefined && i.openedAtMs < q.sinceMs) continue
        out.push(i)
        if (q.limit !== undefined && out.length >= q.limit) break
      }
      return out
    },
    all () { return [...byKey.values()] },
    async attach (s, options = {}) {
      if (store !== undefined || attaching) throw new IncidentBookError('INCIDENTS_ATTACHED', 'the incident book is attached to a store already (detach it first)')
      attaching = true
      try {
        const result: AttachResult = { loaded: 0, invalid: 0 }
        if (options.legacyJournal !== undefined) {
          result.imported = await importLegacyIncidentJournal(options.legacyJournal, s, { maxIncidents: max, subStore: sub })
          rejected += result.imported.rejected
        }
        const held: Array<[string, StoredIncident]> = []
        const bad: string[] = []
        for await (const [k, v] of s.sub<unknown>(sub).iterate()) {
          const rec = v as Partial<StoredIncident> | null
          const parsed = rec !== null && typeof rec === 'object' && Number.isSafeInteger(rec.seq) ? incidentSchema.safeParse(rec.incident) : undefined
          if (parsed?.success !== true || keyOf(parsed.data.node, parsed.data.id) !== k) { bad.push(k); continue }
          held.push([k, { seq: rec!.seq!, incident: parsed.data as Incident }])
        }
        held.sort((a, b) => a[1].seq - b[1].seq)
        result.loaded = held.length
        result.invalid = bad.length
        // What was upserted before attaching is newer than anything stored: it goes after, and is written.
        const early = [...byKey.entries()]
        byKey.clear()
        for (const [k] of held) stored.add(k)
        for (const k of bad) { stored.add(k); pending.set(k, null) }
        nextSeq = Math.max(0, (held[held.length - 1]?.[1].seq ?? -1) + 1)
        for (const [k, v] of held) byKey.set(k, v.incident)
        for (const [k, inc] of early) remember(k, inc)
        evict()
        store = s
        if (pending.size > 0) kick().catch(() => { /* counted and reported in drain */ })
        return result
      } finally {
        attaching = false
      }
    },
    async flush () {
      while (store !== undefined && (pending.size > 0 || writing !== undefined)) await kick()
    },
    async detach () {
      try { await book.flush() } finally { store = undefined }
    },
    get attached () { return store !== undefined },
    get rejected () { return rejected },
    get size () { return byKey.size },
    get storeErrors () { return storeErrors }
  }
  return book
}

/** A book attached to `store` (see `createIncidentBook` and `attach`). */
export async function openIncidentBook (init: IncidentBookInit & AttachOptions & { store: Pick<Store, 'sub' | 'batch'> }): Promise<IncidentBook & { attachResult: AttachResult }> {
  const book = createIncidentBook(init)
  const attachResult = await book.attach(init.store, init.legacyJournal !== undefined ? { legacyJournal: init.legacyJournal } : {})
  return Object.assign(book, { attachResult })
}
