// bench/mesh phase 6: what one reconnection costs. Two nodes in this process
// (after the fleet has stopped, so the host is quiet) drop their connection and
// dial again until each sees the other alive (pnet, Noise, Yamux, identify,
// gossipsub and DHT set-up, our liveness probe stream), `cycles` times. The CPU
// of this process over the cycles, minus its idle CPU over as long, divided by
// the cycles, is the cost of one reconnection counting both ends: after a
// partition heals, every pair across the cut pays it at once.
import { setTimeout as sleep } from 'node:timers/promises'
import { createMeshNode, type MeshNode } from '@homeostat/mesh'
import { z } from 'zod'

const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000

export async function reconnectCpuMs (swarmKey: string, cycles: number): Promise<{ cpuMsPerReconnect: number, wallMsPerReconnect: number }> {
  const topic = { name: 'bench/mesh/reconnect/1', body: z.object({ n: z.number() }).strict() }
  const nodes: MeshNode[] = []
  try {
    const a = await createMeshNode({ swarmKey })
    nodes.push(a)
    await a.start() // listening: its addresses are b's bootstrap list
    const b = await createMeshNode({ swarmKey, bootstrap: a.multiaddrs() })
    nodes.push(b)
    await b.start()
    for (const n of nodes) n.subscribe(topic, () => {})
    const aliveBoth = (): boolean => a.peers().some((p) => p.peer === b.peerId && p.state === 'alive') && b.peers().some((p) => p.peer === a.peerId && p.state === 'alive')
    const waitAlive = async (timeoutMs: number): Promise<void> => {
      const t0 = Date.now()
      while (!aliveBoth()) { if (Date.now() - t0 > timeoutMs) throw new Error('reconnect phase: peers did not see each other alive'); await sleep(10) }
    }
    await waitAlive(10_000)
    await sleep(1000)
    const pauseMs = 250 // after each reconnect: identify, gossipsub and DHT set-up finish in the background
    const idle0 = process.cpuUsage(); const tIdle = Date.now()
    await sleep(cycles * pauseMs)
    const idlePerMs = cpuMs(process.cpuUsage(idle0)) / (Date.now() - tIdle)
    const c0 = process.cpuUsage(); const t0 = Date.now(); let wallMs = 0
    for (let i = 0; i < cycles; i++) {
      await a.libp2p.hangUp(b.libp2p.peerId)
      const d0 = Date.now()
      await a.dial(b.multiaddrs()[0]!)
      await waitAlive(10_000)
      wallMs += Date.now() - d0
      await sleep(pauseMs)
    }
    const busy = cpuMs(process.cpuUsage(c0)) - idlePerMs * (Date.now() - t0)
    return { cpuMsPerReconnect: Math.round(busy / cycles * 10) / 10, wallMsPerReconnect: Math.round(wallMs / cycles) }
  } finally {
    await Promise.all(nodes.map(async (n) => await n.stop().catch(() => {})))
  }
}
