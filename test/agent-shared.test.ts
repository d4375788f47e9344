// Anti-flapping across real agent processes over real libp2p on loopback: five
// agents all use one model server that runs outside them (a shared component)
// and all see it fail. Exactly one restarts it (its restart hook), nobody
// restarts it again while that restart is being verified, the others' incidents
// close without an action of their own, and a failure right after the recovery
// waits for the fleet's cooldown. The server records every restart itself.
// A node that reaches no majority of the fleet (its peers frozen: a cut looks
// the same) does not restart it; once the others are back, exactly one does.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSwarmKey } from '@homeostat/mesh'
import { writeSecretFile } from '../agent/src/datadir.ts'
import { AGENT_DIR, fleetNodeYaml, freePort, getJson, printTailsIfFailed, spawnAgent, tempDir, waitFor, type AgentProcess } from '../agent/test/helpers.ts'

// The demo's shared feature store stands in for the model server, with its restart hook.
const SERVER = join(AGENT_DIR, 'demo', 'feature-store.mjs')
const HOOK = join(AGENT_DIR, 'demo', 'restart-feature-store.mjs')
const RESTART_MS = 1500
const COOLDOWN_MS = 5000
const N = 5

interface Restart { atMs: number, by: string, overlapping: boolean }
interface Incident { id: string, node: string, component: string, status: string, steps: Array<{ kind: string, summary: string }> }

describe('agent: a shared component failing under several agents (real processes, real TCP)', function () {
  this.timeout(180_000)
  const agents: Array<AgentProcess & { name: string }> = []
  const cleanups: Array<() => void> = []
  afterEach(function () {
    printTailsIfFailed(this, Object.fromEntries(agents.map((a) => [`agent ${a.name}`, a.output])))
    for (const c of cleanups.splice(0).reverse()) c()
    agents.length = 0
  })

  /** A model server with its restart hook and `n` agents using it as a shared component, all seeing each other alive. */
  const sharedFleet = async (n: number): Promise<{ base: string, stats: () => Promise<Restart[]>, nodes: Array<{ name: string, api: string, addrs: string[], proc: AgentProcess }> }> => {
    const tmp = tempDir('homeostat-shared-')
    const port = await freePort()
    const server: ChildProcess = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: String(port), RESTART_MS: String(RESTART_MS) }, stdio: 'ignore' })
    cleanups.push(() => { server.kill('SIGKILL'); for (const a of agents) { if (a.p.exitCode === null && a.p.signalCode === null) { a.p.kill('SIGCONT'); a.p.kill('SIGKILL') } } tmp.cleanup() })
    const base = `http://127.0.0.1:${port}`
    await waitFor('model server up', async () => { try { return (await fetch(base + '/health')).ok } catch { return false } }, 10_000)
    const stats = async (): Promise<Restart[]> => ((await getJson(base + '/stats')).body as { restarts: Restart[] }).restarts
    const key = join(tmp.dir, 'swarm.key')
    writeSecretFile(key, new TextDecoder().decode(generateSwarmKey()) + '\n')

    const start = async (name: string, bootstrap: string[]): Promise<{ api: string, addrs: string[], proc: AgentProcess }> => {
      const file = join(tmp.dir, `${name}.yaml`)
      writeFileSync(file, fleetNodeYaml(name, {
        swarmKeyFile: key,
        bootstrap,
        meshExtra: `  sharedCooldownMs: ${COOLDOWN_MS}\n`,
        rest: `policy:
  approvalRiskThreshold: 1
components:
  - name: model-server
    shared: true
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(HOOK)}]
    env: ${JSON.stringify({ STORE_URL: `http://127.0.0.1:${port}`, NODE_NAME: name })}
    probes:
      - kind: http
        url: ${base}/health
        periodMs: 250
        timeoutMs: 200
        failureThreshold: 2
`
      }))
      const proc = { name, ...spawnAgent(file) }
      agents.push(proc)
      const ready = await waitFor(`${name} ready`, () => proc.lines.find((l) => l.msg === 'agent ready'), 60_000)
      const api = ready.api as string
      return { api, addrs: (await getJson(api + '/api/status')).body.mesh.addrs as string[], proc }
    }
    const nodes: Array<{ name: string, api: string, addrs: string[], proc: AgentProcess }> = []
    for (let i = 1; i <= n; i++) {
      const name = `n${i}`
      nodes.push({ name, ...await start(name, nodes.flatMap((x) => x.addrs)) })
    }
    for (const x of nodes) {
      await waitFor(`${x.name} sees the other ${n - 1} alive`, async () => ((await getJson(x.api + '/api/peers')).body.peers as Array<{ state: string, name?: string }>).filter((p) => p.state === 'alive' && p.name !== undefined).length >= n - 1, 30_000, 250)
    }
    return { base, stats, nodes }
  }

  it('one restart at a time, none while it is being verified, the next only after the cooldown', async () => {
    const { base, stats, nodes } = await sharedFleet(N)
    const incidentsOf = async (n: { name: string, api: string }): Promise<Incident[]> =>
      ((await getJson(`${n.api}/api/incidents?node=${n.name}&component=model-server`)).body as { incidents: Incident[] }).incidents
    assert.deepEqual(await stats(), [], 'nobody restarted a healthy server')

    // 1. It fails; all five see it. Exactly one restarts it, and nobody again while that restart is verified.
    const t0 = Date.now()
    await fetch(base + '/fail', { method: 'POST' })
    const first = await waitFor('a restart', async () => (await stats())[0], 20_000, 50)
    const closed = await waitFor('every agent closed its incident', async () => {
      const all = await Promise.all(nodes.map(async (n) => (await incidentsOf(n)).filter((i) => i.status === 'recovered')))
      return all.every((l) => l.length >= 1) ? all.map((l) => l[0]!) : undefined
    }, 40_000, 250)
    assert.equal((await stats()).length, 1, 'exactly one restart for one failure')
    const healer = nodes.find((n) => n.name === first.by)
    assert.ok(healer !== undefined, `restarted by ${first.by}`)
    for (const inc of closed) {
      const acted = inc.steps.some((s) => s.kind === 'acted')
      if (inc.node === first.by) assert.ok(acted, `${inc.node} restarted it and recorded the action`)
      else {
        assert.equal(acted, false, `${inc.node} did not act`)
        assert.ok(inc.steps.some((s) => s.kind === 'recovered' && /healthy again without an action from this node/.test(s.summary)), `${inc.node}: ${JSON.stringify(inc.steps.map((s) => s.summary))}`)
      }
    }
    console.log(`      failure → restart by ${first.by}: ${first.atMs - t0} ms; all ${N} incidents closed`)

    // 2. It fails again right after the recovery: within the fleet's cooldown nobody restarts it; then exactly one does.
    const metricsBefore = await (await fetch(healer.api + '/metrics')).text()
    assert.match(metricsBefore, /homeostat_meso_registry_stat\{[^}]*stat="granted"[^}]*\} [1-9]/)
    await fetch(base + '/fail', { method: 'POST' })
    const second = await waitFor('the second restart', async () => (await stats())[1], 60_000, 50)
    const firstRelease = first.atMs + RESTART_MS // healthy again; the claim is released after verification, later still
    assert.ok(second.atMs - firstRelease >= COOLDOWN_MS - 500, `second restart ${second.atMs - firstRelease} ms after the first came back (cooldown ${COOLDOWN_MS} ms)`)
    await new Promise((resolve) => setTimeout(resolve, RESTART_MS + 3000))
    const all = await stats()
    assert.equal(all.length, 2, `two failures, two restarts: ${JSON.stringify(all)}`)
    assert.ok(all.every((r) => !r.overlapping), 'never a restart while another was still running')
    console.log(`      second failure → restart by ${second.by} ${second.atMs - firstRelease} ms after the first came back (cooldown ${COOLDOWN_MS} ms)`)
  })

  it('a node that reaches no majority of the fleet does not restart it (the other side of a cut may); once the others are back, one node does; stopped agents are not members', async () => {
    const { base, stats, nodes } = await sharedFleet(3)
    const [n1, n2, n3] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]]
    const quorumOf = async (x: { api: string }): Promise<{ reachable: number, members: number }> => (await getJson(x.api + '/api/status')).body.mesh.quorum
    assert.deepEqual(await quorumOf(n1), { reachable: 3, members: 3 })
    // Frozen peers look exactly like peers behind a cut: they stay members, and n1 alone is no majority.
    n2.proc.p.kill('SIGSTOP')
    n3.proc.p.kill('SIGSTOP')
    await waitFor('n1 reaches 1 of 3', async () => { const q = await quorumOf(n1); return q.reachable === 1 && q.members === 3 }, 20_000, 200)
    await fetch(base + '/fail', { method: 'POST' })
    await waitFor('n1 stands back', () => n1.proc.lines.find((l) => l.msg === 'no majority of the fleet reachable: not restarting a shared component from this side'), 20_000, 100)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    assert.deepEqual(await stats(), [], 'the minority side never restarted it')
    // The others are back: a majority again, and exactly one restart.
    n2.proc.p.kill('SIGCONT')
    n3.proc.p.kill('SIGCONT')
    const restart = await waitFor('a restart once a majority is reachable', async () => (await stats())[0], 60_000, 100)
    await new Promise((resolve) => setTimeout(resolve, RESTART_MS + 3000))
    assert.equal((await stats()).length, 1, `one restart: ${JSON.stringify(await stats())}`)
    console.log(`      no restart from the minority side; after the thaw restarted by ${restart.by}`)
    // Agents that stopped (their host refuses the connection) leave the membership: n1 alone is the fleet.
    await waitFor('n1 sees the others alive again', async () => (await quorumOf(n1)).reachable === 3, 30_000, 200)
    n2.proc.p.kill('SIGKILL')
    n3.proc.p.kill('SIGKILL')
    await waitFor('n1: stopped agents are not members', async () => { const q = await quorumOf(n1); return q.members === 1 && q.reachable === 1 }, 20_000, 200)
  })
})
