// The audit chain in the agent's LevelDB store, and the upgrade from the JSONL file.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'mocha'
import { openStore, type Store } from '@homeostat/store'
// The store-backed audit store lives beside the file one (src/index.ts exports audit.ts's names).
import { createAuditLog, createFileAuditStore, createStoreAuditStore, importLegacyAuditFile, verifyChain } from '../src/audit.ts'

describe('planner/audit log in the store', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-audit-store-')) })
  afterEach(async () => { await store?.close(); store = undefined; await rm(dir, { recursive: true, force: true }) })
  const reopen = async (): Promise<Store> => { await store?.close(); store = await openStore({ path: join(dir, 'db') }); return store }
  const linesOf = async (s: Store, name = 'audit'): Promise<string[]> => (await s.raw(name).entries()).map(([, v]) => Buffer.from(v).toString('utf8'))

  it('appends in order, reloads, continues the chain, and detects an edit in the store', async () => {
    let t = 100
    let s = await reopen()
    const a = createAuditLog({ store: createStoreAuditStore(s), now: () => ++t })
    assert.deepEqual(await a.load(), { ok: true, checked: 0 })
    for (let i = 0; i < 5; i++) a.append('decision', { i })
    await a.flush()
    assert.equal(a.stats().storeErrors, 0)
    s = await reopen()
    const b = createAuditLog({ store: createStoreAuditStore(s), now: () => ++t })
    assert.deepEqual(await b.load(), { ok: true, checked: 5 })
    b.append('decision', { i: 5 })
    await b.flush()
    const lines = await linesOf(s)
    assert.equal(lines.length, 6)
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { data: { i: number } }).data.i), [0, 1, 2, 3, 4, 5])
    assert.ok(verifyChain(lines, { expectedHead: b.head() }).ok)
    // Edited in place: the chain says which record.
    const keys = (await s.raw('audit').entries()).map(([k]) => k)
    await s.raw('audit').put(keys[2]!, new TextEncoder().encode(lines[2]!.replace('"i":2', '"i":7')))
    const c = createAuditLog({ store: createStoreAuditStore(s), now: () => ++t })
    const r = await c.load()
    assert.equal(r.ok, false)
    assert.equal(r.problem, 'hash-mismatch')
    assert.equal(r.badIndex, 2)
  })

  it('concurrent appends are stored in call order; bad lines are refused, and a failed write leaves no gap', async () => {
    const s = await reopen()
    const as = createStoreAuditStore(s, 'audit', { maxLineBytes: 64 })
    await Promise.all(Array.from({ length: 50 }, async (_, i) => { await as.append(`{"n":${i}}`) }))
    assert.deepEqual((await as.readAll()).map((l) => (JSON.parse(l) as { n: number }).n), Array.from({ length: 50 }, (_, i) => i))
    await assert.rejects(as.append('a\nb'), { code: 'ERR_AUDIT_STORE', name: 'PlannerError' })
    await assert.rejects(as.append('x'.repeat(65)), { code: 'ERR_AUDIT_STORE' })
    assert.throws(() => createStoreAuditStore(s, 'audit', { maxLineBytes: 0 }), { code: 'ERR_BAD_OPTIONS' })
    // A store that fails one write: that append rejects, the next one takes its place.
    const flaky = { ...s, raw: (n: string) => { const r = s.raw(n); let failed = false; return { ...r, put: async (k: string, v: Uint8Array, o?: { sync?: boolean }) => { if (!failed) { failed = true; throw new Error('disk full') } await r.put(k, v, o) } } } }
    const f = createStoreAuditStore(flaky, 'flaky')
    await assert.rejects(f.append('{"n":0}'), /disk full/)
    await f.append('{"n":1}')
    assert.deepEqual((await s.raw('flaky').entries()).map(([k]) => k), ['0000000000000000'])
  })

  it('an upgraded agent keeps its audit chain: the JSONL file is imported once and renamed aside; the chain continues', async () => {
    const file = join(dir, 'audit.log')
    let t = 0
    const old = createAuditLog({ store: createFileAuditStore(file), now: () => ++t })
    for (let i = 0; i < 4; i++) old.append('decision', { i })
    await old.flush()
    const head = old.head()

    let s = await reopen()
    const imported: unknown[] = []
    const a = createAuditLog({ store: createStoreAuditStore(s, 'audit', { legacy: { file, onImport: (r) => imported.push(r) } }), now: () => ++t })
    assert.deepEqual(await a.load(), { ok: true, checked: 4 })
    assert.deepEqual(a.head(), head)
    assert.deepEqual(imported, [{ status: 'imported', path: file, items: 4, movedTo: file + '.migrated' }])
    assert.equal(existsSync(file), false)
    a.append('decision', { i: 4 })
    await a.flush()

    s = await reopen()
    const b = createAuditLog({ store: createStoreAuditStore(s, 'audit', { legacy: { file } }), now: () => ++t })
    assert.deepEqual(await b.load(), { ok: true, checked: 5 }, 'not imported twice')
    assert.ok(verifyChain(await linesOf(s), { expectedHead: b.head() }).ok)
    assert.equal((await readFile(file + '.migrated', 'utf8')).trim().split('\n').length, 4)
  })

  it('a torn last line is imported as it was (the chain reports it); a store that holds a chain already is not mixed with a file', async () => {
    const file = join(dir, 'audit.log')
    let t = 0
    const old = createAuditLog({ store: createFileAuditStore(file), now: () => ++t })
    old.append('decision', { i: 0 })
    old.append('decision', { i: 1 })
    await old.flush()
    await appendFile(file, '{"seq":2,"atMs":3,"ki') // SIGKILL mid-append
    const s = await reopen()
    const r = await importLegacyAuditFile(file, s)
    assert.equal(r.items, 3)
    const a = createAuditLog({ store: createStoreAuditStore(s), now: () => ++t })
    const v = await a.load()
    assert.equal(v.ok, false)
    assert.equal(v.problem, 'malformed')
    assert.equal(v.badIndex, 2)

    const other = join(dir, 'other.log')
    const o = createAuditLog({ store: createFileAuditStore(other), now: () => ++t })
    o.append('decision', {})
    await o.flush()
    await assert.rejects(importLegacyAuditFile(other, s), { code: 'STORE_LEGACY' })
    assert.equal(existsSync(other), true, 'the file stays')
    const lazy = createStoreAuditStore(s, 'audit', { legacy: { file: other } })
    await assert.rejects(lazy.readAll(), { code: 'STORE_LEGACY' })
  })
})
