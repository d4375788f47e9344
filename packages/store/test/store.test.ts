import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, basename } from 'node:path'
import { createHlc, encode } from '@homeostat/hlc'
import { Level } from 'level'
import { openStore, type Store } from '../src/index.ts'

describe('store: event log, sub-stores, batches', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'store-')) })
  afterEach(async () => { await store?.close(); store = undefined; rmSync(dir, { recursive: true, force: true }) })

  it('appends in HLC order and reads ranges by time and kind', async () => {
    let t = 1_000_000
    store = await openStore({ path: join(dir, 'db'), nodeId: 'n1', now: () => t })
    const a = await store.log.append('anomaly', { n: 1 })
    const b = await store.log.append('incident.opened', { n: 2 }) // same wall ms: logical counter orders it
    t += 10
    const c = await store.log.append('anomaly', { n: 3 })
    assert.ok(a.key < b.key && b.key < c.key)
    assert.deepEqual((await store.log.read()).map((e) => e.record), [{ n: 1 }, { n: 2 }, { n: 3 }])
    assert.deepEqual((await store.log.read({ kind: 'anomaly' })).map((e) => e.record), [{ n: 1 }, { n: 3 }])
    assert.deepEqual((await store.log.read({ fromHlc: b.hlc })).map((e) => e.record), [{ n: 2 }, { n: 3 }])
    assert.deepEqual((await store.log.read({ toHlc: c.hlc })).map((e) => e.record), [{ n: 1 }, { n: 2 }])
    assert.deepEqual((await store.log.read({ kind: 'anomaly', fromHlc: b.hlc })).map((e) => e.record), [{ n: 3 }])
    assert.deepEqual((await store.log.read({ reverse: true, limit: 1 })).map((e) => e.record), [{ n: 3 }])
    assert.deepEqual((await store.log.last('incident.opened'))?.record, { n: 2 })
    assert.equal(c.atMs, t)
  })

  it('accepts a remote event time and places it in clock order', async () => {
    store = await openStore({ path: join(dir, 'db'), nodeId: 'n1', now: () => 5_000 })
    await store.log.append('x', { n: 'local' })
    const remote = encode({ wallMs: 4_000, logical: 0, node: 'peer' })
    await store.log.append('x', { n: 'remote' }, { hlc: remote })
    await store.log.append('x', { n: 'remote-dup' }, { hlc: remote }) // same time: both kept
    assert.deepEqual((await store.log.read()).map((e) => (e.record as { n: string }).n).slice(0, 2).sort(), ['remote', 'remote-dup'])
    await assert.rejects(store.log.append('x', {}, { hlc: 'nonsense' }), { code: 'STORE_INVALID' })
    await assert.rejects(store.log.append('Bad Kind', {}), { code: 'STORE_INVALID' })
  })

  it('keeps clock order across a reopen even when the wall clock stepped back', async () => {
    const path = join(dir, 'db')
    let s = await openStore({ path, nodeId: 'n1', now: () => 9_000_000 })
    const before = await s.log.append('x', { n: 1 })
    await s.close()
    s = await openStore({ path, hlc: createHlc({ nodeId: 'n1', now: () => 1_000 }) })
    store = s
    const after = await s.log.append('x', { n: 2 })
    assert.ok(after.key > before.key)
    assert.deepEqual((await s.log.read()).map((e) => e.record), [{ n: 1 }, { n: 2 }])
  })

  it('keyed JSON and raw sub-stores: get/put/del/has/iterate with prefixes', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const kv = store.sub<{ v: number }>('components')
    await kv.put('a/1', { v: 1 })
    await kv.put('a/2', { v: 2 })
    await kv.put('b/1', { v: 3 })
    assert.deepEqual(await kv.get('a/2'), { v: 2 })
    assert.equal(await kv.get('zzz'), undefined)
    assert.equal(await kv.has('b/1'), true)
    assert.deepEqual((await kv.entries({ prefix: 'a/' })).map(([k]) => k), ['a/1', 'a/2'])
    await kv.del('a/1')
    assert.deepEqual((await kv.entries()).map(([k]) => k), ['a/2', 'b/1'])
    // a different sub-store with the same keys does not see them
    assert.equal(await store.sub('other').get('a/2'), undefined)
    const raw = store.raw('yjs')
    const bytes = new Uint8Array([0, 255, 1, 128])
    await raw.put('doc', bytes)
    const got = await raw.get('doc')
    assert.ok(got instanceof Uint8Array)
    assert.deepEqual([...got], [0, 255, 1, 128])
    assert.throws(() => store!.sub('Bad/Name'), { code: 'STORE_INVALID' })
  })

  it('batches across sub-stores are atomic and report the entries they append', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const b = store.batch()
    b.put('incidents', 'i1', { status: 'open' }).putRaw('ckpt', 'v1', new Uint8Array([7]))
    const e = b.append('incident.opened', { id: 'i1' })
    assert.equal(b.length, 4)
    assert.equal(await store.sub('incidents').get('i1'), undefined, 'nothing visible before write')
    await b.write()
    assert.deepEqual(await store.sub('incidents').get('i1'), { status: 'open' })
    assert.deepEqual((await store.log.last('incident.opened'))?.key, e.key)
    const d = store.batch().del('incidents', 'i1').delRaw('ckpt', 'v1')
    await d.write()
    assert.equal(await store.raw('ckpt').get('v1'), undefined)
    assert.deepEqual(store.stats().batches, 2)
  })

  it('after close every operation fails with STORE_CLOSED', async () => {
    const s = await openStore({ path: join(dir, 'db') })
    const kv = s.sub('a')
    await s.close()
    assert.equal(s.status, 'closed')
    await assert.rejects(kv.put('k', 1), { code: 'STORE_CLOSED' })
    await assert.rejects(s.log.append('x', {}), { code: 'STORE_CLOSED' })
    await assert.rejects(s.log.read(), { code: 'STORE_CLOSED' })
  })

  it('a second open of the same path in this process is STORE_LOCKED', async () => {
    store = await openStore({ path: join(dir, 'db') })
    await assert.rejects(openStore({ path: join(dir, 'db') }), { code: 'STORE_LOCKED' })
  })

  it('a corrupt database is STORE_CORRUPT with guidance; move-aside starts empty and keeps the old files', async () => {
    const path = join(dir, 'db')
    const s = await openStore({ path })
    for (let i = 0; i < 50; i++) await s.log.append('x', { i })
    await s.close()
    writeFileSync(join(path, 'CURRENT'), 'MANIFEST-garbage') // no trailing newline: LevelDB calls this corruption
    await assert.rejects(openStore({ path }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORE_CORRUPT')
      assert.match(err.message, /onCorrupt/)
      return true
    })
    // It fails the same way every time (no half-opened state, no retry loop inside).
    await assert.rejects(openStore({ path }), { code: 'STORE_CORRUPT' })
    store = await openStore({ path, onCorrupt: 'move-aside' })
    assert.equal((await store.log.read()).length, 0)
    assert.ok(readdirSync(dirname(path)).some((f) => f.startsWith(`${basename(path)}.corrupt-`)))
  })

  it('a stored value that does not decode is STORE_CORRUPT for that read, and the store stays usable', async () => {
    const path = join(dir, 'db')
    const raw = new Level<string, string>(path, { valueEncoding: 'utf8' })
    await raw.open()
    await raw.sublevel<string, string>('kv-items', { valueEncoding: 'utf8' }).put('bad', '{not json')
    await raw.close()
    store = await openStore({ path })
    await assert.rejects(store.sub('items').get('bad'), { code: 'STORE_CORRUPT' })
    await assert.rejects(store.sub('items').entries(), { code: 'STORE_CORRUPT' })
    await store.sub('items').put('good', { ok: true })
    assert.deepEqual(await store.sub('items').get('good'), { ok: true })
    assert.equal(store.stats().errors, 2)
  })

  it('onCorrupt: repair recovers the records LevelDB can rebuild', async () => {
    const path = join(dir, 'db')
    const s = await openStore({ path })
    for (let i = 0; i < 50; i++) await s.log.append('x', { i })
    await s.close()
    writeFileSync(join(path, 'CURRENT'), 'MANIFEST-garbage')
    store = await openStore({ path, onCorrupt: 'repair' })
    assert.equal((await store.log.read()).length, 50)
  })
})

describe('store: log retention', () => {
  it('prune deletes old entries (all kinds or one kind), bounded per call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-prune-'))
    let t = 1_000
    const s = await openStore({ path: join(dir, 'db'), nodeId: 'n1', now: () => t })
    try {
      for (let i = 0; i < 30; i++) { t += 10; await s.log.append(i % 2 === 0 ? 'even' : 'odd', { i }) }
      const cut = (await s.log.read())[20]!.hlc
      assert.equal(await s.log.prune({ beforeHlc: cut, kind: 'even' }), 10)
      assert.equal((await s.log.read({ kind: 'even' })).length, 5)
      assert.equal((await s.log.read({ kind: 'odd' })).length, 15)
      assert.equal(await s.log.prune({ beforeHlc: cut, max: 4 }), 4)
      assert.equal(await s.log.prune({ beforeHlc: cut }), 6)
      const rest = await s.log.read()
      assert.equal(rest.length, 10)
      assert.ok(rest.every((e) => e.hlc >= cut))
      assert.equal((await s.log.read({ kind: 'odd' })).length, 5, 'kind index pruned too')
    } finally { await s.close(); rmSync(dir, { recursive: true, force: true }) }
  })
})
