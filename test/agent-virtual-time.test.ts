// Two agents (a cloud peer and an edge) run their micro, meso and macro loops
// for a simulated hour on the simulated mesh's virtual clock and timers, in a
// few seconds of wall time: the same daemon (createAgent), the same loops
// (defaultLoops) — only the clock, the timers and the mesh are the
// simulation's. The edge's verified outcomes reach the cloud, whose fleet
// priors come back into the edge's planner; status gossip, the watchdog,
// metric sampling and health sampling keep their periods in virtual time.
// (A recovery's own waits stay on real time: they wait on real processes.)
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createSimulatedNetwork, generateSwarmKey } from '@homeostat/mesh'
import type { Outcome } from '@homeostat/interface'
import { loadConfig } from '../agent/src/config/load.ts'
import { createAgent, type Agent } from '../agent/src/daemon.ts'
import { defaultLoops } from '../agent/src/loops/index.ts'

function yaml (name: string, role: 'edge' | 'cloud'): string {
  return `node:
  name: ${name}
  role: ${role}
  dataDir: ./data-${name}
api:
  listen: 127.0.0.1:0
log:
  level: silent
mesh:
  enabled: true
  listen: ["/ip4/127.0.0.1/tcp/0"]
  mdns: false
  swarmKeyFile: swarm.key
system:
  sampleMs: 5000
components:
  - name: worker
    command: ${JSON.stringify(process.execPath)}
    args: ["-e", "setInterval(() => {}, 1000)"]
`
}

describe('an agent\'s loops on virtual time (the simulated mesh\'s clock and timers)', function () {
  this.timeout(60_000)
  const seed = Number(process.env.SEED ?? 7)
  const agents: Agent[] = []
  let dir = ''
  after(async () => {
    for (const a of agents) await a.stop(3000).catch(() => {})
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('a cloud peer and an edge run micro, meso and macro for a simulated hour in under 10 s', async () => {
    dir = mkdtempSync(join(tmpdir(), 'homeostat-virtual-'))
    writeFileSync(join(dir, 'swarm.key'), new TextDecoder().decode(generateSwarmKey()) + '\n', { mode: 0o600 })
    const net = createSimulatedNetwork({ seed })
    const make = async (name: string, role: 'edge' | 'cloud'): Promise<Agent> => {
      const node = net.addNode({ id: `${name}-peer` })
      const file = join(dir, `${name}.yaml`)
      writeFileSync(file, yaml(name, role))
      const a = await createAgent({
        config: loadConfig(file),
        loops: defaultLoops({ createMesh: async () => node.mesh }),
        logger: pino({ level: 'silent' }),
        now: node.now,
        timers: node.timers,
        pidFile: false,
        listen: '127.0.0.1:0'
      })
      agents.push(a)
      return a
    }
    const cloud = await make('cloud', 'cloud')
    const edge = await make('edge', 'edge')
    const t0 = Date.now()
    // Starting waits on virtual time too (the mesh, the coordination document): step it meanwhile.
    let up = false
    const starting = Promise.all([cloud.start(), edge.start()]).finally(() => { up = true })
    while (!up) await net.runFor(100)
    await starting
    console.log(`      started in ${Date.now() - t0} ms of wall time`)
    // The fleet formed first: the cloud accepts an edge's outcomes only under the name it announced
    // (its status gossip), so an outcome sent before that would be refused, as it should.
    for (let i = 0; i < 100 && !cloud.providers.peers().some((p) => p.name === 'edge' && p.state === 'alive'); i++) await net.runFor(500)
    const v0 = net.now()

    // An hour of virtual time, stepped so that real I/O (LevelDB, the supervisor's pipes) keeps up.
    let sent = 0
    for (let minute = 0; minute < 60; minute++) {
      // The edge heals something every few minutes: its verified outcomes are the macro loop's input.
      if (minute % 5 === 0) {
        const o: Outcome = { incidentId: `edge:worker:${minute}`, node: 'edge', component: 'worker', failureClass: 'crash', action: 'restart', success: true, durationMs: 300, cost: { cpuSeconds: 0.1, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0.3 }, hlc: '' }
        edge.context.events.emit('outcome', { ...o, hlc: `${String(net.now()).padStart(15, '0')}-000000-edge-peer` })
        sent++
      }
      await net.runFor(60_000)
    }
    const wallMs = Date.now() - t0
    const virtualMs = net.now() - v0
    console.log(`      ${Math.round(virtualMs / 60_000)} virtual minutes in ${wallMs} ms of wall time`)
    assert.ok(virtualMs >= 3_600_000)
    assert.ok(wallMs < 10_000, `${wallMs} ms of wall time for a simulated hour`)

    // meso: each sees the other (status gossip every 2 s of virtual time), by name, alive.
    const peersOfEdge = edge.providers.peers()
    assert.ok(peersOfEdge.some((p) => p.name === 'cloud' && p.role === 'cloud' && p.state === 'alive'), JSON.stringify(peersOfEdge))
    assert.ok(cloud.providers.peers().some((p) => p.name === 'edge' && p.state === 'alive'))
    // macro: the cloud learned from the edge's outcomes and published priors; the edge imported them.
    const status = await (await fetch(`${edge.apiUrl!}/api/status`)).json() as { fleetPolicy?: { version: number, from: string, entries: number } }
    assert.equal(status.fleetPolicy?.from, 'cloud', JSON.stringify(status.fleetPolicy))
    assert.ok((status.fleetPolicy?.entries ?? 0) >= 1)
    const policy = await (await fetch(`${cloud.apiUrl!}/api/policy`)).json() as { detail?: { fleetPriors?: { outcomes: number } } }
    assert.equal(policy.detail?.fleetPriors?.outcomes, sent, 'every outcome reached the cloud')
    // micro: the worker supervised throughout, the watchdog found no gap, metrics sampled on the virtual period.
    const comps = edge.providers.components()
    assert.deepEqual(comps.map((c) => `${c.name}:${c.state}`), ['worker:running'])
    const health = (await (await fetch(`${edge.apiUrl!}/api/health`)).json() as { series: Array<{ node: string, atMs: number }> }).series.filter((s) => s.node === 'edge')
    // Health samples every 5 s, the last 720 kept (an hour).
    assert.ok(health.length >= 700, `${health.length} health samples`)
  })
})
