// A stock js-libp2p node that holds the fleet's swarm key but is not an agent:
// libp2p's own createLibp2p with TCP + pnet + Noise + Yamux, identify, ping and
// gossipsub, libp2p defaults otherwise (its connection monitor included), and no
// homeostat code. Used in-process by the compliance harness, and in a process of
// its own by test/mesh-foreign-peer.test.ts (fixtures/stock-node-process.ts),
// where not even the mesh's dependency patches are loaded.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

export interface StockNode {
  readonly libp2p: Libp2p
  readonly peerId: string
  /** Dial a peer by multiaddr (with /p2p/<id>). */
  dial: (addr: string) => Promise<void>
  stop: () => Promise<void>
}

/** Starts a stock node; `swarmKey` is the pnet key file's bytes, `listen` its listen addresses (default loopback, any port). */
export async function createStockNode (swarmKey: Uint8Array, listen: string[] = ['/ip4/127.0.0.1/tcp/0']): Promise<StockNode> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk: swarmKey }),
    services: { identify: identify(), ping: ping(), pubsub: gossipsub() }
  })
  return {
    libp2p: node,
    peerId: node.peerId.toString(),
    async dial (addr) { await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000) }) },
    async stop () { await node.stop() }
  }
}
