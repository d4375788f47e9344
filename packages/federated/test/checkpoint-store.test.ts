// Checkpoints in the agent's LevelDB store, and the upgrade from checkpoint files.
import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, type Store } from '@homeostat/store'
import { createCheckpoint, encodeCheckpoint } from '../src/checkpoint.ts'
import { checkpointDir } from '../src/checkpoint-file.ts'
import { importLegacyCheckpointDir, storeCheckpointDir } from '../src/checkpoint-store.ts'
import { vec, P } from './helpers.ts'

describe('federated: checkpoints in the store', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-ckpt-store-')) })
  afterEach(async () => { await store?.close(); store = undefined; await rm(dir, { recursive: true, force: true }) })
  const reopen = async (): Promise<Store> => { await store?.close(); store = await openStore({ path: join(dir, 'db') }); return store }
  const cp = (v: number, x = v / 10) => createCheckpoint({ version: v, params: vec([x]), hlc: 'h' })

  it('keeps the last N, survives a reopen, and falls back past a corrupt or torn entry', async () => {
    let s = await reopen()
    const d = storeCheckpointDir(s, 'checkpoints', P, { keep: 3 })
    assert.deepEqual(await d.readLatest(), { skipped: [] })
    for (let v = 0; v < 5; v++) assert.equal(await d.write(cp(v)), `checkpoints/ckpt-${String(v + 1).padStart(10, '0')}`)
    assert.deepEqual(await d.list(), ['ckpt-0000000003', 'ckpt-0000000004', 'ckpt-0000000005'])
    s = await reopen()
    const again = storeCheckpointDir(s, 'checkpoints', P, { keep: 3 })
    assert.equal((await again.readLatest()).checkpoint?.version, 4)
    const keys = await again.list()
    const raw = s.raw('checkpoints')
    await raw.put(keys[2]!, (await raw.get(keys[2]!))!.slice(0, 50)) // torn
    const rotten = (await raw.get(keys[1]!))!.slice()
    rotten[rotten.length - 1]! ^= 0xff
    await raw.put(keys[1]!, rotten) // bit rot
    const got = await again.readLatest()
    assert.equal(got.checkpoint?.version, 2)
    assert.deepEqual(got.skipped.map((x) => [x.file, x.code]), [[keys[2], 'FED_CHECKPOINT_CORRUPT'], [keys[1], 'FED_CHECKPOINT_CORRUPT']])
    // Bounds learned from accepted checkpoints reject an outlier, as on disk.
    const b = storeCheckpointDir(s, 'bounded', P)
    await b.write(cp(0, 0.1))
    await b.write(cp(1, 50))
    const bounded = await b.readLatest({ maxAbs: 1, maxNorm: 10 })
    assert.equal(bounded.checkpoint?.version, 0)
    assert.deepEqual(bounded.skipped.map((x) => x.code), ['FED_CHECKPOINT_INVALID'])
    await again.write(cp(9))
    assert.deepEqual(await again.list(), ['ckpt-0000000004', 'ckpt-0000000005', 'ckpt-0000000010'])
    assert.throws(() => storeCheckpointDir(s, 'checkpoints', P, { keep: 0 }), RangeError)
  })

  it('concurrent writes keep at most N', async () => {
    const s = await reopen()
    const d = storeCheckpointDir(s, 'checkpoints', P, { keep: 2 })
    await Promise.all(Array.from({ length: 10 }, async (_, v) => await d.write(cp(v))))
    assert.deepEqual(await d.list(), ['ckpt-0000000009', 'ckpt-0000000010'])
  })

  it('an upgraded agent keeps its checkpoints: the directory is imported once and renamed aside', async () => {
    const legacy = join(dir, 'checkpoints')
    const files = checkpointDir(legacy, P, { keep: 5 })
    for (let v = 0; v < 4; v++) await files.write(cp(v))
    const names = await files.list()
    await truncate(join(legacy, names[3]!), 20) // the newest file was torn

    let s = await reopen()
    const imported: unknown[] = []
    const d = storeCheckpointDir(s, 'checkpoints', P, { keep: 3, legacy: { dir: legacy, onImport: (r) => imported.push(r) } })
    const got = await d.readLatest()
    assert.equal(got.checkpoint?.version, 2, 'the torn newest one is skipped, as on disk')
    assert.deepEqual(got.skipped.map((x) => x.file), ['ckpt-0000000004'])
    assert.deepEqual(await d.list(), ['ckpt-0000000002', 'ckpt-0000000003', 'ckpt-0000000004'], 'the newest `keep`')
    assert.deepEqual(imported, [{ status: 'imported', path: legacy, items: 3, movedTo: legacy + '.migrated' }])
    assert.equal(existsSync(legacy), false)
    assert.equal((await readdir(legacy + '.migrated')).length, 4)
    await d.write(cp(7))

    s = await reopen()
    assert.equal((await importLegacyCheckpointDir(legacy, s, 'checkpoints')).status, 'already-imported')
    const e = storeCheckpointDir(s, 'checkpoints', P, { keep: 3, legacy: { dir: legacy } })
    assert.equal((await e.readLatest()).checkpoint?.version, 7)
    assert.equal((await e.list()).length, 3)
  })

  it('a checkpoint the store holds already is kept over the file of the same version', async () => {
    const legacy = join(dir, 'checkpoints')
    await checkpointDir(legacy, P).write(cp(3, 0.1))
    const s = await reopen()
    await s.raw('checkpoints').put('ckpt-0000000004', encodeCheckpoint(cp(3, 0.2)))
    assert.equal((await importLegacyCheckpointDir(legacy, s, 'checkpoints')).items, 0)
    const got = await storeCheckpointDir(s, 'checkpoints', P).readLatest()
    assert.ok(Math.abs(got.checkpoint!.params[0]! - 0.2) < 1e-6)
  })
})
