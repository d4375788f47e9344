import assert from 'node:assert/strict'
import { z } from 'zod'
import { isDefinitiveDeath } from '@homeostat/interface'
import { createSimulatedNetwork, type LivenessEvent, type SimulatedNetwork } from '../src/index.ts'
import { meshCompliance } from './compliance.ts'

const topic = { name: 'test/sim/1', body: z.object({ n: z.number() }).strict(), maxBytes: 1024 }

async function net (n: number, seed: number, opts: Record<string, number> = {}): Promise<SimulatedNetwork> {
  const sim = createSimulatedNetwork({ seed, ...opts })
  for (let i = 0; i < n; i++) await sim.addNode().mesh.start()
  await sim.runFor(100)
  return sim
}

describe('simulated mesh', () => {
  it('delivers gossip to every other node, validated, with HLC merged', async () => {
    const sim = await net(4, 1)
    const got: Record<string, number[]> = {}
    for (const n of sim.nodes()) n.mesh.subscribe(topic, (m) => { (got[n.id] ??= []).push(m.envelope.body.n) })
    await sim.nodes()[0]!.mesh.publish(topic, 'test.msg', { n: 7 })
    await sim.runFor(50)
    assert.deepEqual(got, { n001: [7], n002: [7], n003: [7] })
    assert.ok(sim.nodes()[1]!.hlc.peek().wallMs >= sim.nodes()[0]!.hlc.peek().wallMs)
  })

  it('rejects malformed, oversized and forged envelopes and counts them per sender', async () => {
    const sim = await net(2, 2)
    const [a, b] = sim.nodes()
    let delivered = 0
    b!.mesh.subscribe(topic, () => { delivered++ })
    a!.mesh.injectRaw(topic.name, new TextEncoder().encode('{not json'))
    a!.mesh.injectRaw(topic.name, new Uint8Array(2000))
    a!.mesh.injectRaw(topic.name, new TextEncoder().encode(JSON.stringify({ v: 1, type: 'test.msg', from: 'n002', hlc: '000000000001000000000n002', body: { n: 1 } })))
    a!.mesh.injectRaw(topic.name, new TextEncoder().encode(JSON.stringify({ v: 1, type: 'test.msg', from: 'n000', hlc: '000000000001000000000n000', body: { n: 'x' } })))
    await sim.runFor(50)
    const s = b!.mesh.stats()
    assert.equal(delivered, 0)
    assert.equal(s.rejectedBySender.n000, 4)
    assert.equal(s.rejected.size, 1)
    assert.equal(s.rejected.forged, 1)
    assert.ok((s.rejected.json ?? 0) + (s.rejected.schema ?? 0) >= 2)
  })

  it('partition: peers are suspected by ping timeout, then dead; heal brings them back', async () => {
    const sim = await net(4, 3)
    const events: LivenessEvent[] = []
    sim.node('n000').mesh.onLiveness((e) => events.push(e))
    sim.partition([['n000', 'n001'], ['n002', 'n003']])
    await sim.runFor(500)
    assert.equal(events.length, 0, 'not suspected before the ping timeout')
    await sim.runFor(2000)
    assert.deepEqual(events.map((e) => `${e.peer}:${e.state}:${e.reason}`).sort(),
      ['n002:dead:suspicion:timeout', 'n002:suspect:ping:timeout', 'n003:dead:suspicion:timeout', 'n003:suspect:ping:timeout'])
    sim.heal()
    await sim.runFor(100)
    assert.deepEqual(sim.node('n000').mesh.peers().map((p) => p.state), ['alive', 'alive', 'alive'])
  })

  it('crash is seen at once (connection:close), dead when the redial is refused (connection:lost); restart is a new incarnation', async () => {
    const sim = await net(3, 4)
    const events: LivenessEvent[] = []
    sim.node('n000').mesh.onLiveness((e) => events.push(e))
    let fired = 0
    sim.node('n002').timers.setTimeout(() => { fired++ }, 500)
    sim.crash('n002')
    await sim.runFor(20)
    assert.equal(events[0]?.reason, 'connection:close')
    await sim.runFor(50)
    assert.deepEqual([events[1]?.state, events[1]?.reason], ['dead', 'connection:lost'], 'one redial round trip, not the suspicion timeout')
    assert.ok(isDefinitiveDeath(events[1]!.reason))
    await sim.runFor(1100)
    assert.equal(fired, 0, 'a crashed node runs no timers')
    const again = sim.restart('n002')
    await again.mesh.start()
    await sim.runFor(50)
    assert.equal(events.at(-1)?.state, 'alive')
    assert.equal(again.incarnation, 1)
  })

  it('a crash with its machine (hostDown), or behind a cut, is silence: dead only after the suspicion timeout', async () => {
    const sim = await net(4, 4)
    const events: LivenessEvent[] = []
    sim.node('n000').mesh.onLiveness((e) => events.push(e))
    sim.crash('n002', { hostDown: true })
    sim.partition([['n000', 'n001', 'n002'], ['n003']])
    await sim.runFor(300)
    sim.crash('n003') // its host is up, but on the other side of the cut
    await sim.runFor(200)
    assert.deepEqual(events.filter((e) => e.state === 'dead'), [], 'nothing refused a redial')
    await sim.runFor(2500)
    const dead = events.filter((e) => e.state === 'dead').map((e) => [e.peer, e.reason]).sort()
    assert.deepEqual(dead, [['n002', 'suspicion:timeout'], ['n003', 'suspicion:timeout']])
  })

  it('request/response over direct streams; unreachable and missing handlers fail with codes', async () => {
    const sim = await net(3, 5)
    const [a, b, c] = sim.nodes()
    b!.mesh.handle('/echo/1', async (from, data) => new Uint8Array([...data, from.length]))
    const p = a!.mesh.request('n001', '/echo/1', new Uint8Array([1, 2]))
    await sim.runFor(100)
    assert.deepEqual([...await p], [1, 2, 4])
    const q = a!.mesh.request('n002', '/echo/1', new Uint8Array([1]))
    q.catch(() => {})
    await sim.runFor(100)
    await assert.rejects(q, { code: 'ERR_MESH_PROTOCOL' })
    sim.partition([['n000'], ['n001', 'n002']])
    const r = a!.mesh.request('n001', '/echo/1', new Uint8Array([1]))
    r.catch(() => {})
    await sim.runFor(100)
    await assert.rejects(r, { code: 'ERR_MESH_UNREACHABLE' })
    void c
  })

  it('drop, duplicate and reorder faults are seeded: one seed replays the same delivery', async () => {
    const run = async (seed: number): Promise<string> => {
      const sim = await net(5, seed, { dropRate: 0.2, duplicateRate: 0.2, reorderRate: 0.3 })
      const log: string[] = []
      for (const n of sim.nodes()) n.mesh.subscribe(topic, (m) => log.push(`${n.id}<${m.envelope.from}:${m.envelope.body.n}`))
      for (let i = 0; i < 40; i++) await sim.nodes()[i % 5]!.mesh.publish(topic, 'test.msg', { n: i })
      await sim.runFor(500)
      const s = sim.stats()
      assert.ok(s.gossipDropped > 0 && s.gossipDuplicated > 0)
      return log.join(',')
    }
    assert.equal(await run(42), await run(42))
    assert.notEqual(await run(42), await run(43))
  })

  it('clock skew: a node too far ahead has its messages rejected as `clock`', async () => {
    const sim = createSimulatedNetwork({ seed: 6, maxOffsetMs: 500 })
    const a = sim.addNode({ skewMs: 5000 }); const b = sim.addNode({ skewMs: -20, driftPpm: 200 })
    await a.mesh.start(); await b.mesh.start()
    await sim.runFor(50)
    b.mesh.subscribe(topic, () => assert.fail('skewed message delivered'))
    await a.mesh.publish(topic, 'test.msg', { n: 1 })
    await sim.runFor(50)
    assert.equal(b.mesh.stats().rejected.clock, 1)
    assert.equal(a.now() - b.now(), 5020)
  })

  it('runs 300 nodes and 300 publishes quickly', async function () {
    this.timeout(20_000)
    const t0 = Date.now()
    const sim = await net(300, 7)
    let n = 0
    for (const node of sim.nodes()) node.mesh.subscribe(topic, () => { n++ })
    for (const node of sim.nodes()) await node.mesh.publish(topic, 'test.msg', { n: 1 })
    await sim.runFor(100)
    assert.equal(n, 300 * 299)
    assert.ok(Date.now() - t0 < 15_000)
  })
})

// The same compliance suite the libp2p mesh passes. Virtual time is pumped in
// the background so a test may await a request directly.
meshCompliance('simulated mesh', () => {
  const sim = createSimulatedNetwork({ seed: 99 })
  let pumping = true
  const pump = (async () => { while (pumping) await sim.runFor(5) })()
  return {
    async create (count: number) {
      const nodes = Array.from({ length: count }, () => sim.addNode())
      for (const n of nodes) await n.mesh.start()
      return nodes.map((n) => n.mesh)
    },
    async wait (ms: number) {
      const until = sim.now() + ms
      while (sim.now() < until) await new Promise((resolve) => setImmediate(resolve))
    },
    async createOther () {
      const n = sim.addNode({ kind: 'other' })
      await n.mesh.start()
      return { peerId: n.id, stop: async () => { await n.mesh.stop() } }
    },
    async cleanup () {
      pumping = false
      await pump
      for (const n of sim.nodes()) await n.mesh.stop()
    }
  }
})
