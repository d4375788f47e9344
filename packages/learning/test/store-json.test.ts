// Learning state in the agent's LevelDB store, and the upgrade from the file store.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'mocha'
import type { Outcome } from '@homeostat/interface'
import { openStore, type Store } from '@homeostat/store'
import {
  type CellPrior, createFileJsonStore, createLearning, createStoreJsonStore, importLegacyJsonDir, normalGammaFromGuess
} from '@homeostat/learning'

const prior = (): CellPrior => {
  const g = (x: number) => normalGammaFromGuess(x, x / 2 + 0.01, 1)
  return { success: { a: 1, b: 1 }, ttrMs: g(5000), cost: { cpuSeconds: g(2), memoryMb: g(50), bandwidthKb: g(0), disruptionSeconds: g(5) } }
}
const outcome = (success: boolean, i = 0): Outcome => ({
  incidentId: `i${i}`, node: 'n1', component: 'api', failureClass: 'crash', action: 'restart', success, durationMs: 4000 + i,
  cost: { cpuSeconds: 2, memoryMb: 40, bandwidthKb: 0, disruptionSeconds: 4 }, hlc: '000000000000001-000000-n1'
})

describe('learning: state in the LevelDB store', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-learning-store-')) })
  afterEach(async () => { await store?.close(); store = undefined; await rm(dir, { recursive: true, force: true }) })
  const reopen = async (): Promise<Store> => { await store?.close(); store = await openStore({ path: join(dir, 'db') }); return store }

  it('get/put JSON by key, across a reopen; keys and sizes are checked as before', async () => {
    let s = await reopen()
    const js = createStoreJsonStore(s, 'learning')
    assert.equal(await js.get('missing'), undefined)
    await js.put('a', { x: [1, 2, { y: 'z' }], n: null })
    s = await reopen()
    const again = createStoreJsonStore(s, 'learning')
    assert.deepEqual(await again.get('a'), { x: [1, 2, { y: 'z' }], n: null })
    await assert.rejects(again.put('bad key/..', {}), { code: 'ERR_BAD_OPTIONS', name: 'LearningError' })
    await assert.rejects(again.get('../x'), { code: 'ERR_BAD_OPTIONS' })
    await assert.rejects(again.put('u', undefined), { code: 'ERR_BAD_SNAPSHOT' })
    const small = createStoreJsonStore(s, 'learning', { maxValueBytes: 16 })
    await assert.rejects(small.put('big', { s: 'x'.repeat(32) }), { code: 'ERR_SNAPSHOT_TOO_LARGE' })
    assert.equal(await small.get('big'), undefined, 'not written')
    assert.throws(() => createStoreJsonStore(s, 'learning', { maxValueBytes: 0 }), { code: 'ERR_BAD_OPTIONS' })
    // A damaged value is ERR_BAD_SNAPSHOT (the file store's code for a torn file); the learner then starts fresh.
    await s.raw('learning').put('learning-state', new TextEncoder().encode('{trunc'))
    await assert.rejects(again.get('learning-state'), { code: 'ERR_BAD_SNAPSHOT' })
    const l = createLearning({ defaultPrior: prior, now: () => 0, store: again })
    assert.equal((await l.load()).loaded, false)
    assert.equal(l.stats().loadErrors, 1)
  })

  it('the learner survives a restart through the store', async () => {
    let s = await reopen()
    const a = createLearning({ defaultPrior: prior, now: () => 5000, store: createStoreJsonStore(s, 'learning') })
    for (let i = 0; i < 12; i++) a.recordOutcome(outcome(i > 2, i))
    a.recordFailure('api', 'crash')
    a.adaptive.learn(a.features(), 1, 0.3)
    await a.save()
    s = await reopen()
    const b = createLearning({ defaultPrior: prior, now: () => 6000, store: createStoreJsonStore(s, 'learning') })
    assert.deepEqual(await b.load(), { loaded: true })
    assert.deepEqual(b.outcomes.view('crash', 'restart'), a.outcomes.view('crash', 'restart'))
    assert.deepEqual(b.adaptive.theta(), a.adaptive.theta())
    assert.equal(b.history.events().length, 1)
  })

  it('an upgraded agent keeps what it learned: the file store directory is imported once and renamed aside', async () => {
    const legacy = join(dir, 'learning')
    const old = createLearning({ defaultPrior: prior, now: () => 5000, store: createFileJsonStore(legacy) })
    for (let i = 0; i < 8; i++) old.recordOutcome(outcome(i % 3 !== 0, i))
    await old.save()
    await writeFile(join(legacy, 'learning-state.json.123.0.tmp'), '{half') // an interrupted write: not a value
    await writeFile(join(legacy, 'other.json'), '{"k":1}')

    let s = await reopen()
    const imported: unknown[] = []
    const js = createStoreJsonStore(s, 'learning', { legacy: { dir: legacy, onImport: (r) => imported.push(r) } })
    const b = createLearning({ defaultPrior: prior, now: () => 6000, store: js })
    assert.deepEqual(await b.load(), { loaded: true })
    assert.deepEqual(b.outcomes.view('crash', 'restart'), old.outcomes.view('crash', 'restart'))
    assert.deepEqual(await js.get('other'), { k: 1 })
    assert.deepEqual(imported, [{ status: 'imported', path: legacy, items: 2, movedTo: legacy + '.migrated' }])
    assert.equal(existsSync(legacy), false)
    assert.deepEqual((await readdir(legacy + '.migrated')).sort(), ['learning-state.json', 'learning-state.json.123.0.tmp', 'other.json'])
    b.recordOutcome(outcome(true, 99))
    await b.save()

    // Next start: nothing to import; what was learned since is not overwritten by the old files.
    s = await reopen()
    assert.equal((await importLegacyJsonDir(legacy, s, 'learning')).status, 'already-imported')
    const c = createLearning({ defaultPrior: prior, now: () => 7000, store: createStoreJsonStore(s, 'learning', { legacy: { dir: legacy } }) })
    assert.deepEqual(await c.load(), { loaded: true })
    assert.deepEqual(c.outcomes.view('crash', 'restart'), b.outcomes.view('crash', 'restart'))
  })

  it('a key the store holds already keeps the store\'s value; an import that fails leaves the directory and is retried', async () => {
    const legacy = join(dir, 'learning')
    await createFileJsonStore(legacy).put('a', { from: 'file' })
    await createFileJsonStore(legacy).put('b', { from: 'file' })
    const s = await reopen()
    await createStoreJsonStore(s, 'learning').put('a', { from: 'store' })
    const r = await importLegacyJsonDir(legacy, s, 'learning')
    assert.equal(r.items, 1)
    const js = createStoreJsonStore(s, 'learning')
    assert.deepEqual(await js.get('a'), { from: 'store' })
    assert.deepEqual(await js.get('b'), { from: 'file' })

    const legacy2 = join(dir, 'fleet-learning')
    await createFileJsonStore(legacy2).put('learning-state', { big: 'x'.repeat(100) })
    const tiny = createStoreJsonStore(s, 'fleet', { maxValueBytes: 20, legacy: { dir: legacy2 } })
    await assert.rejects(tiny.get('learning-state'), { code: 'STORE_LEGACY' })
    assert.equal(existsSync(legacy2), true, 'left where it was')
    const ok = createStoreJsonStore(s, 'fleet', { legacy: { dir: legacy2 } })
    assert.deepEqual(await ok.get('learning-state'), { big: 'x'.repeat(100) })
    assert.equal(existsSync(legacy2), false)
  })
})
