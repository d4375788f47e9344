import assert from 'node:assert/strict'
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
})
