// A mesh peer in its own process, for the liveness tests (SIGKILL / SIGSTOP).
// argv: <swarm key hex file contents via env HOMEOSTAT_SWARM_KEY> ; prints one JSON line {peerId, addrs}.
import '@homeostat/mesh/polyfill'
import { createMeshNode } from '@homeostat/mesh'

const swarmKey = process.env.HOMEOSTAT_SWARM_KEY
if (swarmKey == null) { console.error('HOMEOSTAT_SWARM_KEY missing'); process.exit(2) }
const bootstrap = (process.env.HOMEOSTAT_BOOTSTRAP ?? '').split(',').filter((s) => s.length > 0)
const node = await createMeshNode({ swarmKey, bootstrap, dht: false })
await node.start()
process.stdout.write(JSON.stringify({ peerId: node.peerId, addrs: node.multiaddrs() }) + '\n')
process.on('SIGTERM', () => { void node.stop().then(() => process.exit(0)) })
