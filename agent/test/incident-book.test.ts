// The incident book in the agent's LevelDB store: attached after creation,
// bounded in memory and in the store, durable once flushed, and the one-time
// import of the journal agents kept before (`incidents.jsonl`).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Incident } from '@homeostat/interface'
import { openStore, type Store } from '@homeostat/store'
import { createEventBus } from '../src/state/events.ts'
import { createIncidentBook, importLegacyIncidentJournal, openIncidentBook, INCIDENT_DEFAULTS } from '../src/state/incidents.ts'

const HLC = '0'.repeat(21)
const incident = (id: string, atMs: number, status: Incident['status'] = 'open', node = 'n1'): Incident => ({
  id, node, component: 'web', targetKind: 'process', failureClass: 'crash', status, openedAtMs: atMs,
  steps: [{ kind: 'opened', hlc: HLC, atMs, summary: `opened ${id}` }, { kind: 'detected', hlc: HLC, atMs: atMs + 1, summary: `detected ${id}` }],
  anomalies: []
})

describe('incident book: the store', function () {
  this.timeout(20_000)
  let dir: string
  let store: Store | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-book-')) })
  afterEach(async () => { await store?.close(); store = undefined; await rm(dir, { recursive: true, force: true }) })
  const reopen = async (): Promise<Store> => { await store?.close(); store = await openStore({ path: join(dir, 'db') }); return store }
  const stored = async (s: Store): Promise<string[]> => (await s.sub<{ incident: Incident }>(INCIDENT_DEFAULTS.subStore).entries()).map(([, v]) => v.incident.id).sort()

  it('is usable before the store opens; attach loads what was stored, keeps what came before, and writes from then on', async () => {
    let s = await reopen()
    const first = await openIncidentBook({ store: s })
    first.upsert(incident('a', 1000))
    first.upsert(incident('b', 2000))
    first.upsert({ ...incident('a', 1000), status: 'recovered' })
    await first.detach()
    s = await reopen()

    const events = createEventBus({ now: Date.now })
    const seen: string[] = []
    events.subscribe((e) => { if (e.type === 'incident') seen.push((e.data as { incident: Incident }).incident.id) })
    const book = createIncidentBook({ events })
    assert.equal(book.attached, false)
    assert.equal(book.upsert(incident('early', 3000)), true) // before the store opened (the daemon's API answers then)
    await book.flush() // nothing to write to: resolves
    const r = await book.attach(s)
    assert.deepEqual(r, { loaded: 2, invalid: 0 })
    assert.equal(book.attached, true)
    assert.deepEqual(book.list().map((i) => i.id), ['early', 'b', 'a'])
    assert.equal(book.get('a')?.status, 'recovered')
    assert.deepEqual(seen, ['early'], 'loading emits no events')
    await book.flush()
    assert.deepEqual(await stored(s), ['a', 'b', 'early'])
    await assert.rejects(book.attach(s), { code: 'INCIDENTS_ATTACHED', name: 'IncidentBookError' })
    // Detached: later changes stay in memory only.
    await book.detach()
    book.upsert(incident('late', 4000))
    s = await reopen()
    const again = await openIncidentBook({ store: s })
    assert.deepEqual(again.list().map((i) => i.id), ['early', 'b', 'a'])
    await again.detach()
  })

  it('bounded: the least recently updated incident is dropped from memory and from the store; the order survives a reopen', async () => {
    let s = await reopen()
    const book = await openIncidentBook({ store: s, maxIncidents: 3 })
    for (const id of ['a', 'b', 'c']) book.upsert(incident(id, 1000))
    book.upsert({ ...incident('a', 1000), status: 'recovering' }) // a is now the most recent
    book.upsert(incident('d', 1000)) // b goes
    await book.flush()
    assert.deepEqual(book.all().map((i) => i.id), ['c', 'a', 'd'])
    assert.deepEqual(await stored(s), ['a', 'c', 'd'])
    await book.detach()
    s = await reopen()
    const again = await openIncidentBook({ store: s, maxIncidents: 3 })
    assert.deepEqual(again.all().map((i) => i.id), ['c', 'a', 'd'], 'eviction order kept across the restart')
    again.upsert(incident('e', 1000)) // c goes
    await again.flush()
    assert.deepEqual(await stored(s), ['a', 'd', 'e'])
    // A smaller bound after a restart trims the store too.
    await again.detach()
    s = await reopen()
    const small = await openIncidentBook({ store: s, maxIncidents: 1 })
    await small.flush()
    assert.deepEqual(small.all().map((i) => i.id), ['e'])
    assert.deepEqual(await stored(s), ['e'])
    await small.detach()
  })

  it('same id on two nodes are two incidents; invalid records are rejected, and invalid stored ones skipped and deleted', async () => {
    const s = await reopen()
    const reasons: string[] = []
    const book = await openIncidentBook({ store: s, onReject: (why) => reasons.push(why) })
    book.upsert(incident('x', 1000, 'open', 'n1'))
    book.upsert(incident('x', 1000, 'open', 'n2'), 'remote')
    assert.equal(book.upsert({ ...incident('y', 1), status: 'nonsense' as never }), false)
    assert.equal(book.rejected, 1)
    assert.equal(reasons.length, 1)
    await book.detach()
    const sub = s.sub<unknown>(INCIDENT_DEFAULTS.subStore)
    await sub.put('n1\u0000junk', { seq: 9, incident: { id: 'junk' } })
    await sub.put('n1\u0000wrongkey', { seq: 10, incident: incident('other', 1) })
    const again = createIncidentBook({})
    assert.deepEqual(await again.attach(s), { loaded: 2, invalid: 2 })
    assert.equal(again.size, 2)
    await again.flush()
    assert.deepEqual(await stored(s), ['x', 'x'])
    await again.detach()
  })

  it('a failed write is counted, reported, makes flush reject, and is retried by the next change', async () => {
    const s = await reopen()
    let fail = 1
    const flaky = {
      sub: s.sub.bind(s),
      batch: () => {
        const b = s.batch()
        const write = b.write.bind(b)
        return Object.assign(b, { write: async () => { if (fail > 0) { fail--; throw new Error('disk full') } await write() } })
      }
    }
    const errors: string[] = []
    const book = await openIncidentBook({ store: flaky, onStoreError: (e) => errors.push(e.message) })
    book.upsert(incident('a', 1000))
    await assert.rejects(book.flush(), /disk full/)
    assert.equal(book.storeErrors, 1)
    assert.deepEqual(errors, ['disk full'])
    book.upsert(incident('b', 1000))
    await book.flush()
    assert.deepEqual(await stored(s), ['a', 'b'])
    await book.detach()
  })

  it('an upgraded agent keeps its incidents: the old journal is imported once (latest version of each, torn line skipped) and renamed aside', async () => {
    const journal = join(dir, 'incidents.jsonl')
    const lines = [incident('a', 1000), incident('b', 2000), { ...incident('a', 1000), status: 'recovered' }, incident('c', 500)].map((i) => JSON.stringify(i))
    await writeFile(journal, lines.join('\n') + '\n')
    await appendFile(journal, '{"id":"d","node":"n1","comp') // SIGKILL mid-append
    let s = await reopen()
    const book = createIncidentBook({})
    const r = await book.attach(s, { legacyJournal: journal })
    assert.deepEqual(r, { loaded: 3, invalid: 0, imported: { status: 'imported', path: journal, items: 3, movedTo: journal + '.migrated', rejected: 1 } })
    assert.equal(book.rejected, 1)
    assert.deepEqual(book.all().map((i) => i.id), ['b', 'a', 'c'], 'journal order: a was updated after b')
    assert.equal(book.get('a')?.status, 'recovered')
    assert.deepEqual(book.list().map((i) => i.id), ['b', 'a', 'c'], 'newest detected first')
    assert.equal(existsSync(journal), false)
    assert.equal((await readFile(journal + '.migrated', 'utf8')).split('\n').length, 5, 'kept as it was')
    book.upsert(incident('e', 3000))
    await book.detach()

    // Next start: the stored book, nothing imported again; records newer than the journal come after it.
    s = await reopen()
    const again = createIncidentBook({})
    const r2 = await again.attach(s, { legacyJournal: journal })
    assert.equal(r2.imported?.status, 'already-imported')
    assert.deepEqual(again.all().map((i) => i.id), ['b', 'a', 'c', 'e'])
    await again.detach()
  })

  it('a journal import keeps the store\'s version of an incident it holds already, and stays within maxIncidents', async () => {
    const journal = join(dir, 'incidents.jsonl')
    await writeFile(journal, ['a', 'b', 'c', 'd'].map((id) => JSON.stringify(incident(id, 1000))).join('\n') + '\n')
    const s = await reopen()
    const early = await openIncidentBook({ store: s })
    early.upsert({ ...incident('d', 1000), status: 'recovered' })
    await early.detach()
    const r = await importLegacyIncidentJournal(journal, s, { maxIncidents: 3 })
    assert.equal(r.items, 2, 'b and c: a fell out of the bound, d is held already')
    const book = await openIncidentBook({ store: s })
    assert.deepEqual(book.all().map((i) => i.id), ['b', 'c', 'd'])
    assert.equal(book.get('d')?.status, 'recovered')
    await book.detach()
  })
})
