// A benchmark child: hosts one or more mesh nodes of the compiled
// @homeostat/mesh and obeys the parent over the IPC channel.
import '@homeostat/mesh/polyfill'
import { createMeshNode, generateSwarmKey } from '@homeostat/mesh'
import { z } from 'zod'

const topic = { name: 'bench/mesh/1', body: z.object({ seq: z.number().int(), sentAtMs: z.number() }).strict() }
const preciseNow = () => performance.timeOrigin + performance.now()

/** @type {import('@homeostat/mesh').MeshNode[]} */
const nodes = []
const latencies = []
const events = []
let received = 0
let cpuMark = process.cpuUsage()
let cpuAt = Date.now()

async function handle (msg) {
  switch (msg.cmd) {
    case 'start': {
      for (let i = 0; i < msg.count; i++) {
        const node = await createMeshNode({ swarmKey: msg.swarmKey, bootstrap: msg.bootstrap, dht: true, ...(msg.gossipD != null ? { network: { gossipD: msg.gossipD, gossipDlo: Math.min(2, msg.gossipD), gossipDhi: Math.max(4, msg.gossipD) } } : {}) })
        await node.start()
        node.onLiveness((e) => { events.push({ observer: node.peerId, peer: e.peer, state: e.state, atMs: e.atMs, reason: e.reason }) })
        node.subscribe(topic, (m) => {
          received++
          latencies.push(preciseNow() - m.envelope.body.sentAtMs)
        })
        nodes.push(node)
        if (msg.bootstrap.length === 0) msg.bootstrap = node.multiaddrs()
      }
      return { nodes: nodes.map((n) => ({ peerId: n.peerId, addrs: n.multiaddrs() })) }
    }
    case 'knows': // whether any node here knows a peer id (as any kind, in any state)
      return { known: nodes.some((n) => n.peers().some((p) => p.peer === msg.peer)) }
    case 'alive': // how many peers each node sees alive
      return { alive: nodes.map((n) => n.peers().filter((p) => p.state === 'alive').length) }
    case 'publish': {
      const node = nodes[msg.index]
      await node.publish(topic, 'bench.msg', { seq: msg.seq, sentAtMs: preciseNow() })
      return {}
    }
    case 'collect': {
      const c = process.cpuUsage(cpuMark)
      const cpuCores = (c.user + c.system) / 1000 / Math.max(1, Date.now() - cpuAt)
      cpuMark = process.cpuUsage()
      cpuAt = Date.now()
      const out = { cpuCores, latencies: latencies.splice(0), events: events.splice(0), received, rssMb: process.memoryUsage().rss / 1048576, liveness: nodes.map((n) => n.livenessStats()), rejected: nodes.map((n) => n.stats().rejected) }
      received = 0
      return out
    }
    case 'wrongkey': {
      const stranger = await createMeshNode({ swarmKey: generateSwarmKey(), dht: false })
      await stranger.start()
      const start = Date.now()
      let error = 'none'
      try { await stranger.dial(msg.target) } catch (err) { error = err.name ?? 'Error' }
      const ms = Date.now() - start
      // The dial must have failed, and nothing may have got through afterwards either.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const strangerSawAlive = stranger.peers().filter((p) => p.state === 'alive').length
      const strangerPeerId = stranger.peerId
      await stranger.stop()
      return { ms, error, failed: error !== 'none', strangerSawAlive, strangerPeerId }
    }
    case 'stop':
      await Promise.all(nodes.map((n) => n.stop()))
      setTimeout(() => process.exit(0), 50)
      return {}
    default:
      throw new Error(`unknown command ${msg.cmd}`)
  }
}

process.on('message', (msg) => {
  handle(msg).then((result) => { process.send({ id: msg.id, ok: true, result }) },
    (err) => { process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) }) })
})
process.send({ ready: true })
