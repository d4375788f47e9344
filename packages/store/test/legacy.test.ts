// The one-time import of an older version's own files, and per-write fsync.
import { strict as assert } from 'node:assert'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importLegacyOnce, legacyMarkerKey, openStore, readLegacyFile, LEGACY_DEFAULTS, type LegacyImportSpec, type Store } from '../src/index.ts'

describe('store: legacy import', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'store-legacy-')) })
  afterEach(async () => { await store?.close(); store = undefined; rmSync(dir, { recursive: true, force: true }) })

  /** Imports the lines of a text file into the JSON sub-store `lines`. */
  const spec = (path: string, reads: { n: number }): LegacyImportSpec<string[]> => ({
    id: 'test-lines:lines',
    path,
    now: () => 42,
    read: async (p) => { reads.n++; return (await readLegacyFile(p)).toString('utf8').split('\n').filter((l) => l !== '') },
    stage: (lines, b) => { lines.forEach((l, i) => b.put('lines', String(i).padStart(4, '0'), l)); return lines.length }
  })

  it('imports once, atomically with its marker, then renames the file aside', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const file = join(dir, 'old.log')
    const reads = { n: 0 }
    assert.deepEqual(await importLegacyOnce(store, spec(file, reads)), { status: 'absent', path: file, items: 0 })
    writeFileSync(file, 'a\nb\nc\n')
    const r = await importLegacyOnce(store, spec(file, reads))
    assert.deepEqual(r, { status: 'imported', path: file, items: 3, movedTo: file + LEGACY_DEFAULTS.suffix })
    assert.equal(existsSync(file), false)
    assert.equal(readFileSync(file + '.migrated', 'utf8'), 'a\nb\nc\n', 'the old file is kept, aside')
    assert.deepEqual((await store.sub<string>('lines').entries()).map(([, v]) => v), ['a', 'b', 'c'])
    assert.deepEqual(await store.sub(LEGACY_DEFAULTS.markerSub).entries(), [[legacyMarkerKey('test-lines:lines', file), { path: file, items: 3, atMs: 42 }]])
    // Nothing to do any more, and the store is not touched.
    assert.deepEqual(await importLegacyOnce(store, spec(file, reads)), { status: 'already-imported', path: file, items: 0 })
    assert.equal(reads.n, 1)
  })

  it('a crash between the import and the rename: the next start renames, and never imports again', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const file = join(dir, 'old.log')
    writeFileSync(file, 'a\nb\n')
    const reads = { n: 0 }
    await importLegacyOnce(store, spec(file, reads))
    // As if the rename had not happened (killed right after the batch): the file is back, and the store moved on.
    writeFileSync(file, 'a\nb\n')
    await store.sub<string>('lines').put('0000', 'newer')
    const r = await importLegacyOnce(store, spec(file, reads))
    assert.equal(r.status, 'already-imported')
    assert.equal(reads.n, 1, 'not read again')
    assert.equal(await store.sub<string>('lines').get('0000'), 'newer', 'newer data is not overwritten')
    // `.migrated` exists from the first run: the second copy gets its own name, nothing is overwritten.
    assert.equal(r.movedTo, `${file}.migrated-42`)
    assert.equal(existsSync(file), false)
    assert.equal(existsSync(`${file}.migrated`), true)
  })

  it('an unreadable or too large legacy file fails with STORE_LEGACY and is left where it is; nothing is marked', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const file = join(dir, 'big.log')
    writeFileSync(file, 'x'.repeat(100))
    await assert.rejects(readLegacyFile(file, 10), { code: 'STORE_LEGACY', name: 'StoreError' })
    await assert.rejects(readLegacyFile(join(dir, 'nope'), 10), { code: 'STORE_LEGACY' })
    const s = { ...spec(file, { n: 0 }), read: async (p: string) => (await readLegacyFile(p, 10)).toString().split('\n') }
    await assert.rejects(importLegacyOnce(store, s), { code: 'STORE_LEGACY' })
    assert.equal(existsSync(file), true)
    assert.deepEqual(await store.sub(LEGACY_DEFAULTS.markerSub).entries(), [])
    assert.deepEqual(await store.sub('lines').entries(), [])
  })

  it('a write can ask for fsync on its own (put, del, batch, log append)', async () => {
    store = await openStore({ path: join(dir, 'db') })
    const kv = store.sub<number>('n')
    await kv.put('a', 1, { sync: true })
    await store.raw('r').put('b', new Uint8Array([1]), { sync: true })
    await store.batch().put('n', 'c', 3).write({ sync: true })
    await store.log.append('x', { n: 1 }, { sync: true })
    await kv.del('a', { sync: true })
    assert.deepEqual(await kv.entries(), [['c', 3]])
    assert.equal((await store.log.read()).length, 1)
  })
})
