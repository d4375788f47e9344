// storePersistence on a real LevelDB store: a document's updates survive a
// close and reopen, compaction leaves exactly the merged update, and a store
// reopened after compaction loads the same document.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { openStore } from '@homeostat/store'
import { storePersistence } from '../src/index.ts'

describe('coordination persistence in the LevelDB store', function () {
  this.timeout(30_000)
  let dir = ''
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'homeostat-coord-store-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  const reload = async (path: string): Promise<{ doc: Y.Doc, count: number }> => {
    const store = await openStore({ path, nodeId: 't' })
    try {
      const updates = await storePersistence(store, 'meso-yjs').load()
      const doc = new Y.Doc()
      for (const u of updates) Y.applyUpdate(doc, u)
      return { doc, count: updates.length }
    } finally { await store.close() }
  }

  it('appends survive a reopen in order; compaction replaces them with one merged update atomically', async () => {
    const path = join(dir, 'db')
    const store = await openStore({ path, nodeId: 't' })
    const p = storePersistence(store, 'meso-yjs')
    assert.deepEqual(await p.load(), [])
    const doc = new Y.Doc()
    doc.on('update', (u: Uint8Array) => { void p.append(u) })
    // 1200 updates: keys past 999 must still load in order (16-digit keys sort numerically).
    for (let i = 0; i < 1200; i++) doc.getMap('claims').set(`me/t${i % 50}`, { i })
    await new Promise((resolve) => setTimeout(resolve, 200))
    await store.close()

    const a = await reload(path)
    assert.equal(a.count, 1200)
    assert.deepEqual(a.doc.getMap('claims').toJSON(), doc.getMap('claims').toJSON())

    const store2 = await openStore({ path, nodeId: 't' })
    const p2 = storePersistence(store2, 'meso-yjs')
    assert.equal((await p2.load()).length, 1200)
    await p2.replace(Y.encodeStateAsUpdate(doc))
    doc.getMap('claims').set('me/after', { i: -1 })
    await p2.append(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(a.doc)))
    await store2.close()

    const b = await reload(path)
    assert.equal(b.count, 2, 'the merged update and the one appended after it')
    assert.deepEqual(b.doc.getMap('claims').toJSON(), doc.getMap('claims').toJSON())
  })
})
