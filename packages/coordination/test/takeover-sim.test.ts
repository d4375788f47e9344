import assert from 'node:assert/strict'
import { WITNESS_PROTOCOL } from '../src/index.ts'
import { createCluster, seedFromEnv, withSeed, type Cluster } from './harness.ts'

const spec = (name: string, priority = 1, cpuMillis = 500) => ({ name, priority, cpuMillis, memoryMb: 128 })

async function withCapacity (cl: Cluster, cpuMillis = 2000): Promise<void> {
  for (const a of cl.up()) a.coord.takeover.setCapacity({ cpuMillis, memoryMb: 4096 })
  await cl.sim.runFor(500)
}

describe('coordination on the simulated mesh: workload takeover', function () {
  this.timeout(60_000)

  it('the owner crashes: exactly one survivor takes the workload over; the restarted owner does not start a second copy', async () => {
    await withSeed(seedFromEnv(201), async (seed) => {
      const cl = await createCluster(6, { seed, dropRate: 0.1 })
      await withCapacity(cl)
      await cl.agents.get('n002')!.coord.takeover.declare(spec('trainer'))
      await cl.sim.runFor(500)
      assert.deepEqual([...cl.running.get('trainer')!], ['n002'])
      const t0 = cl.sim.now()
      cl.crash('n002')
      assert.equal(cl.copies('trainer'), 0)
      assert.ok(await cl.sim.runUntil(() => cl.copies('trainer') === 1, { timeoutMs: 10_000 }))
      const takeoverMs = cl.sim.now() - t0
      assert.ok(takeoverMs < 2500, `took ${takeoverMs} ms`)
      await cl.sim.runFor(5000)
      assert.equal(cl.copies('trainer'), 1)
      assert.equal(cl.maxCopies.get('trainer'), 1)
      await cl.restart('n002')
      await cl.sim.runFor(5000)
      assert.equal(cl.copies('trainer'), 1, 'the restarted owner caught up before starting anything')
      assert.equal(cl.maxCopies.get('trainer'), 1)
      assert.ok(cl.converged())
    })
  })

  it('a declaration is one update: no replica sees the spec without its assignment, so none auctions it, asks the owner and holds off the takeover of a real crash', async () => {
    await withSeed(seedFromEnv(204), async (seed) => {
      const cl = await createCluster(6, { seed })
      await withCapacity(cl)
      const owner = cl.agents.get('n002')!
      let updates = 0
      const count = (): void => { updates++ }
      owner.coord.rdoc.doc.on('update', count)
      await owner.coord.takeover.declare(spec('trainer'))
      owner.coord.rdoc.doc.off('update', count)
      assert.equal(updates, 1, 'spec and assignment in one update')
      await cl.sim.runFor(1500)
      const answered = cl.up().reduce((n, a) => n + a.coord.takeover.stats().ownerAnswered + a.coord.takeover.stats().claimsLost, 0)
      assert.equal(answered, 0, 'nobody took the fresh workload for an orphan')
      const t0 = cl.sim.now()
      cl.crash('n002')
      assert.ok(await cl.sim.runUntil(() => cl.copies('trainer') === 1, { timeoutMs: 10_000 }))
      assert.ok(cl.sim.now() - t0 < 2500, `took ${cl.sim.now() - t0} ms`)
      assert.equal(cl.maxCopies.get('trainer'), 1)
    })
  })

  it('partition: both sides run a copy; after the heal exactly one copy remains and replicas converge', async () => {
    await withSeed(seedFromEnv(202), async (seed) => {
      const cl = await createCluster(6, { seed })
      await withCapacity(cl)
      await cl.agents.get('n000')!.coord.takeover.declare(spec('infer'))
      await cl.sim.runFor(500)
      cl.sim.partition([['n000', 'n001', 'n002'], ['n003', 'n004', 'n005']])
      assert.ok(await cl.sim.runUntil(() => cl.copies('infer') === 2, { timeoutMs: 10_000 }), 'the other side took over')
      await cl.sim.runFor(5000)
      assert.equal(cl.copies('infer'), 2)
      cl.sim.heal()
      assert.ok(await cl.sim.runUntil(() => cl.copies('infer') === 1 && cl.converged(), { timeoutMs: 5000 }))
      await cl.sim.runFor(5000)
      assert.equal(cl.copies('infer'), 1)
      assert.ok(cl.converged())
    })
  })

  it('scarce capacity: two orphans, one spare slot → the higher-priority workload wins the auction', async () => {
    await withSeed(seedFromEnv(203), async (seed) => {
      const cl = await createCluster(3, { seed })
      const [a, b, c] = [...cl.agents.values()]
      a!.coord.takeover.setCapacity({ cpuMillis: 0, memoryMb: 0 })
      b!.coord.takeover.setCapacity({ cpuMillis: 600, memoryMb: 4096 }) // room for one
      c!.coord.takeover.setCapacity({ cpuMillis: 2000, memoryMb: 4096 })
      await cl.sim.runFor(500)
      await c!.coord.takeover.declare(spec('batch', 1))
      await c!.coord.takeover.declare(spec('critical', 10))
      await cl.sim.runFor(500)
      cl.crash(c!.id)
      await cl.sim.runFor(5000)
      assert.equal(cl.copies('critical'), 1)
      assert.equal(cl.copies('batch'), 0, 'the low-priority workload waits for capacity')
      assert.deepEqual([...cl.running.get('critical')!], [b!.id])
      b!.coord.takeover.setCapacity({ cpuMillis: 0, memoryMb: 4096 })
      a!.coord.takeover.setCapacity({ cpuMillis: 1000, memoryMb: 4096 })
      await cl.sim.runFor(3000)
      assert.deepEqual([...(cl.running.get('batch') ?? [])], [a!.id], 'capacity appeared: the waiting workload is placed')
    })
  })

  it('the owner leaves (graceful stop): its copy stops first, then exactly one peer takes over without waiting for a death', async () => {
    await withSeed(seedFromEnv(205), async (seed) => {
      const cl = await createCluster(5, { seed })
      await withCapacity(cl)
      const owner = cl.agents.get('n001')!
      await owner.coord.takeover.declare(spec('trainer'))
      await cl.sim.runFor(500)
      const t0 = cl.sim.now()
      await owner.coord.takeover.leave()
      assert.equal(cl.copies('trainer'), 0, 'the leaving owner stopped its copy before handing it over')
      assert.ok(await cl.sim.runUntil(() => cl.copies('trainer') === 1, { timeoutMs: 5000 }))
      // No liveness change happened: the hand-over took replication plus one claim, not a suspicion timeout.
      assert.ok(cl.sim.now() - t0 < 1000, `took ${cl.sim.now() - t0} ms`)
      assert.ok(!cl.running.get('trainer')!.has(owner.id))
      await cl.sim.runFor(3000)
      assert.equal(cl.copies('trainer'), 1)
      assert.equal(cl.maxCopies.get('trainer'), 1)
      owner.coord.takeover.setCapacity({ cpuMillis: 9000, memoryMb: 9000 })
      await owner.coord.takeover.reconcile()
      assert.ok(!cl.running.get('trainer')!.has(owner.id), 'a leaving peer takes nothing back')
    })
  })

  it('release: a workload handed back (failing here) moves to a peer that can host it; peers without its configuration never bid', async () => {
    await withSeed(seedFromEnv(206), async (seed) => {
      const cl = await createCluster(4, { seed })
      const [a, b, c, d] = [...cl.agents.values()]
      // Only a, c and d have the workload's configuration; b is the roomiest but cannot run it.
      a!.coord.takeover.setCapacity({ cpuMillis: 1000, memoryMb: 1024, workloads: ['batch'] })
      b!.coord.takeover.setCapacity({ cpuMillis: 64_000, memoryMb: 64_000, workloads: [] })
      c!.coord.takeover.setCapacity({ cpuMillis: 2000, memoryMb: 2048, workloads: ['batch'] })
      d!.coord.takeover.setCapacity({ cpuMillis: 1000, memoryMb: 1024, workloads: ['batch', 'other'] })
      await cl.sim.runFor(500)
      await a!.coord.takeover.declare(spec('batch'))
      await cl.sim.runFor(500)
      await a!.coord.takeover.release('batch')
      assert.ok(await cl.sim.runUntil(() => cl.copies('batch') === 1, { timeoutMs: 5000 }))
      assert.deepEqual([...cl.running.get('batch')!], [c!.id], 'the roomiest peer that can host it')
      cl.crash(c!.id)
      assert.ok(await cl.sim.runUntil(() => cl.copies('batch') === 1, { timeoutMs: 10_000 }))
      assert.deepEqual([...cl.running.get('batch')!], [d!.id], 'the releasing peer does not bid again; b cannot')
      await cl.sim.runFor(3000)
      assert.equal(cl.maxCopies.get('batch'), 1)
    })
  })

  it('reinstate: a peer that handed a workload back hosts it again once the cause is fixed, without taking it from its current owner', async () => {
    await withSeed(seedFromEnv(208), async (seed) => {
      const cl = await createCluster(3, { seed })
      const [a, b, c] = [...cl.agents.values()]
      a!.coord.takeover.setCapacity({ cpuMillis: 4000, memoryMb: 4096, workloads: ['batch'] })
      b!.coord.takeover.setCapacity({ cpuMillis: 1000, memoryMb: 1024, workloads: ['batch'] })
      c!.coord.takeover.setCapacity({ cpuMillis: 1000, memoryMb: 1024, workloads: [] })
      await cl.sim.runFor(500)
      await a!.coord.takeover.declare(spec('batch'))
      await cl.sim.runFor(500)
      assert.equal(a!.coord.takeover.reinstate('batch'), false, 'nothing to reinstate before a hand-back')
      await a!.coord.takeover.release('batch')
      assert.ok(await cl.sim.runUntil(() => cl.running.get('batch')?.has(b!.id) === true && cl.copies('batch') === 1, { timeoutMs: 5000 }), 'handed to b')
      // The operator fixed a: it offers to host the workload again, but b keeps its copy.
      assert.equal(a!.coord.takeover.reinstate('batch'), true)
      await cl.sim.runFor(3000)
      assert.deepEqual([...cl.running.get('batch')!], [b!.id], 'reinstating takes nothing from the current owner')
      // b dies: a is the only peer able to host it, and bids again (without reinstate nobody would).
      cl.crash(b!.id)
      assert.ok(await cl.sim.runUntil(() => cl.running.get('batch')?.has(a!.id) === true, { timeoutMs: 10_000 }), 'a took it back')
      await cl.sim.runFor(3000)
      assert.equal(cl.copies('batch'), 1)
      assert.equal(cl.maxCopies.get('batch'), 1)
    })
  })

  it('two takeovers in a row: the second owner crashes 3 s after the first takeover and the workload moves again at once', async () => {
    // The takeover claim cools down claimCooldownMs (2 s), not the registry's default 30 s: a release
    // without a cooldown uses the one asked for when claiming.
    await withSeed(seedFromEnv(207), async (seed) => {
      const cl = await createCluster(4, { seed })
      await withCapacity(cl)
      await cl.agents.get('n000')!.coord.takeover.declare(spec('batch'))
      await cl.sim.runFor(500)
      cl.crash('n000')
      assert.ok(await cl.sim.runUntil(() => cl.copies('batch') === 1, { timeoutMs: 10_000 }))
      await cl.sim.runFor(3000)
      const second = [...cl.running.get('batch')!][0]!
      const t0 = cl.sim.now()
      cl.crash(second)
      assert.ok(await cl.sim.runUntil(() => cl.copies('batch') === 1, { timeoutMs: 10_000 }), 'taken over again')
      assert.ok(cl.sim.now() - t0 < 2500, `took ${cl.sim.now() - t0} ms`)
      assert.equal(cl.maxCopies.get('batch'), 1)
    })
  })

  it('a fleet booting together: five agents declare the same workload at once; with claim: true one copy ever runs', async () => {
    for (const claim of [false, true]) {
      await withSeed(seedFromEnv(208), async (seed) => {
        const cl = await createCluster(5, { seed })
        await withCapacity(cl)
        const declared = cl.up().map((a) => a.coord.takeover.declare(spec('scheduler'), { claim }))
        await cl.sim.runFor(3000)
        await Promise.all(declared)
        assert.equal(cl.copies('scheduler'), 1, 'one copy in the end either way')
        if (claim) assert.equal(cl.maxCopies.get('scheduler'), 1, 'never two at once')
        else assert.ok(cl.maxCopies.get('scheduler')! > 1, 'without the claim every agent starts one until the duplicates are seen (the case the claim exists for)')
        assert.ok(cl.converged())
      })
    }
  })

  it('a node whose view of the owner lags (one link cut; everyone else reaches the owner): witnesses still see the owner alive, so no takeover and no second copy', async () => {
    await withSeed(seedFromEnv(211), async (seed) => {
      for (const witnesses of [3, 0]) {
        const cl = await createCluster(5, { seed }, witnesses === 0 ? { witness: { witnesses: 0 } } : {})
        // n004 has the most room, so it wins every auction it runs for an orphan.
        for (const a of cl.up()) a.coord.takeover.setCapacity({ cpuMillis: a.id === 'n004' ? 8000 : 2000, memoryMb: 4096 })
        await cl.sim.runFor(500)
        await cl.agents.get('n001')!.coord.takeover.declare(spec('trainer'))
        await cl.sim.runFor(1000)
        cl.sim.cutLink('n004', 'n001')
        await cl.sim.runFor(10_000)
        const stats = cl.agents.get('n004')!.coord.takeover.stats()
        assert.equal(cl.agents.get('n004')!.node.mesh.peers().find((p) => p.peer === 'n001')?.state, 'dead', 'n004 sees the owner dead')
        if (witnesses > 0) {
          assert.deepEqual([...cl.running.get('trainer')!], ['n001'], 'the owner keeps the only copy')
          assert.equal(cl.maxCopies.get('trainer'), 1)
          assert.equal(stats.takeovers, 0)
          assert.ok(stats.ownerNotDeadToWitness >= 2, `witness holds: ${stats.ownerNotDeadToWitness} (one per retry)`)
          assert.ok(cl.agents.get('n002')!.coord.stats().witness.answered >= 1 || cl.agents.get('n003')!.coord.stats().witness.answered >= 1)
          // Cut the owner off from everyone: now it is an orphan for all, and exactly one survivor takes it over.
          cl.sim.partition([['n001']])
          assert.ok(await cl.sim.runUntil(() => [...(cl.running.get('trainer') ?? [])].some((id) => id !== 'n001'), { timeoutMs: 10_000 }), 'taken over once the owner is really cut off')
          cl.sim.heal()
          assert.ok(await cl.sim.runUntil(() => cl.copies('trainer') === 1 && cl.converged(), { timeoutMs: 20_000 }))
        } else {
          // Without witnesses the lagging node takes over a workload that still runs (the check is what prevents it).
          assert.ok(stats.takeovers >= 1, 'without witnesses the lagging node takes over')
          assert.equal(cl.maxCopies.get('trainer'), 2)
        }
      }
    })
  })

  it('witness questions: a malformed question or a flood of them is refused, counted and costs the asker', async () => {
    await withSeed(seedFromEnv(212), async (seed) => {
      const cl = await createCluster(3, { seed })
      const [a, b] = [cl.agents.get('n000')!, cl.agents.get('n001')!]
      const ask = async (q: Uint8Array): Promise<string> => {
        const p = a.node.mesh.request('n001', WITNESS_PROTOCOL, q, { timeoutMs: 1000, maxBytes: 128 }).then(() => 'answered', (err: { code?: string }) => String(err.code))
        await cl.sim.runFor(100)
        return await p
      }
      assert.equal(await ask(new TextEncoder().encode('n002')), 'answered')
      assert.equal(await ask(Uint8Array.of(0, 1, 2)), 'ERR_MESH_REMOTE')
      assert.equal(b.coord.stats().witness.refused, 1)
      const results = await Promise.all(Array.from({ length: 40 }, async () => await ask(new TextEncoder().encode('n002'))))
      assert.ok(results.filter((r) => r !== 'answered').length >= 15, 'a flood is cut to the rate limit')
      assert.ok(b.coord.stats().witness.refused >= 16)
      assert.ok((b.node.mesh.appScores().n000 ?? 0) < 0, 'the asker\'s gossip score dropped')
    })
  })
})
