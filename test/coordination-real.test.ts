// Real processes over real TCP (compiled packages): anti-flapping, a lying
// peer, kill -9 takeover, and partition/heal. The partition uses one network namespace per
// agent (root + iproute2); without them that part is skipped, saying why.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { generateSwarmKey } from '@homeostat/mesh'
import { canUseNetns, describeSchedule, fullyConnected, registriesConverged, runRealSchedule, startFleet, type Fleet } from '../bench/meso/fleet.ts'

const COOLDOWN_MS = 3000
const HOLD_MS = 1500

describe('coordination: real agent processes over TCP', function () {
  this.timeout(180_000)
  let fleet: Fleet | undefined
  const netns = canUseNetns()

  before(async function () {
    this.timeout(240_000)
    // Child agents run the compiled packages, as a user runs them.
    execFileSync('npx', ['tsc', '-b', 'packages/coordination'], { stdio: 'inherit' })
    fleet = await startFleet({ n: 6, swarmKey: new TextDecoder().decode(generateSwarmKey()), netns, registry: { settleMs: 300, cooldownMs: COOLDOWN_MS } })
    assert.ok(await fleet.waitFor(async () => await fullyConnected(fleet!), 60_000, 250), 'mesh formed')
    for (const a of fleet.agents) await a.request({ cmd: 'capacity', cpuMillis: 2000, memoryMb: 4096 })
  })
  after(async () => { await fleet?.stop() })

  it('anti-flapping: 5 agents see one failing shared component; one intervention at a time, none while verifying or cooling down', async () => {
    const f = fleet!
    const five = f.agents.slice(0, 5)
    for (const a of five) await a.request({ cmd: 'heal-loop', target: 'model-server', everyMs: 300, holdMs: HOLD_MS })
    await new Promise((resolve) => setTimeout(resolve, 14_000))
    for (const a of five) await a.request({ cmd: 'stop-loops' })
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS + 500))
    const spans: Array<{ agent: number, from: number, to: number }> = []
    for (const a of five) {
      const acts = a.events.filter((e) => e.ev === 'acting' && e.target === 'model-server')
      const rels = a.events.filter((e) => e.ev === 'released' && e.target === 'model-server')
      acts.forEach((e, k) => spans.push({ agent: a.i, from: e.t as number, to: (rels[k]?.t as number | undefined) ?? Infinity }))
    }
    spans.sort((x, y) => x.from - y.from)
    assert.ok(spans.length >= 2, `interventions: ${spans.length}`)
    assert.ok(spans.length <= 4, `14 s with ${HOLD_MS} ms verification + ${COOLDOWN_MS} ms cooldown allows at most 4, got ${spans.length}`)
    for (let k = 1; k < spans.length; k++) {
      assert.ok(spans[k]!.from >= spans[k - 1]!.to, `intervention ${k} (agent ${spans[k]!.agent}) overlaps the previous one`)
      assert.ok(spans[k]!.from - spans[k - 1]!.to >= COOLDOWN_MS - 250, `intervention ${k} started ${spans[k]!.from - spans[k - 1]!.to} ms after a release (cooldown ${COOLDOWN_MS})`)
    }
  })

  it('a lying peer reporting false failures of healthy peers gets none of them quarantined, ends with the lowest reputation, and cannot squat a target', async () => {
    const f = fleet!
    const liar = f.agents[4]!
    const ids = f.agents.map((a) => a.peerId)
    // 20 rounds: every honest agent reports what it sees of three random others (healthy); the liar
    // reports everyone failed, twice over.
    for (let round = 0; round < 20; round++) {
      for (const a of f.agents) {
        const others = ids.filter((p) => p !== a.peerId).sort(() => Math.random() - 0.5).slice(0, 3)
        const obs = a === liar ? ids.filter((p) => p !== a.peerId).map((p) => [p, false, 2]) : others.map((p) => [p, true])
        await a.request({ cmd: 'observe', obs })
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    // Reports are published every 5 s and then replicated.
    const views = async (): Promise<Array<{ i: number, all: Array<{ peer: string, score: number, quarantined: boolean }>, gossipScores: Record<string, number> }>> =>
      await Promise.all(f.agents.map(async (a) => ({ i: a.i, ...(await a.request({ cmd: 'reputation' })) as unknown as { all: Array<{ peer: string, score: number, quarantined: boolean }>, gossipScores: Record<string, number> } })))
    assert.ok(await f.waitFor(async () => (await views()).every((v) => v.all[0]?.peer === liar.peerId), 20_000, 500), 'every replica ranks the liar lowest')
    for (const v of await views()) {
      for (const e of v.all) if (e.peer !== liar.peerId) assert.equal(e.quarantined, false, `agent ${v.i} quarantined ${e.peer}`)
    }
    // Its lies cost it its trust: every replica quarantines it, and its claims are not accepted.
    assert.ok(await f.waitFor(async () => (await views()).every((v) => v.all.find((e) => e.peer === liar.peerId)?.quarantined === true), 20_000, 500), 'every replica quarantines the liar')
    // Its gossipsub score follows (app scores are pushed every 2 s): lowest everywhere, whatever
    // topic bonus its chatter earned.
    const gossipLowest = (v: { gossipScores: Record<string, number> }): string | undefined => Object.entries(v.gossipScores).sort(([, x], [, y]) => x - y)[0]?.[0]
    const honest = async (): Promise<Awaited<ReturnType<typeof views>>> => (await views()).filter((v) => v.i !== liar.i)
    if (!await f.waitFor(async () => (await honest()).every((v) => gossipLowest(v) === liar.peerId), 10_000, 500)) {
      for (const v of await honest()) assert.equal(gossipLowest(v), liar.peerId, `agent ${v.i}: the liar has the lowest gossipsub score (${JSON.stringify(v.gossipScores)})`)
    }
    for (const v of await views()) {
      for (const e of v.all) if (e.peer !== liar.peerId) assert.equal(e.quarantined, false, `agent ${v.i} quarantined ${e.peer}`)
    }
    // It squats a healthy peer's component (a hand-written acting claim, an hour's lease); the
    // healer of that component is still granted the claim.
    const victim = f.agents[1]!
    await liar.request({ cmd: 'squat', target: `${victim.peerId}/inference` })
    assert.ok(await f.waitFor(async () => ((await victim.request({ cmd: 'state' })) as unknown as { coord: { registry: { distrustedWrites: number } } }).coord.registry.distrustedWrites >= 1, 10_000, 200), 'the squatting claim arrived')
    const r = await victim.request({ cmd: 'claim', target: `${victim.peerId}/inference`, holdMs: 500 }) as unknown as { granted: boolean, reason?: string, holder?: string }
    assert.equal(r.granted, true, `the healer is granted its own component despite the squatter (${r.reason ?? ''} ${r.holder ?? ''})`)
  })

  it('kill -9 the owner of a relocatable workload: exactly one survivor takes it over', async () => {
    const f = fleet!
    await f.agents[5]!.request({ cmd: 'declare', spec: { name: 'trainer', priority: 5, cpuMillis: 500, memoryMb: 256 } })
    assert.ok(await f.waitFor(() => f.running.get('trainer')?.has(5) === true, 5000))
    await new Promise((resolve) => setTimeout(resolve, 1500)) // the declaration replicates
    const t0 = Date.now()
    f.kill(5)
    const survivor = (): boolean => { const s = f.running.get('trainer'); return s != null && !s.has(5) && s.size >= 1 }
    assert.ok(await f.waitFor(survivor, 15_000, 10), 'a survivor took over')
    const takeoverMs = Date.now() - t0
    await new Promise((resolve) => setTimeout(resolve, 4000))
    assert.equal(f.running.get('trainer')!.size, 1, 'exactly one copy')
    assert.equal(f.maxCopies.get('trainer'), 1, 'never two copies')
    console.log(`      takeover after SIGKILL: ${takeoverMs} ms`)
  })

  it(`partition so both sides think the other dead, then heal: exactly one copy remains and registries converge (${netns ? 'network namespaces' : 'transport-level gate'})`, async () => {
    await partitionAndHealOnce(fleet!)
  })

  it('random schedules with three-way cuts and re-cuts (the meso bench\'s): every workload runs exactly once after the heal, registries converge', async () => {
    const f = fleet!
    assert.ok(await f.waitFor(async () => await fullyConnected(f), 20_000, 250), 'reconnected after the previous heal')
    // Seed 6 cuts three ways (one agent alone), then re-cuts three ways; seed 17 heals for 0.5 s between two three-way cuts. Cuts long enough for takeovers.
    for (const seed of [6, 17]) {
      const r = await runRealSchedule(f, { seed, workloads: ['trainer'], schedule: { minCutMs: 2500, maxCutMs: 3500 } })
      console.log(`      seed ${seed}: ${describeSchedule(r.steps)}; one copy each in ${String(r.oneCopyEachMs)} ms`)
      assert.equal(r.duplicates, 0, `seed ${seed}: duplicates`)
      assert.equal(r.missing, 0, `seed ${seed}: missing`)
      assert.ok(r.convergedPolled, `seed ${seed}: registries converge`)
    }
  })
})

/** Cuts the fleet in two with the trainer's owner on the smaller side; both sides run it; the heal leaves one copy and one registry. */
async function partitionAndHealOnce (f: Fleet): Promise<void> {
  const owner = [...f.running.get('trainer')!][0]!
  const live = f.agents.filter((a) => a.alive).map((a) => a.i)
  const sideA = live.filter((i) => i === owner || (i % 2 === owner % 2 && i !== owner)).slice(0, 2)
  if (!sideA.includes(owner)) sideA.unshift(owner)
  const sideB = live.filter((i) => !sideA.includes(i))
  f.partition([sideA, sideB])
  const sawDead = async (): Promise<boolean> => {
    const states = await f.states()
    const idsOf = (side: number[]): string[] => side.map((i) => f.agents[i]!.peerId)
    return states.every((s) => {
      const other = sideA.some((i) => f.agents[i]!.peerId === s.peerId) ? idsOf(sideB) : idsOf(sideA)
      return other.every((p) => !(s.alive as string[]).includes(p))
    })
  }
  assert.ok(await f.waitFor(sawDead, 20_000, 200), 'each side sees the other as not alive')
  assert.ok(await f.waitFor(() => (f.running.get('trainer')?.size ?? 0) === 2, 20_000), 'the other side took over during the partition')
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const healAt = Date.now()
  f.heal()
  assert.ok(await f.waitFor(() => (f.running.get('trainer')?.size ?? 0) === 1, 20_000), 'one copy after the heal')
  assert.ok(await f.waitFor(async () => await registriesConverged(f), 20_000, 100), 'registries converge')
  console.log(`      heal → one copy and converged registries in ${Date.now() - healAt} ms`)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  assert.equal(f.running.get('trainer')!.size, 1)
  assert.equal(f.maxCopies.get('trainer'), 2, 'two copies only while cut apart')
  assert.ok(await registriesConverged(f))
}

// Where namespaces exist the fleet above partitions with them; the transport-level gate
// (libp2p's connection gater in each agent: what a machine without root gets) is shown here too.
describe('coordination: partition over the transport-level gate (real processes, loopback)', function () {
  this.timeout(180_000)
  let fleet: Fleet | undefined
  before(async function () {
    if (!canUseNetns()) this.skip() // the suite above already partitions with the gate
    this.timeout(240_000)
    execFileSync('npx', ['tsc', '-b', 'packages/coordination'], { stdio: 'inherit' })
    fleet = await startFleet({ n: 4, swarmKey: new TextDecoder().decode(generateSwarmKey()), netns: false, registry: { settleMs: 300, cooldownMs: COOLDOWN_MS } })
    assert.ok(await fleet.waitFor(async () => await fullyConnected(fleet!), 60_000, 250), 'mesh formed')
    for (const a of fleet.agents) await a.request({ cmd: 'capacity', cpuMillis: 2000, memoryMb: 4096 })
    await fleet.agents[3]!.request({ cmd: 'declare', spec: { name: 'trainer', priority: 5, cpuMillis: 500, memoryMb: 256 } })
    assert.ok(await fleet.waitFor(() => fleet!.running.get('trainer')?.size === 1, 5000), 'placed')
    await new Promise((resolve) => setTimeout(resolve, 1500)) // the declaration replicates
  })
  after(async () => { await fleet?.stop() })

  it('partition so both sides think the other dead, then heal: exactly one copy remains and registries converge', async () => {
    await partitionAndHealOnce(fleet!)
  })
})
