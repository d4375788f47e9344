// Diagnosis across a fleet (real agent processes, real libp2p on loopback):
// three agents each run a local app that depends on one shared model server.
// The server fails: on every node the app's probe fails too. Every node's
// diagnosis of its app names the shared server, exactly one intervention
// happens (on the server, by one node; no app is restarted), and the incidents
// are ordered causally across nodes by the agents' one HLC each.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateSwarmKey } from '@homeostat/mesh'
import { decode } from '@homeostat/hlc'
import { writeSecretFile } from '../agent/src/datadir.ts'
import { AGENT_DIR, fleetNodeYaml, freePort, getJson, printTailsIfFailed, spawnAgent, tempDir, waitFor, type AgentProcess } from '../agent/test/helpers.ts'

const SERVER = join(AGENT_DIR, 'demo', 'feature-store.mjs')
const HOOK = join(AGENT_DIR, 'demo', 'restart-feature-store.mjs')
const APP = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'app-on-store.mjs')
const N = 3

interface Step { kind: string, summary: string, hlc: string, data?: Record<string, unknown> }
interface Incident { id: string, node: string, component: string, status: string, steps: Step[], anomalies?: Array<{ metric: string, kind: string, atMs: number }> }

describe('agent: a shared dependency fails under three agents (real processes, real TCP)', function () {
  this.timeout(180_000)
  const agents: Array<AgentProcess & { name: string }> = []
  const cleanups: Array<() => void> = []
  afterEach(function () {
    printTailsIfFailed(this, Object.fromEntries(agents.map((a) => [`agent ${a.name}`, a.output])))
    for (const c of cleanups.splice(0).reverse()) c()
    agents.length = 0
  })

  it('every node names the shared server; one restart of it, no app restarted; incidents causally ordered', async () => {
    const tmp = tempDir('homeostat-shared-dep-')
    const port = await freePort()
    const server: ChildProcess = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: String(port), RESTART_MS: '1000' }, stdio: 'ignore' })
    cleanups.push(() => { server.kill('SIGKILL'); for (const a of agents) { if (a.p.exitCode === null && a.p.signalCode === null) a.p.kill('SIGKILL') } tmp.cleanup() })
    const base = `http://127.0.0.1:${port}`
    await waitFor('model server up', async () => { try { return (await fetch(base + '/health')).ok } catch { return false } }, 10_000)
    const key = join(tmp.dir, 'swarm.key')
    writeSecretFile(key, new TextDecoder().decode(generateSwarmKey()) + '\n')
    const nodes: Array<{ name: string, api: string, addrs: string[] }> = []
    for (let i = 1; i <= N; i++) {
      const name = `n${i}`
      const appPort = await freePort()
      const file = join(tmp.dir, `${name}.yaml`)
      writeFileSync(file, fleetNodeYaml(name, {
        swarmKeyFile: key,
        bootstrap: nodes.flatMap((x) => x.addrs),
        rest: `policy:
  approvalRiskThreshold: 1
components:
  - name: model-server
    shared: true
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(HOOK)}]
    env: ${JSON.stringify({ STORE_URL: base, NODE_NAME: name })}
    probes:
      - kind: http
        url: ${base}/health
        periodMs: 250
        timeoutMs: 200
        failureThreshold: 2
  - name: app
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(APP)}]
    env: ${JSON.stringify({ STORE_URL: base, PORT: String(appPort) })}
    dependsOn: [model-server]
    probes:
      - kind: http
        url: http://127.0.0.1:${appPort}/health
        periodMs: 250
        timeoutMs: 400
        failureThreshold: 2
`
      }))
      const proc = { name, ...spawnAgent(file) }
      agents.push(proc)
      const ready = await waitFor(`${name} ready`, () => proc.lines.find((l) => l.msg === 'agent ready'), 60_000)
      const api = ready.api as string
      nodes.push({ name, api, addrs: (await getJson(api + '/api/status')).body.mesh.addrs as string[] })
    }
    for (const x of nodes) {
      await waitFor(`${x.name} sees the other ${N - 1} alive`, async () => ((await getJson(x.api + '/api/peers')).body.peers as Array<{ state: string, name?: string }>).filter((p) => p.state === 'alive' && p.name !== undefined).length >= N - 1, 30_000, 250)
      await waitFor(`${x.name}'s app healthy`, async () => ((await getJson(x.api + '/api/status')).body.components as Array<{ name: string, health: string }>).some((c) => c.name === 'app' && c.health === 'ok'), 20_000, 250)
    }
    const appPids = await Promise.all(nodes.map(async (x) => ((await getJson(x.api + '/api/status')).body.components as Array<{ name: string, pid?: number }>).find((c) => c.name === 'app')?.pid))
    const incidentsOf = async (x: { name: string, api: string }, component: string): Promise<Incident[]> =>
      ((await getJson(`${x.api}/api/incidents?node=${x.name}&component=${component}`)).body as { incidents: Incident[] }).incidents

    // Some normal operation first, as on a real fleet: the diagnosis measures deviations against it
    // (its ranker wants 30 normal rows: 30 s at the agents' 1 s rows).
    await new Promise((r) => setTimeout(r, 32_000))
    const history = (await getJson(nodes[0]!.api + '/api/status')).body.diagnosisHistory as { metrics: Record<string, string[]> }
    assert.deepEqual(history.metrics['model-server'], ['probe.latency_ms', 'probe.failed_pct'], 'the agent records probe series for diagnosis')
    await fetch(base + '/fail', { method: 'POST' })
    const stats = async (): Promise<Array<{ by: string }>> => ((await getJson(base + '/stats')).body as { restarts: Array<{ by: string }> }).restarts
    await waitFor('a restart of the server', async () => (await stats())[0], 20_000, 50)
    const apps = await waitFor('every node closed its app incident', async () => {
      const all = await Promise.all(nodes.map(async (x) => (await incidentsOf(x, 'app')).find((i) => i.status !== 'open')))
      return all.every((i) => i !== undefined) ? all as Incident[] : undefined
    }, 40_000, 250)
    await new Promise((r) => setTimeout(r, 1500)) // anything late would show now
    const restarts = await stats()
    assert.equal(restarts.length, 1, `exactly one intervention: ${JSON.stringify(restarts)}`)
    for (const inc of apps) {
      const diagnosed = inc.steps.find((s) => s.kind === 'diagnosed')
      assert.ok(diagnosed !== undefined && /root cause: model-server/.test(diagnosed.summary), `${inc.node} names the shared server: ${diagnosed?.summary} (anomalies ${JSON.stringify(inc.anomalies)})`)
      assert.ok(!inc.steps.some((s) => s.kind === 'acted' && /\bapp\b/.test(s.summary)), `${inc.node} did not restart its app: ${JSON.stringify(inc.steps.map((s) => s.summary))}`)
    }
    const pidsAfter = await Promise.all(nodes.map(async (x) => ((await getJson(x.api + '/api/status')).body.components as Array<{ name: string, pid?: number }>).find((c) => c.name === 'app')?.pid))
    assert.deepEqual(pidsAfter, appPids, 'no app process was restarted')

    // Causal order across nodes: the one restart happened before every other node saw the server recover.
    const healer = restarts[0]!.by
    const healerInc = [...await incidentsOf(nodes.find((x) => x.name === healer)!, 'model-server'), ...await incidentsOf(nodes.find((x) => x.name === healer)!, 'app')]
    const acted = healerInc.flatMap((i) => i.steps).find((s) => s.kind === 'acted')
    assert.ok(acted !== undefined, `${healer} recorded the restart`)
    for (const x of nodes.filter((n) => n.name !== healer)) {
      const closedAt = (await incidentsOf(x, 'model-server')).flatMap((i) => i.steps).find((s) => s.kind === 'recovered')
      assert.ok(closedAt !== undefined, `${x.name} closed its model-server incident`)
      const a = decode(acted.hlc)
      const b = decode(closedAt.hlc)
      assert.ok(a.wallMs < b.wallMs || (a.wallMs === b.wallMs && a.logical < b.logical), `${healer}'s restart (${acted.hlc}) is before ${x.name}'s recovery (${closedAt.hlc})`)
    }
    console.log(`      restarted once by ${healer}; every node named model-server; no app restarted`)
  })
})
