// The Mesh compliance suite: any Mesh implementation (libp2p, simulated) must
// pass it. `meshCompliance(name, factory)` registers mocha tests.
import { strict as assert } from 'node:assert'
import { z } from 'zod'
import type { Mesh, MeshMessage, LivenessEvent, Topic } from '../src/types.ts'

export interface MeshHarness {
  /** Creates `count` started meshes that are connected to each other (or will be shortly). */
  create: (count: number) => Promise<Mesh[]>
  /** Lets `ms` of (real or virtual) time pass. */
  wait: (ms: number) => Promise<void>
  /** Starts a peer that holds the swarm key but is not an agent (libp2p: a stock js-libp2p node; sim: a
   * node of kind `other`), connected to `meshes`. */
  createOther: (meshes: Mesh[]) => Promise<{ peerId: string, stop: () => Promise<void> }>
  /** Stops every mesh created. */
  cleanup: () => Promise<void>
}

/** Polls `cond` every 20 ms of harness time until true or `timeoutMs` elapsed. */
export async function eventually (h: MeshHarness, cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (let waited = 0; waited <= timeoutMs; waited += 20) {
    if (cond()) return
    await h.wait(20)
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`)
}

const health: Topic<{ node: string, n: number }> = {
  name: 'compliance/health/1',
  body: z.object({ node: z.string(), n: z.number().int() }).strict()
}

export function meshCompliance (name: string, factory: () => MeshHarness | Promise<MeshHarness>): void {
  describe(`Mesh compliance: ${name}`, function () {
    this.timeout(30_000)
    let h: MeshHarness
    beforeEach(async () => { h = await factory() })
    afterEach(async () => { await h.cleanup() })

    const allAlive = (meshes: Mesh[]): boolean => meshes.every((m) =>
      meshes.every((o) => o === m || m.peers().some((p) => p.peer === o.peerId && p.state === 'alive')))

    it('sees every peer alive after start', async () => {
      const meshes = await h.create(4)
      await eventually(h, () => allAlive(meshes), 10_000, 'all peers alive')
      for (const m of meshes) assert.equal(m.peers().some((p) => p.peer === m.peerId), false)
      // Agents know each other as agents, and members() is exactly them.
      await eventually(h, () => meshes.every((m) => m.peers().every((p) => p.kind === 'agent')), 5000, 'every peer of kind agent')
      for (const m of meshes) {
        assert.deepEqual(m.members().map((p) => p.peer).sort(), meshes.filter((o) => o !== m).map((o) => o.peerId).sort())
      }
    })

    it('a peer that is not an agent: alive while connected, kind other, never a member, dead when it stops', async () => {
      const meshes = await h.create(2)
      await eventually(h, () => allAlive(meshes), 10_000, 'agents alive')
      const events: LivenessEvent[] = []
      for (const m of meshes) m.onLiveness((e) => { events.push(e) })
      const other = await h.createOther(meshes)
      const seen = (m: Mesh): ReturnType<Mesh['peers']>[number] | undefined => m.peers().find((p) => p.peer === other.peerId)
      await eventually(h, () => meshes.every((m) => seen(m)?.state === 'alive' && seen(m)?.kind === 'other'), 10_000, 'the other peer alive, of kind other')
      // Several of the agents' probe timeouts (≤ 2 s + 0.6 s suspicion each): it stays alive.
      await h.wait(4000)
      for (const m of meshes) {
        assert.equal(seen(m)?.state, 'alive')
        assert.equal(seen(m)?.kind, 'other')
        assert.equal(m.members().some((p) => p.peer === other.peerId), false, 'not a member')
        assert.deepEqual(m.members().map((p) => p.peer), meshes.filter((o) => o !== m).map((o) => o.peerId))
      }
      const mine = events.filter((e) => e.peer === other.peerId)
      assert.deepEqual(mine.filter((e) => e.state !== 'alive'), [], 'never suspected or declared dead')
      assert.ok(mine.every((e) => e.kind !== 'agent'))
      await other.stop()
      await eventually(h, () => meshes.every((m) => seen(m)?.state === 'dead'), 5000, 'a stopped other peer is dead')
      assert.equal(meshes.some((m) => m.members().some((p) => p.peer === other.peerId)), false)
    })

    it('delivers every message to every other peer, never to its sender, with HLC merged', async () => {
      const meshes = await h.create(4)
      await eventually(h, () => allAlive(meshes), 10_000, 'all peers alive')
      const got = meshes.map(() => [] as Array<MeshMessage<{ node: string, n: number }>>)
      meshes.forEach((m, i) => m.subscribe(health, (msg) => { got[i]!.push(msg) }))
      await h.wait(500) // subscriptions propagate
      for (const [i, m] of meshes.entries()) await m.publish(health, 'health.report', { node: m.peerId, n: i })
      await eventually(h, () => got.every((g) => g.length === meshes.length - 1), 10_000, 'every message delivered')
      await h.wait(200)
      for (const [i, g] of got.entries()) {
        assert.equal(g.length, meshes.length - 1)
        assert.equal(g.some((x) => x.envelope.from === meshes[i]!.peerId), false, 'own message delivered')
        for (const msg of g) {
          assert.equal(msg.envelope.type, 'health.report')
          assert.equal(msg.envelope.body.node, msg.envelope.from)
          assert.equal(msg.sentHlc.node, msg.envelope.from)
          // Receive event is later than the send event (HLC merge).
          assert.ok(msg.receivedHlc.wallMs > msg.sentHlc.wallMs || (msg.receivedHlc.wallMs === msg.sentHlc.wallMs && msg.receivedHlc.logical > msg.sentHlc.logical), 'receive HLC after send HLC')
        }
      }
      for (const m of meshes) {
        assert.equal(m.stats().published, 1)
        assert.equal(m.stats().delivered, meshes.length - 1)
      }
    })

    it('rejects, counts and never delivers a body that fails the schema', async () => {
      const meshes = await h.create(2)
      const [a, b] = meshes as [Mesh, Mesh]
      await eventually(h, () => allAlive(meshes), 10_000, 'peers alive')
      const loose: Topic<unknown> = { name: health.name, body: z.unknown() }
      const got: unknown[] = []
      b.subscribe(health, (m) => { got.push(m.envelope.body) })
      a.subscribe(loose, () => {})
      await h.wait(500)
      await a.publish(loose, 'health.report', { node: 'x', n: 'not a number' })
      await a.publish(loose, 'health.report', { node: 'x', n: 7 })
      await eventually(h, () => got.length === 1, 10_000, 'valid message delivered')
      await h.wait(200)
      assert.deepEqual(got, [{ node: 'x', n: 7 }])
      assert.equal(b.stats().rejected.schema, 1)
      assert.equal(b.stats().rejectedBySender[a.peerId], 1)
    })

    it('refuses to publish a body that fails its own topic schema', async () => {
      const [a] = await h.create(1) as [Mesh]
      let code: string | undefined
      try { await a.publish(health, 'health.report', { node: 'x', n: 1.5 }) } catch (err) { code = (err as { code?: string }).code }
      assert.equal(code, 'ERR_VALIDATION')
    })

    it('answers direct requests and reports remote failures with a code', async () => {
      const meshes = await h.create(2)
      const [a, b] = meshes as [Mesh, Mesh]
      await eventually(h, () => allAlive(meshes), 10_000, 'peers alive')
      b.handle('/compliance/echo/1', async (from, req) => {
        const text = new TextDecoder().decode(req)
        if (text === 'fail') throw new Error('asked to fail')
        return new TextEncoder().encode(`${from}:${text}`)
      })
      await h.wait(100)
      const res = await a.request(b.peerId, '/compliance/echo/1', new TextEncoder().encode('hello'), { timeoutMs: 5000 })
      assert.equal(new TextDecoder().decode(res), `${a.peerId}:hello`)
      let code: string | undefined
      try { await a.request(b.peerId, '/compliance/echo/1', new TextEncoder().encode('fail'), { timeoutMs: 5000 }) } catch (err) { code = (err as { code?: string }).code }
      assert.equal(code, 'ERR_MESH_REMOTE')
    })

    it('declares a stopped peer dead', async () => {
      const meshes = await h.create(3)
      await eventually(h, () => allAlive(meshes), 10_000, 'peers alive')
      const [a, b, c] = meshes as [Mesh, Mesh, Mesh]
      const events: LivenessEvent[] = []
      a.onLiveness((e) => { events.push(e) })
      b.onLiveness((e) => { events.push(e) })
      await c.stop()
      await eventually(h, () => [a, b].every((m) => m.peers().some((p) => p.peer === c.peerId && p.state === 'dead')), 5000, 'stopped peer dead')
      assert.equal(events.filter((e) => e.peer === c.peerId && e.state === 'dead').length, 2)
      assert.equal(a.peers().find((p) => p.peer === b.peerId)?.state, 'alive')
    })
  })
}
