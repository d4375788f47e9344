// 200 agents in one process on the simulated mesh. Safety and liveness runs are
// separate: safety runs check invariants at every step under faults; liveness
// runs check that progress resumes once the faults heal.
import assert from 'node:assert/strict'
import { createCluster, seedFromEnv, withSeed, type Cluster } from './harness.ts'

const N = 200
const TARGETS = 10
const WORKLOADS = 12

interface Tally { acting: Map<string, number>, maxActing: number, interventions: number }

/** Observers of a failing shared target try to heal it: claim, act 1–3 s, release. */
function failTarget (cl: Cluster, tally: Tally, target: string, observers: number): void {
  const r = cl.sim.random
  const ups = cl.up()
  for (let k = 0; k < observers; k++) {
    const a = ups[Math.floor(r() * ups.length)]!
    a.node.timers.setTimeout(() => {
      if (!a.node.isUp()) return
      void a.coord.registry.claim(target, 'restart').then((res) => {
        if (!res.granted || res.alreadyHeld === true) return
        tally.interventions++
        const n = (tally.acting.get(target) ?? 0) + 1
        tally.acting.set(target, n)
        tally.maxActing = Math.max(tally.maxActing, n)
        a.node.timers.setTimeout(() => {
          tally.acting.set(target, tally.acting.get(target)! - 1)
          a.coord.registry.release(target, 'recovered', { cooldownMs: 3000 })
        }, 1000 + r() * 2000)
      })
    }, r() * 100)
  }
}

async function setup (seed: number, faults: { dropRate: number, duplicateRate: number, reorderRate: number }): Promise<Cluster> {
  const cl = await createCluster(N, { seed, ...faults }, {}, (i, sim) => ({ skewMs: Math.round((sim.random() - 0.5) * 300), driftPpm: Math.round((sim.random() - 0.5) * 200) }))
  for (const a of cl.up()) a.coord.takeover.setCapacity({ cpuMillis: 1000 + Math.floor(cl.sim.random() * 3000), memoryMb: 4096 })
  await cl.sim.runFor(1000)
  const ups = cl.up()
  for (let w = 0; w < WORKLOADS; w++) await ups[Math.floor(cl.sim.random() * ups.length)]!.coord.takeover.declare({ name: `w${w}`, priority: 1 + (w % 4), cpuMillis: 500, memoryMb: 256 })
  await cl.sim.runFor(2000)
  return cl
}

describe(`coordination at scale: ${N} agents on the simulated mesh`, function () {
  this.timeout(240_000)

  it('safety run: drops, duplicates, reordering, skewed clocks and crashes — never two interventions on one target, never two copies of a workload; replicas converge', async () => {
    await withSeed(seedFromEnv(401), async (seed) => {
      const t0 = Date.now()
      const cl = await setup(seed, { dropRate: 0.1, duplicateRate: 0.05, reorderRate: 0.2 })
      const tally: Tally = { acting: new Map(), maxActing: 0, interventions: 0 }
      let maxCopies = 0
      const crashed: string[] = []
      for (let round = 0; round < 8; round++) {
        failTarget(cl, tally, `t${round % TARGETS}`, 4)
        if (round % 4 === 1) {
          // Crash an owner of a workload half the time, a random agent otherwise.
          const owners = [...cl.running.values()].flatMap((s) => [...s])
          const victim = round % 8 === 1 && owners.length > 0 ? owners[Math.floor(cl.sim.random() * owners.length)]! : cl.up()[Math.floor(cl.sim.random() * cl.up().length)]!.id
          cl.crash(victim); crashed.push(victim)
        }
        if (round % 4 === 3 && crashed.length > 0) await cl.restart(crashed.shift()!)
        for (let s = 0; s < 10; s++) {
          await cl.sim.runFor(100)
          for (const set of cl.running.values()) maxCopies = Math.max(maxCopies, set.size)
        }
      }
      assert.equal(tally.maxActing, 1, 'one intervention per target at a time')
      assert.ok(tally.interventions >= 8, `interventions ${tally.interventions}`)
      assert.equal(maxCopies, 1, 'no workload ever ran twice')
      for (const c of crashed) await cl.restart(c)
      cl.sim.setFaults({ dropRate: 0, duplicateRate: 0, reorderRate: 0 })
      assert.ok(await cl.sim.runUntil(() => cl.converged(), { timeoutMs: 60_000, stepMs: 500 }), 'replicas converge')
      console.log(`      safety run: ${tally.interventions} interventions, ${cl.sim.stats().events} events, ${Date.now() - t0} ms wall`)
    })
  })

  it('liveness run: partitions and crashes, then heal — every workload runs exactly once, pending repairs happen, replicas converge', async () => {
    await withSeed(seedFromEnv(402), async (seed) => {
      const t0 = Date.now()
      const cl = await setup(seed, { dropRate: 0.1, duplicateRate: 0.05, reorderRate: 0.2 })
      const tally: Tally = { acting: new Map(), maxActing: 0, interventions: 0 }
      const ids = [...cl.agents.keys()]
      // Split in two random halves; crash a few owners on each side.
      const side = ids.filter(() => cl.sim.random() < 0.5)
      cl.sim.partition([side])
      const owners = [...cl.running.values()].flatMap((s) => [...s]).slice(0, 3)
      for (const o of owners) cl.crash(o)
      failTarget(cl, tally, 'shared-db', 5)
      await cl.sim.runFor(8000)
      // During the partition each side may run its own copy: that is expected.
      cl.sim.heal()
      cl.sim.setFaults({ dropRate: 0, duplicateRate: 0, reorderRate: 0 })
      const healAt = cl.sim.now()
      assert.ok(await cl.sim.runUntil(() => [...Array(WORKLOADS).keys()].every((w) => cl.copies(`w${w}`) === 1), { timeoutMs: 20_000, stepMs: 100 }),
        `copies after heal: ${JSON.stringify([...cl.running].map(([k, v]) => [k, v.size]))}`)
      const settledMs = cl.sim.now() - healAt
      assert.ok(await cl.sim.runUntil(() => cl.converged(), { timeoutMs: 30_000, stepMs: 250 }), 'replicas converge after the heal')
      const before = tally.interventions
      failTarget(cl, tally, 'shared-db-2', 5)
      await cl.sim.runFor(5000)
      assert.equal(tally.interventions, before + 1, 'a new failure is repaired exactly once after the heal')
      await cl.sim.runFor(3000)
      for (let w = 0; w < WORKLOADS; w++) assert.equal(cl.copies(`w${w}`), 1, `w${w}`)
      console.log(`      liveness run: one copy each ${settledMs} ms after heal, ${Date.now() - t0} ms wall`)
    })
  })
})
