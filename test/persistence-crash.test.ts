// Every store-backed persistence path of the agent (learning state, the planner's
// audit chain, federated checkpoints, the incident book) against a real writer
// process SIGKILLed mid-stream: everything it acknowledged is there after reopen,
// and what is there is whole (as test/store-crash.test.ts does for the store).
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore, type Store } from '@homeostat/store'
import { createStoreJsonStore } from '@homeostat/learning'
import { storeCheckpointDir } from '../packages/federated/src/checkpoint-store.ts'
import { createAuditLog, createStoreAuditStore, verifyChain } from '../packages/planner/src/audit.ts'
import { openIncidentBook } from '../agent/src/state/incidents.ts'
import { killWriterAfterAcks } from './kill-writer.ts'

/** As in the writer: 40 KB checkpoints. */
const CHECKPOINT_PARAMS = 10_000

const writer = fileURLToPath(new URL('./fixtures/persistence-writer.ts', import.meta.url))

/** Runs the writer until it acknowledged `target` writes, SIGKILLs it (it is writing the next ones) and returns the last ack. */
async function killMidStream (mode: string, path: string, target: number): Promise<number> {
  return await killWriterAfterAcks(writer, [mode, path], target, `${mode} writer`)
}

describe('persistence: SIGKILL mid-write loses nothing acknowledged', function () {
  this.timeout(60_000)
  let dir: string
  let store: Store | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'persistence-crash-')) })
  afterEach(async () => { await store?.close(); store = undefined; rmSync(dir, { recursive: true, force: true }) })
  const path = (): string => join(dir, 'db')

  it('learning state (createStoreJsonStore)', async () => {
    const lastAck = await killMidStream('json', path(), 300)
    store = await openStore({ path: path() })
    const js = createStoreJsonStore(store, 'learning')
    for (let i = 0; i <= lastAck; i++) assert.equal((await js.get(`k${i}`) as { i: number } | undefined)?.i, i, `put ${i} lost`)
    assert.ok((await js.get('latest') as { i: number }).i >= lastAck, 'the overwritten key holds its last acknowledged value or a later one')
  })

  it('the planner\'s audit chain (createStoreAuditStore): every acknowledged record, in order, and the chain continues', async () => {
    const lastAck = await killMidStream('audit', path(), 150)
    store = await openStore({ path: path() })
    const audit = createAuditLog({ store: createStoreAuditStore(store), now: Date.now })
    const v = await audit.load()
    assert.equal(v.ok, true, JSON.stringify(v))
    const records = audit.records()
    assert.ok(records.length >= lastAck + 1, `${records.length} records, ${lastAck + 1} acknowledged`)
    for (let i = 0; i <= lastAck; i++) assert.equal(records[i]!.data.i, i, `record ${i}`)
    audit.append('decision', { i: -1 })
    await audit.flush()
    assert.ok(verifyChain(await createStoreAuditStore(store).readAll(), { expectedHead: audit.head() }).ok)
  })

  it('federated checkpoints (storeCheckpointDir): the last acknowledged one or a later one, whole, at most `keep`', async () => {
    const lastAck = await killMidStream('checkpoint', path(), 60)
    store = await openStore({ path: path() })
    const d = storeCheckpointDir(store, 'checkpoints', CHECKPOINT_PARAMS, { keep: 3 })
    const got = await d.readLatest()
    assert.deepEqual(got.skipped, [])
    assert.ok(got.checkpoint !== undefined && got.checkpoint.version >= lastAck, `newest ${got.checkpoint?.version}, acknowledged ${lastAck}`)
    assert.ok(Math.abs(got.checkpoint.params[CHECKPOINT_PARAMS - 1]! - (got.checkpoint.version % 7) / 10) < 1e-6)
    const keys = await d.list()
    assert.ok(keys.length >= 1 && keys.length <= 3, `${keys.length} kept`)
  })

  it('the incident book (attach + flush)', async () => {
    const lastAck = await killMidStream('incidents', path(), 300)
    store = await openStore({ path: path() })
    const book = await openIncidentBook({ store })
    for (let i = 0; i <= lastAck; i++) assert.ok(book.get(`inc-${i}`) !== undefined, `incident ${i} lost`)
    assert.ok(book.get('hot')!.openedAtMs >= lastAck, 'the updated record holds its last acknowledged version or a later one')
    assert.equal(book.attached, true)
    await book.detach()
  })
})
