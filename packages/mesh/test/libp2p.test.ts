// The compliance suite against the libp2p mesh over real TCP on 127.0.0.1.
import { createMeshNode, generateSwarmKey, type MeshNode } from '@homeostat/mesh'
import { meshCompliance, type MeshHarness } from './compliance.ts'

meshCompliance('libp2p', (): MeshHarness => {
  const swarmKey = generateSwarmKey()
  const nodes: MeshNode[] = []
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
    async cleanup () {
      await Promise.all(nodes.map(async (n) => { await n.stop() }))
    }
  }
})
