// Multi-process store tests: SIGKILL mid-write loses nothing acknowledged; a
// database locked by another process gives STORE_LOCKED once, no crash loop.
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '@homeostat/store'
import { killWriterAfterAcks } from './kill-writer.ts'

const fixture = (f: string): string => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url))
const runTs = (file: string, args: string[]): ChildProcess =>
  spawn(process.execPath, ['--conditions=homeostat-src', '--import', 'tsx/esm', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('..', import.meta.url)) })

describe('store: real processes', function () {
  this.timeout(60_000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'store-crash-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  for (const round of [1, 2, 3]) {
    it(`SIGKILL mid-write: every acknowledged write is there after reopen (round ${round})`, async () => {
      const path = join(dir, 'db')
      const target = 150 + round * 137
      const lastAck = await killWriterAfterAcks(fixture('store-writer.ts'), [path], target)
      const store = await openStore({ path, nodeId: 'reader' })
      try {
        const samples = await store.log.read<{ i: number }>({ kind: 'sample' })
        const batched = await store.log.read<{ i: number }>({ kind: 'batched' })
        const items = new Map(await store.sub<{ i: number }>('items').entries())
        const blobs = new Map(await store.raw('blobs').entries())
        const sampleSet = new Set(samples.map((e) => e.record.i))
        const batchedSet = new Set(batched.map((e) => e.record.i))
        for (let i = 0; i <= lastAck; i++) {
          if (i % 3 === 0) assert.ok(sampleSet.has(i), `log append ${i} lost`)
          else if (i % 3 === 1) assert.equal(items.get(`k${i}`)?.i, i, `put ${i} lost`)
          else {
            assert.equal(items.get(`k${i}`)?.i, i, `batch put ${i} lost`)
            assert.ok(batchedSet.has(i), `batch append ${i} lost`)
            assert.deepEqual([...blobs.get(`b${i}`)!], [i & 255, 1, 2, 3])
          }
        }
        // Atomicity: an unacknowledged batch is all there or not there at all.
        for (const i of batchedSet) assert.ok(items.has(`k${i}`) && blobs.has(`b${i}`), `batch ${i} torn`)
        // The log reads back in clock order, and new appends sort after the old ones.
        const all = await store.log.read()
        for (let k = 1; k < all.length; k++) assert.ok(all[k - 1]!.key < all[k]!.key)
        const e = await store.log.append('sample', { i: -1 })
        assert.ok(e.key > all[all.length - 1]!.key)
      } finally { await store.close() }
    })
  }

  it('a store held by another process fails with STORE_LOCKED, once, and opens after it exits', async () => {
    const path = join(dir, 'db')
    const child = runTs(fixture('store-holder.ts'), [path])
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`holder exited (${String(code)})`)))
      child.stdout!.on('data', (d) => { if (String(d).includes('holding')) resolve() })
    })
    child.removeAllListeners('exit')
    const gone = new Promise((r) => child.once('exit', r))
    await assert.rejects(openStore({ path }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORE_LOCKED')
      assert.equal(err.name, 'StoreError')
      return true
    })
    child.kill('SIGKILL')
    await gone
    const s = await openStore({ path })
    assert.equal(s.status, 'open')
    await s.close()
  })
})
