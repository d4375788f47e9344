// A mesh peer that is not an agent: a stock js-libp2p node (libp2p's own createLibp2p: TCP + pnet
// with the fleet's swarm key + Noise + Yamux, identify, ping, gossipsub; no homeostat code, in a
// process of its own: packages/mesh/test/fixtures/stock-node-process.ts) connected over loopback TCP
// to a real homeostat mesh node, beside a second agent. Before peer kinds the agent's detector
// declared such a peer dead every ~2.7 s (it never answers /homeostat/probe/1.0.0) and counted it as
// a fleet member.
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { createMeshNode, generateSwarmKey, type LivenessEvent, type MeshNode, type Topic } from '@homeostat/mesh'

const fixture = fileURLToPath(new URL('../packages/mesh/test/fixtures/stock-node-process.ts', import.meta.url))
const topic: Topic<{ n: number }> = { name: 'test/foreign-peer/1', body: z.object({ n: z.number().int() }).strict() }

interface StockLine { peerId?: string, event?: string, report?: { connects: number, disconnects: number, messages: number } }

describe('mesh: a stock libp2p node on the swarm (real TCP, its own process)', function () {
  // 60 s of real time, on purpose: the bug was periodic (dead every ~2.7 s), and what keeps a
  // stock node connected runs on real timers in two processes that no injected clock drives: its
  // own libp2p connection monitor (a ping every 10 s; a failed one closes the connection), our libp2p
  // pings to it (one a second), gossipsub heartbeats and scores, identify. A minute is six rounds of
  // the slowest of them and twenty periods of the old death loop. Everything else stays short.
  this.timeout(120_000)
  const swarmKey = generateSwarmKey()
  let a: MeshNode | undefined
  let b: MeshNode | undefined
  let child: ChildProcess | undefined

  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL')
    await Promise.all([a?.stop(), b?.stop()])
  })

  it('stays connected for 60 s, is never declared dead, is of kind other and never a member', async () => {
    a = await createMeshNode({ swarmKey, dht: false })
    await a.start()
    b = await createMeshNode({ swarmKey, dht: false, bootstrap: a.multiaddrs() })
    await b.start()
    const events: Array<LivenessEvent & { at: 'a' | 'b' }> = []
    a.onLiveness((e) => { events.push({ ...e, at: 'a' }) })
    b.onLiveness((e) => { events.push({ ...e, at: 'b' }) })

    child = spawn(process.execPath, ['--import', 'tsx/esm', fixture], {
      env: { ...process.env, STOCK_SWARM_KEY: new TextDecoder().decode(swarmKey), STOCK_DIAL: a.multiaddrs()[0]!, STOCK_TOPIC: topic.name },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const lines: StockLine[] = []
    const rl = createInterface({ input: child.stdout! })
    rl.on('line', (l) => { try { lines.push(JSON.parse(l) as StockLine) } catch { /* not ours */ } })
    const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
      const start = Date.now()
      while (!cond()) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`)
        if (child?.exitCode != null) throw new Error(`stock node exited ${child.exitCode}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    await until(() => lines.some((l) => l.peerId != null), 30_000, 'the stock node connected')
    const stock = lines.find((l) => l.peerId != null)!.peerId!
    const seenBy = (m: MeshNode) => m.peers().find((p) => p.peer === stock)
    await until(() => seenBy(a!)?.state === 'alive' && seenBy(a!)?.kind === 'other', 5000, 'the agent sees the stock node alive, of kind other')
    await until(() => a!.members().some((p) => p.peer === b!.peerId && p.state === 'alive'), 5000, 'the agents see each other')

    // A minute of the real thing, with gossip flowing (the stock node subscribes to the agents' topic).
    const startedAt = Date.now()
    const otherPongsBefore = a.livenessStats().otherPongsReceived
    let n = 0
    while (Date.now() - startedAt < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      await a.publish(topic, 'test.tick', { n: n++ })
      assert.equal(seenBy(a)?.state, 'alive', `${Math.round((Date.now() - startedAt) / 1000)} s in`)
      assert.equal(a.members().some((p) => p.peer === stock), false, 'the stock node must never be a member')
    }

    const onStock = events.filter((e) => e.peer === stock)
    assert.deepEqual(onStock.filter((e) => e.state !== 'alive').map((e) => `${e.at}:${e.state}:${e.reason}`), [], 'never suspected or declared dead')
    assert.equal(onStock.filter((e) => e.at === 'a').length, 1, 'one event at the agent it dialled: connection:open')
    // connection:open fires before identify has told what the peer is: `unknown` then, never `agent`.
    assert.ok(onStock.every((e) => e.kind !== 'agent'), JSON.stringify(onStock))
    for (const m of [a, b]) {
      const view = seenBy(m)
      if (view != null) { assert.equal(view.kind, 'other'); assert.equal(view.state, 'alive') }
      assert.equal(m.members().some((p) => p.peer === stock), false)
    }
    assert.deepEqual(a.members().map((p) => p.peer), [b.peerId], 'membership: the other agent only')
    assert.deepEqual(a.members().map((p) => p.kind), ['agent'])
    // Probed with libp2p ping about once a second, every ping answered.
    const pongs = a.livenessStats().otherPongsReceived - otherPongsBefore
    assert.ok(pongs >= 50, `${pongs} libp2p pings answered in 60 s`)

    // The stock node's own view: connected throughout, gossip received.
    child.kill('SIGTERM')
    await until(() => lines.some((l) => l.report != null), 10_000, 'the stock node reported')
    const report = lines.find((l) => l.report != null)!.report!
    assert.equal(report.disconnects, 0, JSON.stringify(report))
    assert.ok(report.messages >= 30, `the stock node received ${report.messages} of ${n} messages`)
  })
})
