// Two agents over real libp2p on loopback (a cloud peer and an edge, in one
// process): the cloud sees the edge as a peer with its components; a real
// crash on the edge is healed locally and the incident reaches the cloud's
// fleet view; the edge's outcome reaches the cloud's macro loop, which
// publishes fleet priors that the edge imports; the claim shows up in the
// replicated registry; federated training reports accuracy per node.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { generateSwarmKey } from '@homeostat/mesh'
import { writeSecretFile } from '../agent/src/datadir.ts'
import { freePort, getJson, printTailsIfFailed, startTestAgent, tempDir, testConfigYaml, waitFor, type TestAgent } from '../agent/test/helpers.ts'

describe('agent mesh: cloud + edge over libp2p', function () {
  this.timeout(120_000)
  let cloud: TestAgent | undefined
  let edge: TestAgent | undefined
  let keyDir: { dir: string, cleanup: () => void } | undefined
  afterEach(function () { printTailsIfFailed(this, { 'cloud-1 log': cloud?.log, 'edge-1 log': edge?.log }) })
  after(async () => {
    await edge?.stop()
    await cloud?.stop()
    keyDir?.cleanup()
  })

  it('fleet view, incident propagation and fleet priors', async () => {
    keyDir = tempDir('homeostat-key-')
    const key = join(keyDir.dir, 'swarm.key')
    writeSecretFile(key, new TextDecoder().decode(generateSwarmKey()) + '\n')
    const withKey = (y: string) => y.replace('  mdns: false', `  mdns: false\n  swarmKeyFile: ${key}`)
    const fed = (shard: number) => `federated:\n  enabled: true\n  shard: ${shard}\n  roundIntervalMs: 1000\n`
    cloud = await startTestAgent(withKey(testConfigYaml({ mesh: true, extra: fed(0) })).replace('name: test-node', 'name: cloud-1').replace('  dataDir: ./data', '  role: cloud\n  dataDir: ./data'))
    const cs = await getJson(cloud.url + '/api/status')
    const addrs = cs.body.mesh.addrs as string[]
    assert.ok(addrs.length > 0)
    const port = await freePort()
    edge = await startTestAgent(withKey(testConfigYaml({ mesh: true, inferencePort: port, extra: fed(1) })).replace('name: test-node', 'name: edge-1').replace('mdns: false', `mdns: false\n  bootstrap: ${JSON.stringify(addrs)}`))

    // The cloud sees the edge, with its component, alive.
    await waitFor('cloud sees edge-1', async () => {
      const p = await getJson(cloud!.url + '/api/peers')
      return (p.body.peers as Array<{ name?: string, state: string, components?: unknown[] }>).find((x) => x.name === 'edge-1' && x.state === 'alive' && (x.components?.length ?? 0) === 1)
    }, 30_000, 200)
    await waitFor('inference healthy', () => edge!.agent.providers.components().find((c) => c.health === 'ok'), 20_000)

    // A real crash: healed on the edge, visible on the cloud.
    await fetch(`http://127.0.0.1:${port}/fault/crash`, { method: 'POST' })
    const inc = await waitFor('edge recovered', () => edge!.agent.context.incidents.list().find((i) => i.status === 'recovered'), 20_000)
    await waitFor('cloud has the recovered incident', () => cloud!.agent.context.incidents.list({ node: 'edge-1' }).find((i) => i.id === inc.id && i.status === 'recovered'), 10_000)
    const planned = inc.steps.find((s) => s.kind === 'planned')
    assert.match(planned?.summary ?? '', /claimed edge-1\/inference/, 'the action was claimed in the registry first')
    const rep = await getJson(cloud.url + '/api/report')
    assert.equal(rep.body.scope, 'fleet')
    assert.equal(rep.body.recovered, 1)

    // The outcome reached the macro loop; fleet priors come back to the edge.
    const fp = await waitFor('edge imported fleet priors', async () => {
      const s = await getJson(edge!.url + '/api/status')
      return s.body.fleetPolicy ?? undefined
    }, 30_000, 250)
    assert.equal(fp.from, 'cloud-1')
    assert.ok(fp.entries >= 1)
    // Federated training: the cloud's dashboard view has accuracy for both nodes.
    const fv = await waitFor('federated accuracy per node on the cloud', async () => {
      const f = (await getJson(cloud!.url + '/api/federated')).body as { available: boolean, nodes: Array<{ node: string, accuracy?: number }> }
      return f.available && f.nodes.length >= 2 && f.nodes.every((n) => n.accuracy !== undefined) ? f : undefined
    }, 60_000, 500)
    assert.deepEqual(fv.nodes.map((n) => n.node).sort(), ['cloud-1', 'edge-1'])
    // The edge's healed incident counts for its reputation on the cloud.
    await waitFor('reputation observed', async () => {
      const r = (await getJson(cloud!.url + '/api/reputation')).body as { peers: Array<{ name?: string, score: number }> }
      return r.peers.find((p) => p.name === 'edge-1' && p.score > 0.5)
    }, 15_000, 300)
    const m = await (await fetch(cloud.url + '/metrics')).text()
    assert.match(m, /homeostat_macro_outcomes_received_total\{[^}]*result="accepted"[^}]*\} 1/)
    assert.match(m, /homeostat_meso_gossip_delivered\{[^}]*\} [1-9]/)
  })
})
