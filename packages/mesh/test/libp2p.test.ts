// The compliance suite against the libp2p mesh over real TCP on 127.0.0.1. Its non-agent peer is a
// stock js-libp2p node in this process (stock-node.ts); test/mesh-foreign-peer.test.ts runs one in a
// process of its own for a minute.
import { createMeshNode, generateSwarmKey, type MeshNode } from '@homeostat/mesh'
import { meshCompliance, type MeshHarness } from './compliance.ts'
import { createStockNode, type StockNode } from './stock-node.ts'

meshCompliance('libp2p', (): MeshHarness => {
  const swarmKey = generateSwarmKey()
  const nodes: MeshNode[] = []
  const others: StockNode[] = []
  return {
    async create (count) {
      const created: MeshNode[] = []
      for (let i = 0; i < count; i++) {
        const node = await createMeshNode({ swarmKey, dht: false, bootstrap: created[0]?.multiaddrs() })
        await node.start()
        nodes.push(node)
        created.push(node)
      }
      return created
    },
    wait: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
    async createOther (meshes) {
      const other = await createStockNode(swarmKey)
      others.push(other)
      for (const m of meshes) await other.dial((m as MeshNode).multiaddrs()[0]!)
      return { peerId: other.peerId, stop: async () => { await other.stop() } }
    },
    async cleanup () {
      await Promise.all([...nodes, ...others].map(async (n) => { await n.stop() }))
    }
  }
})
