// The catch-up request format (a state vector, optionally followed by a push)
// and push-pull in one exchange on the simulated mesh: after a cut, the first
// catch-up request carries the requester's news, so the server has it without
// pulling back.
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { createSimulatedNetwork } from '@homeostat/mesh'
import { createReplicatedDoc } from '../src/index.ts'
import { encodeSyncRequest, splitSyncRequest, stateVectorLength, SyncRequestError } from '../src/sync-request.ts'
import { seedFromEnv, withSeed } from './harness.ts'

function docWith (clientID: number, writes: number): Y.Doc {
  const d = new Y.Doc()
  d.clientID = clientID
  for (let i = 0; i < writes; i++) d.getMap('m').set(`k${i}`, i)
  return d
}

describe('coordination: catch-up request format', () => {
  const a = docWith(1, 3)
  const big = docWith(2 ** 40, 200) // a client id and clock that need multi-byte varints
  Y.applyUpdate(big, Y.encodeStateAsUpdate(a))
  const cases: Array<[string, Uint8Array, Uint8Array | undefined]> = [
    ['empty state vector, no push', Y.encodeStateVector(new Y.Doc()), undefined],
    ['one writer, no push', Y.encodeStateVector(a), undefined],
    ['one writer, a push', Y.encodeStateVector(a), Y.encodeStateAsUpdate(docWith(7, 2))],
    ['multi-byte varints, a push', Y.encodeStateVector(big), Y.encodeStateAsUpdate(a)],
    ['an empty push is no push', Y.encodeStateVector(a), new Uint8Array(0)]
  ]
  for (const [name, sv, push] of cases) {
    it(`round-trips: ${name}`, () => {
      const req = encodeSyncRequest(sv, push)
      const got = splitSyncRequest(req)
      assert.deepEqual([...got.sv], [...sv])
      assert.deepEqual([...got.push], [...(push ?? [])])
      assert.equal(stateVectorLength(req), sv.byteLength)
      // What an older server reads (the state vector only) is unchanged by the push.
      assert.deepEqual(Y.decodeStateVector(req), Y.decodeStateVector(sv))
    })
  }
  it('a request without a push is byte-equal to a plain state vector (the old request)', () => {
    const sv = Y.encodeStateVector(a)
    assert.equal(encodeSyncRequest(sv), sv)
  })
  const bad: Array<[string, number[]]> = [
    ['empty request', []],
    ['truncated count', [0x80]],
    ['count larger than the entries present', [2, 1, 1]],
    ['truncated clock', [1, 5, 0x80]],
    ['varint over 53 bits', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ['absurd writer count', [0xff, 0xff, 0xff, 0x7f]]
  ]
  for (const [name, bytes] of bad) {
    it(`refuses a malformed request with SyncRequestError: ${name}`, () => {
      assert.throws(() => splitSyncRequest(Uint8Array.from(bytes)), (err: Error) => err instanceof SyncRequestError && (err as SyncRequestError).code === 'ERR_SYNC_REQUEST')
    })
  }
})

describe('coordination: push-pull in one exchange after a cut (simulated mesh)', function () {
  this.timeout(30_000)

  it('the side that is asked gets the asker\'s news in the request: no pull back, both hold everything', async () => {
    await withSeed(seedFromEnv(701), async (seed) => {
      const sim = createSimulatedNetwork({ seed })
      const nodes = [sim.addNode(), sim.addNode()]
      const docs = nodes.map((n) => createReplicatedDoc({ mesh: n.mesh, name: 'push', roots: ['m'], now: n.now, timers: n.timers, random: sim.random }))
      for (const n of nodes) await n.mesh.start()
      await Promise.all([...docs.map(async (d) => await d.start()), sim.runFor(3000)])
      const key = (i: number, k: string): string => `${nodes[i]!.id}/${k}` // a peer writes its own keys only
      docs[0]!.map<number>('m').set(key(0, 'before'), 1)
      await sim.runFor(1000)
      sim.partition([[nodes[1]!.id]])
      assert.ok(await sim.runUntil(() => nodes.every((n) => n.mesh.peers().every((p) => p.state === 'dead')), { timeoutMs: 10_000, stepMs: 50 }), 'each side believes the other dead')
      docs[0]!.map<number>('m').set(key(0, 'a'), 1)
      docs[1]!.map<number>('m').set(key(1, 'b'), 2)
      await sim.runFor(500)
      sim.heal()
      const both = (): boolean => docs.every((d) => d.map<number>('m').get(key(0, 'a')) === 1 && d.map<number>('m').get(key(1, 'b')) === 2)
      const ok = await sim.runUntil(both, { timeoutMs: 10_000, stepMs: 10 })
      if (!ok) console.log(docs.map((d) => JSON.stringify(d.map('m').toJSON()) + ' ' + JSON.stringify(d.stats())), nodes.map((n) => JSON.stringify(n.mesh.peers())))
      assert.ok(ok, 'both sides hold both writes')
      const s = docs.map((d) => d.stats())
      console.log(`      seed ${seed}: pushes sent ${s.map((x) => x.pushesSent).join('/')}, received ${s.map((x) => x.pushesReceived).join('/')}, push-backs ${s.map((x) => x.pushBacks).join('/')}`)
      assert.ok(s.some((x) => x.pushesSent > 0), 'a catch-up request carried a push')
      assert.equal(s.reduce((n, x) => n + x.pushesReceived, 0), s.reduce((n, x) => n + x.pushesSent, 0), 'every push sent arrived')
      assert.equal(s.reduce((n, x) => n + x.pushBacks, 0), 0, 'no server had to pull back')
      await Promise.all(docs.map(async (d) => await d.stop()))
    })
  })

  it('a malformed push is refused and counted; the request is still answered', async () => {
    const sim = createSimulatedNetwork({ seed: 702 })
    const nodes = [sim.addNode(), sim.addNode()]
    const doc = createReplicatedDoc({ mesh: nodes[0]!.mesh, name: 'push', roots: ['m'], now: nodes[0]!.now, timers: nodes[0]!.timers, random: sim.random })
    for (const n of nodes) await n.mesh.start()
    await Promise.all([doc.start(), sim.runFor(3000)])
    doc.map<number>('m').set(`${nodes[0]!.id}/x`, 1)
    await sim.runFor(200)
    const req = encodeSyncRequest(Y.encodeStateVector(new Y.Doc()), Uint8Array.from([9, 9, 9, 9]))
    const res = nodes[1]!.mesh.request(nodes[0]!.id, '/homeostat/coord/push/sync/1', req, { timeoutMs: 2000 })
    await sim.runFor(500)
    const diff = await res
    const d = new Y.Doc()
    Y.applyUpdate(d, diff)
    assert.equal(d.getMap('m').get(`${nodes[0]!.id}/x`), 1, 'answered with the diff')
    assert.equal(doc.stats().rejected.malformed, 1)
    await doc.stop()
  })
})
