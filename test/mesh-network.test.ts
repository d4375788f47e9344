// The libp2p mesh over real TCP on 127.0.0.1: a 5-node mesh delivers every
// message everywhere; a node with another swarm key cannot join; forged,
// malformed, oversized and clock-ahead envelopes are rejected, counted per
// sender and reason, never delivered, and lower the sender's score.
import { strict as assert } from 'node:assert'
import { z } from 'zod'
import { createHlc, encode as encodeHlc } from '@homeostat/hlc'
import { encodeEnvelope } from '@homeostat/interface'
import { createMeshNode, generateSwarmKey, type MeshNode, type Topic } from '@homeostat/mesh'

async function until (cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const report: Topic<{ seq: number, text: string }> = {
  name: 'homeostat/test/report/1',
  body: z.object({ seq: z.number().int().nonnegative(), text: z.string().max(200) }).strict(),
  maxBytes: 2048
}

describe('mesh network (libp2p over 127.0.0.1)', function () {
  this.timeout(40_000)
  const swarmKey = generateSwarmKey()
  let nodes: MeshNode[] = []
  const extra: MeshNode[] = []

  before(async () => {
    for (let i = 0; i < 5; i++) {
      // kad-dht on (LAN mode), as in production; node 0 is everyone's bootstrap peer.
      const n = await createMeshNode({ swarmKey, bootstrap: nodes[0]?.multiaddrs() })
      await n.start()
      nodes.push(n)
    }
    await until(() => nodes.every((n) => n.libp2p.getPeers().length === 4), 10_000, 'full mesh by peer exchange')
  })
  after(async () => {
    await Promise.all([...nodes, ...extra].map(async (n) => { await n.stop() }))
    nodes = []
  })

  it('5 nodes form a mesh and every node gets every message exactly once', async () => {
    const got = nodes.map(() => new Map<string, number>())
    const unsub = nodes.map((n, i) => n.subscribe(report, (m) => {
      const k = `${m.envelope.from}/${m.envelope.body.seq}`
      got[i]!.set(k, (got[i]!.get(k) ?? 0) + 1)
    }))
    await sleep(300)
    for (let round = 0; round < 10; round++) {
      for (const n of nodes) await n.publish(report, 'test.report', { seq: round, text: `round ${round}` })
    }
    await until(() => got.every((g) => g.size === 40), 10_000, 'all 40 foreign messages everywhere')
    await sleep(300)
    for (const [i, g] of got.entries()) {
      assert.equal(g.size, 40, `node ${i}`)
      assert.ok([...g.values()].every((c) => c === 1), `node ${i} saw a duplicate`)
      assert.ok(![...g.keys()].some((k) => k.startsWith(`${nodes[i]!.peerId}/`)), `node ${i} got its own message`)
    }
    for (const u of unsub) u()
    // Every handshake's DHs used key objects made at generation: none was parsed from DER.
    for (const [i, n] of nodes.entries()) {
      const s = n.noiseStats()
      assert.ok(s.cachedPrivateKeys >= 3, `node ${i}: ${JSON.stringify(s)}`)
      assert.equal(s.importedPrivateKeys, 0, `node ${i}: ${JSON.stringify(s)}`)
    }
  })

  it('a node with another swarm key cannot join, and its dial fails within 2 s', async () => {
    const stranger = await createMeshNode({ swarmKey: generateSwarmKey(), dht: false, bootstrap: nodes[0]!.multiaddrs() })
    await stranger.start()
    extra.push(stranger)
    const start = Date.now()
    let code: string | undefined
    try { await stranger.dial(nodes[1]!.multiaddrs()[0]!) } catch (err) { code = (err as { name?: string }).name ?? 'error' }
    const tookMs = Date.now() - start
    assert.ok(code != null, 'dial with the wrong key succeeded')
    assert.ok(tookMs <= 2000, `wrong-key dial took ${tookMs} ms`)
    console.log(`      wrong-key dial rejected after ${tookMs} ms`)
    await sleep(1500) // the bootstrap module tries too
    assert.equal(stranger.libp2p.getPeers().length, 0)
    for (const n of nodes) assert.ok(!n.libp2p.getPeers().some((p) => p.equals(stranger.libp2p.peerId)))
    assert.equal(stranger.peers().filter((p) => p.state === 'alive').length, 0)
  })

  it('rejects forged, malformed, oversized and clock-ahead envelopes: counted, never delivered, score lowered', async () => {
    const [victim, liar] = [nodes[0]!, nodes[1]!]
    // A node whose clock runs 10 s ahead of everyone else's.
    const ahead = await createMeshNode({ swarmKey, dht: false, bootstrap: victim.multiaddrs(), hlc: (id) => createHlc({ nodeId: id, now: () => Date.now() + 10_000 }) })
    await ahead.start()
    extra.push(ahead)
    await until(() => victim.peers().some((p) => p.peer === ahead.peerId && p.state === 'alive'), 5000, 'ahead node connected')

    const delivered: Array<{ from: string, seq: number }> = []
    const unsub = victim.subscribe(report, (m) => { delivered.push({ from: m.envelope.from, seq: m.envelope.body.seq }) })
    const bystanders = nodes.slice(2)
    const seenByOthers: number[] = []
    const unsubOthers = bystanders.map((n) => n.subscribe(report, (m) => { if (m.envelope.from === liar.peerId) seenByOthers.push(m.envelope.body.seq) }))
    liar.subscribe(report, () => {})
    ahead.subscribe(report, () => {})
    await sleep(1200) // subscriptions and mesh grafting (gossipsub heartbeat is 1 s)
    const scoreBefore = victim.score(liar.peerId)
    const stamp = (node: string): string => encodeHlc({ wallMs: Date.now(), logical: 0, node })
    const raw = (body: unknown, from = liar.peerId, hlc = stamp(from)): Uint8Array => encodeEnvelope({ v: 1, type: 'test.report', from, hlc, body })
    // forged: claims to come from node 2
    await liar.unsafePublishRaw(report.name, raw({ seq: 900, text: 'forged' }, nodes[2]!.peerId))
    // forged HLC node field
    await liar.unsafePublishRaw(report.name, raw({ seq: 901, text: 'forged hlc' }, liar.peerId, stamp(nodes[2]!.peerId)))
    // malformed: not JSON, then wrong body shape, then an unknown envelope field
    await liar.unsafePublishRaw(report.name, new TextEncoder().encode('{"v":1,"type":'))
    await liar.unsafePublishRaw(report.name, raw({ seq: -1, text: 'negative' }))
    await liar.unsafePublishRaw(report.name, new TextEncoder().encode(JSON.stringify({ v: 1, type: 'test.report', from: liar.peerId, hlc: stamp(liar.peerId), body: { seq: 1, text: 'x' }, extra: true })))
    // oversized (over the topic's 2 KiB limit)
    await liar.unsafePublishRaw(report.name, raw({ seq: 902, text: 'y'.repeat(3000) }))
    // clock ahead by 10 s (published through the normal path of a node whose clock is wrong)
    await ahead.publish(report, 'test.report', { seq: 903, text: 'from the future' })
    // and one honest message each, which must arrive
    await liar.publish(report, 'test.report', { seq: 1, text: 'honest' })

    await until(() => delivered.some((d) => d.from === liar.peerId && d.seq === 1), 5000, 'honest message delivered')
    await until(() => Object.values(victim.stats().rejected).reduce((a, b) => a + b, 0) >= 7, 5000, 'all rejections counted')
    await sleep(300)
    const s = victim.stats()
    assert.deepEqual(delivered, [{ from: liar.peerId, seq: 1 }])
    assert.equal(s.rejected.forged, 2)
    assert.equal(s.rejected.json, 1)
    assert.equal(s.rejected.schema, 2)
    assert.equal(s.rejected.size, 1)
    assert.equal(s.rejected.clock, 1)
    assert.equal(s.rejectedBySender[liar.peerId], 6)
    assert.equal(s.rejectedBySender[ahead.peerId], 1)
    // The bystanders got the same treatment: only the honest message reached their application.
    await until(() => seenByOthers.length === bystanders.length, 5000, 'honest message at every bystander')
    assert.deepEqual(seenByOthers, bystanders.map(() => 1))
    for (const n of bystanders) assert.equal(n.stats().rejectedBySender[liar.peerId], 6)
    await sleep(1100) // one score refresh
    const scoreAfter = victim.score(liar.peerId)
    assert.ok(scoreAfter < scoreBefore && scoreAfter < 0, `liar score ${scoreBefore} → ${scoreAfter}`)
    unsub()
    for (const u of unsubOthers) u()
  })

  it('setAppScore feeds gossipsub scoring', async () => {
    const [a, b] = [nodes[2]!, nodes[3]!]
    a.setAppScore(b.peerId, -500)
    await sleep(1100)
    assert.ok(a.score(b.peerId) <= -400, `score ${a.score(b.peerId)}`)
    a.setAppScore(b.peerId, 0)
    a.setAppScore(b.peerId, Number.NaN) // ignored
  })
})
