import assert from 'node:assert/strict'
import { nodeTarget } from '../src/index.ts'
import { createCluster, seedFromEnv, withSeed } from './harness.ts'

describe('coordination on the simulated mesh: intervention registry', function () {
  this.timeout(60_000)

  it('5 agents claim one failing target at once (20% drop): exactly one acts; no re-claim while verifying or cooling', async () => {
    await withSeed(seedFromEnv(101), async (seed) => {
      const cl = await createCluster(5, { seed, dropRate: 0.2, reorderRate: 0.2, duplicateRate: 0.1 })
      let acting = 0; let maxActing = 0; let interventions = 0
      const attempt = async (id: string): Promise<void> => {
        const r = await cl.agents.get(id)!.coord.registry.claim('model-server', 'restart')
        if (!r.granted || r.alreadyHeld === true) return
        interventions++
        acting++; maxActing = Math.max(maxActing, acting)
        await cl.sim.runFor(0)
        cl.agents.get(id)!.node.timers.setTimeout(() => {
          acting--
          cl.agents.get(id)!.coord.registry.release('model-server', 'recovered')
        }, 5000) // restart + verification window
      }
      // Every agent observes the failure and keeps trying every 700 ms for 60 s.
      for (const a of cl.agents.values()) {
        const loop = (): void => { void attempt(a.id); a.node.timers.setTimeout(loop, 700) }
        a.node.timers.setTimeout(loop, cl.sim.random() * 50)
      }
      await cl.sim.runFor(60_000)
      assert.equal(maxActing, 1, 'never two interventions at once')
      // 60 s with a 5 s verification and a 30 s cooldown: at most 2 interventions.
      assert.ok(interventions >= 1 && interventions <= 2, `interventions ${interventions}`)
      const refusals = [...cl.agents.values()].reduce((s, a) => s + a.coord.registry.stats().refused, 0)
      assert.ok(refusals > 100, 'the others were refused while in progress/cooling')
    })
  })

  it('a lease expires when its owner dies; another agent can then act', async () => {
    await withSeed(seedFromEnv(102), async (seed) => {
      const cl = await createCluster(4, { seed })
      const r = await Promise.all([cl.agents.get('n000')!.coord.registry.claim('db', 'restart'), cl.sim.runFor(1000)])
      assert.equal(r[0].granted, true)
      assert.equal(cl.agents.get('n001')!.coord.registry.check('db').free, false)
      cl.crash('n000')
      await cl.sim.runFor(2500) // connection:close → suspect → dead
      assert.equal(cl.agents.get('n001')!.coord.registry.check('db').free, true)
      const r2 = await Promise.all([cl.agents.get('n001')!.coord.registry.claim('db', 'restart'), cl.sim.runFor(1000)])
      assert.equal(r2[0].granted, true)
    })
  })

  // Reputation decides whose claims are accepted. n004 is quarantined by the
  // others' direct observations (a failing peer); it then writes claims into
  // the shared document by hand, as a hostile peer would, bypassing its own
  // registry's refusal.
  const quarantine = async (cl: Awaited<ReturnType<typeof createCluster>>, bad: string): Promise<void> => {
    for (const a of cl.up()) {
      if (a.id === bad) continue
      a.coord.reputation.observe(bad, false, 5)
      a.coord.reputation.flush()
    }
    await cl.sim.runFor(3000)
    for (const a of cl.up()) { a.coord.reputation.refresh(); assert.equal(a.coord.reputation.isQuarantined(bad), true, `${a.id} quarantines ${bad}`) }
  }

  it('a quarantined peer cannot squat a target: its claims and cooldowns are not accepted', async () => {
    await withSeed(seedFromEnv(103), async (seed) => {
      const cl = await createCluster(5, { seed, dropRate: 0.1 })
      const bad = cl.agents.get('n004')!
      await quarantine(cl, 'n004')
      assert.equal((await Promise.all([bad.coord.registry.claim('n001/inference', 'restart'), cl.sim.runFor(1000)]))[0].granted, false, 'a quarantined peer\'s own registry refuses to claim')
      const t = bad.node.now()
      const claims = bad.coord.rdoc.doc.getMap('claims')
      claims.set('n004/n001/inference', { target: 'n001/inference', action: 'restart', owner: 'n004', hlc: '0', expiresMs: t + 3_600_000, state: 'acting' })
      claims.set('n004/n002/model', { target: 'n002/model', action: 'restart', owner: 'n004', hlc: '0', expiresMs: t, state: 'released', outcome: 'failed', cooldownUntilMs: t + 3_600_000 })
      await cl.sim.runFor(2000)
      const n001 = cl.agents.get('n001')!
      assert.ok(n001.coord.registry.claimsFor('n001/inference').some((c) => c.owner === 'n004'), 'the squatting claim replicated')
      assert.deepEqual(n001.coord.registry.check('n001/inference'), { free: true })
      assert.deepEqual(n001.coord.registry.check('n002/model'), { free: true }, 'a quarantined peer\'s cooldown is ignored too')
      assert.ok(n001.coord.registry.stats().distrustedWrites >= 2, 'counted')
      const r = await Promise.all([n001.coord.registry.claim('n001/inference', 'restart'), cl.sim.runFor(1000)])
      assert.equal(r[0].granted, true, 'the healer acts despite the squatter')
      // Every replica, the squatter's included, agrees who holds it.
      for (const a of cl.up()) assert.equal(a.coord.registry.status('n001/inference').holder?.owner, 'n001', a.id)
    })
  })

  it('a peer quarantined while it holds a claim loses it to a trusted claimant, and is told (preempted)', async () => {
    await withSeed(seedFromEnv(104), async (seed) => {
      const cl = await createCluster(5, { seed })
      const bad = cl.agents.get('n004')!
      const r = await Promise.all([bad.coord.registry.claim('shared/model', 'restart'), cl.sim.runFor(1000)])
      assert.equal(r[0].granted, true)
      assert.equal(cl.agents.get('n000')!.coord.registry.check('shared/model').free, false, 'held by a trusted peer: others wait')
      const preempted: string[] = []
      bad.coord.registry.onPreempted((target, by) => preempted.push(`${target}:${by.owner}`))
      await quarantine(cl, 'n004')
      const r2 = await Promise.all([cl.agents.get('n000')!.coord.registry.claim('shared/model', 'restart'), cl.sim.runFor(1000)])
      assert.equal(r2[0].granted, true)
      await cl.sim.runFor(1000)
      assert.deepEqual(preempted, ['shared/model:n000'])
      assert.deepEqual(bad.coord.registry.held(), [])
    })
  })

  it('a node\'s own component (node:<peer>/<name>) is only that node\'s to claim: another peer\'s claim is not accepted, counted and costs it', async () => {
    await withSeed(seedFromEnv(105), async (seed) => {
      const rejected: string[] = []
      const cl = await createCluster(4, { seed }, { onReject: (peer, reason) => { rejected.push(`${peer}:${reason}`) } })
      const n1 = cl.agents.get('n001')!
      const bad = cl.agents.get('n003')!
      const target = nodeTarget('n001', 'inference')
      // Through the API: refused outright, with a typed error.
      await assert.rejects(bad.coord.registry.claim(target, 'restart'), (err: Error & { code?: string }) => err.name === 'ClaimNotAllowedError' && err.code === 'ERR_CLAIM_NOT_ALLOWED')
      // Written by hand (a hostile peer): replicated, but no replica accepts it.
      const t = bad.node.now()
      bad.coord.rdoc.doc.getMap('claims').set(`n003/${target}`, { target, action: 'restart', owner: 'n003', hlc: '0', expiresMs: t + 3_600_000, state: 'acting' })
      await cl.sim.runFor(2000)
      for (const a of cl.up()) assert.deepEqual(a.coord.registry.check(target), { free: true }, a.id)
      assert.ok(n1.coord.registry.stats().unauthorizedClaims >= 1)
      assert.ok(rejected.includes('n003:unauthorized'), 'reported as rejected input')
      assert.ok(n1.node.mesh.appScores().n003! < 0, `the writer's gossip score drops (${JSON.stringify(n1.node.mesh.appScores())})`)
      const r = await Promise.all([n1.coord.registry.claim(target, 'restart'), cl.sim.runFor(1000)])
      assert.equal(r[0].granted, true, 'the node heals its own component')
    })
  })
})

