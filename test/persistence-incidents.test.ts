// The one incident record path, end to end with a real process: the micro loop
// keeps the live record (its incident log) and publishes every change to the
// agent's incident book, which persists it in the LevelDB store; after a
// reopen the book holds the healed incident with every step. (Replaces the
// test of the monitor's IncidentManager, which is gone.)
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import type { Incident } from '@homeostat/interface'
import { createSupervisor, type Supervisor } from '@homeostat/monitor'
import { openStore, type Store } from '@homeostat/store'
import { createMicroLoop, type MicroLoop } from '@homeostat/micro'
import { openIncidentBook } from '../agent/src/state/incidents.ts'

const waitFor = async <T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('persistence: incidents from the micro loop to the store', function () {
  this.timeout(30_000)
  let dir: string
  let store: Store | undefined
  let sup: Supervisor | undefined
  let loop: MicroLoop | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'persistence-incidents-')) })
  afterEach(async () => {
    await loop?.stop(2000)
    await sup?.stop({ graceMs: 200 })
    await store?.close()
    loop = undefined; sup = undefined; store = undefined
    await rm(dir, { recursive: true, force: true })
  })

  it('a healed crash is in the book, with every step, after the store is reopened', async () => {
    const hlc = createHlc({ nodeId: 'edge-1', now: Date.now })
    store = await openStore({ path: join(dir, 'db'), hlc })
    const book = await openIncidentBook({ store })
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'c', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] }] })
    loop = createMicroLoop({ node: 'edge-1', hlc, supervisor: sup, publish: (i) => { book.upsert(i, 'local') } })
    loop.start()
    await sup.start()
    sup.signal('c', 'SIGKILL') // an unexpected death
    const inc = await waitFor('an incident', () => loop!.incidents()[0], 5000)
    const done: Incident = await loop.settled(inc.id)
    assert.equal(done.status, 'recovered')
    await waitFor('the book to hold the recovered record', () => book.get(inc.id)?.status === 'recovered' ? true : undefined, 2000)
    await book.detach()
    await store.close()

    store = await openStore({ path: join(dir, 'db'), hlc })
    const again = await openIncidentBook({ store })
    const saved = again.get(inc.id)
    assert.equal(saved?.status, 'recovered')
    assert.deepEqual(saved?.steps.map((s) => s.kind), done.steps.map((s) => s.kind))
    assert.ok(saved!.steps.map((s) => s.kind).includes('verified'))
    await again.detach()
  })
})
