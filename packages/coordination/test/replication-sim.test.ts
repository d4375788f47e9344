import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { z } from 'zod'
import { createCluster, seedFromEnv, withSeed, type Cluster } from './harness.ts'

const rawTopic = { name: 'homeostat/coord/meso/1', body: z.any(), maxBytes: 1024 * 1024 }
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64')

/** One random operation by a random running agent. */
async function randomOp (cl: Cluster, step: number): Promise<void> {
  const r = cl.sim.random
  const ups = cl.up()
  const a = ups[Math.floor(r() * ups.length)]
  if (a == null) return
  const peers = [...cl.agents.keys()]
  const target = `t${Math.floor(r() * 4)}`
  const x = r()
  if (x < 0.3) void a.coord.registry.claim(target, 'restart').then((res) => {
    if (res.granted && res.alreadyHeld !== true) a.node.timers.setTimeout(() => a.coord.registry.release(target, r() < 0.8 ? 'recovered' : 'failed', { cooldownMs: 1000 }), 200 + r() * 1000)
  })
  else if (x < 0.55) { a.coord.reputation.observe(peers[Math.floor(r() * peers.length)]!, r() < 0.7); if (r() < 0.5) a.coord.reputation.flush() }
  else if (x < 0.75) a.coord.takeover.setCapacity({ cpuMillis: Math.floor(r() * 4000), memoryMb: 1024 })
  else if (x < 0.85) await a.coord.takeover.declare({ name: `w${step % 5}`, priority: Math.floor(r() * 5), cpuMillis: 100, memoryMb: 64 })
  else if (x < 0.9) cl.sim.partition([peers.filter(() => r() < 0.5)])
  else if (x < 0.95) cl.sim.heal()
  else if (ups.length > 3) cl.crash(a.id)
}

async function healAll (cl: Cluster): Promise<void> {
  cl.sim.heal()
  cl.sim.setFaults({ dropRate: 0, duplicateRate: 0, reorderRate: 0 })
  for (const a of [...cl.agents.values()]) if (!a.node.isUp()) await cl.restart(a.id)
}

describe('coordination on the simulated mesh: replication', function () {
  this.timeout(60_000)

  for (const seed of [seedFromEnv(301), 302, 303, 304, 305]) {
    it(`seeded randomised convergence (random ops, drop/dup/reorder, partitions, crashes), seed ${seed}`, async () => {
      await withSeed(seed, async () => {
        const cl = await createCluster(8, { seed, dropRate: 0.25, duplicateRate: 0.1, reorderRate: 0.3 })
        for (let i = 0; i < 150; i++) {
          await randomOp(cl, i)
          await cl.sim.runFor(cl.sim.random() * 200)
        }
        await healAll(cl)
        const ok = await cl.sim.runUntil(() => cl.converged(), { timeoutMs: 30_000, stepMs: 100 })
        if (!ok) {
          const snaps = cl.up().map((a) => `${a.id}: ${cl.snapshot(a).length}`)
          assert.fail(`replicas differ after heal: ${snaps.join(', ')}`)
        }
        // Every workload declared runs exactly once once faults are gone (liveness).
        assert.ok(await cl.sim.runUntil(() => cl.up()[0]!.coord.takeover.specs().every((s) => cl.copies(s.name) === 1), { timeoutMs: 20_000, stepMs: 100 }),
          `copies: ${JSON.stringify([...cl.running].map(([k, v]) => [k, [...v]]))}`)
      })
    })
  }

  it('bad input: malformed, oversized, foreign-key, nested and flooding updates are rejected, counted and scored down', async () => {
    await withSeed(seedFromEnv(306), async (seed) => {
      const cl = await createCluster(3, { seed })
      const victim = cl.agents.get('n001')!
      const hostile = cl.agents.get('n002')!.node.mesh
      const send = async (u: Uint8Array): Promise<void> => { await hostile.publish(rawTopic, 'coord.update', { u: b64(u) }); await cl.sim.runFor(50) }
      await send(new Uint8Array([1, 2, 3, 250, 251, 252, 9, 9]))
      await send(new Uint8Array(100 * 1024).fill(7))
      const d = new Y.Doc()
      d.getMap('claims').set('n001/db', { target: 'db', action: 'restart', owner: 'n001', hlc: 'x', expiresMs: 9e15, state: 'acting' })
      await send(Y.encodeStateAsUpdate(d))
      const d2 = new Y.Doc()
      d2.getMap('claims').set('n002/db', new Y.Map())
      await send(Y.encodeStateAsUpdate(d2))
      const d3 = new Y.Doc()
      d3.getArray('claims').insert(0, [1])
      await send(Y.encodeStateAsUpdate(d3))
      const s = victim.coord.rdoc.stats()
      assert.equal(s.rejected.malformed, 1)
      assert.equal(s.rejected.oversized, 1)
      assert.equal(s.rejected.unauthorized, 1)
      assert.equal(s.rejected.shape, 2)
      assert.equal(victim.coord.rdoc.doc.getMap('claims').get('n001/db'), undefined, 'the forged claim never landed')
      // Flood: valid own-key updates far over the per-sender rate.
      const d4 = new Y.Doc()
      for (let i = 0; i < 200; i++) {
        const before = Y.encodeStateVector(d4)
        d4.getMap('capacity').set('n002/cap', { cpuMillis: i, memoryMb: 1, atMs: 0 })
        await hostile.publish(rawTopic, 'coord.update', { u: b64(Y.encodeStateAsUpdate(d4, before)) })
      }
      await cl.sim.runFor(100)
      const s2 = victim.coord.rdoc.stats()
      assert.ok((s2.rejected.flood ?? 0) > 100, `flood rejections ${s2.rejected.flood}`)
      assert.ok(s2.rejectedBySender.n002! > 100)
      assert.ok(victim.node.mesh.appScores().n002! < -10, `app score ${victim.node.mesh.appScores().n002}`)
      assert.equal(victim.node.mesh.appScores().n000 ?? 0, 0)
      // The honest replica still works and converges with the others afterwards.
      await cl.sim.runFor(15_000)
      assert.ok(cl.converged())
    })
  })

  it('a lying peer reporting false failures ends with the lowest reputation and gets nobody quarantined', async () => {
    await withSeed(seedFromEnv(307), async (seed) => {
      const cl = await createCluster(10, { seed, dropRate: 0.1 })
      const ids = [...cl.agents.keys()]
      const liar = 'n007'
      for (let round = 0; round < 40; round++) {
        for (const a of cl.up()) {
          for (let k = 0; k < 3; k++) {
            const p = ids[Math.floor(cl.sim.random() * ids.length)]!
            if (p === a.id) continue
            a.coord.reputation.observe(p, a.id === liar ? false : true)
          }
          if (a.id === liar) for (const p of ids) a.coord.reputation.observe(p, false, 2)
        }
        await cl.sim.runFor(1000)
      }
      await cl.sim.runFor(10_000)
      for (const a of cl.up()) {
        a.coord.reputation.refresh()
        const all = a.coord.reputation.all()
        assert.equal(all[0]!.peer, liar, `${a.id} ranks ${all[0]!.peer} lowest`)
        for (const p of ids) if (p !== liar) assert.equal(a.coord.reputation.isQuarantined(p), false, `${a.id} quarantined ${p}`)
        if (a.id !== liar) {
          const scores = a.node.mesh.appScores()
          const min = Object.entries(scores).sort(([, x], [, y]) => x - y)[0]!
          assert.equal(min[0], liar, 'the liar has the lowest gossip app score')
        }
      }
    })
  })

  it('an agent restarts with what it knew (persistence), even when nobody is reachable', async () => {
    await withSeed(seedFromEnv(308), async (seed) => {
      const cl = await createCluster(3, { seed })
      const a = cl.agents.get('n000')!
      await Promise.all([a.coord.registry.claim('gpu0', 'reset'), cl.sim.runFor(1000)])
      a.coord.registry.release('gpu0', 'recovered')
      cl.agents.get('n001')!.coord.reputation.observe('n002', true)
      cl.agents.get('n001')!.coord.reputation.flush()
      await cl.sim.runFor(500)
      const before = cl.snapshot(a)
      cl.crash('n000')
      cl.sim.partition([['n000'], ['n001', 'n002']])
      const again = await cl.restart('n000')
      assert.equal(cl.snapshot(again), before)
      assert.equal(again.coord.registry.check('gpu0').free, false, 'still cooling down after a restart')
      assert.ok(a.persistence.size() > 0)
    })
  })
})
