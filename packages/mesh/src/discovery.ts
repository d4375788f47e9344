// Peer exchange (memberlist's push-pull, reduced to addresses): on every new
// connection, and periodically while below targetPeers, ask a peer for the
// peers it is connected to and dial the ones we do not know (peers the failure
// detector tracks are its to reconnect). Peers announced
// by kad-dht, mDNS or bootstrap go through the same bounded dial queue.
import { PEX_PROTOCOL, WIRE_LIMITS, pexResponseSchema } from '@homeostat/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { handleRequests, sendRequest, type RequestCounters } from './request.ts'

export { PEX_PROTOCOL }
const PEX_MAX_BYTES = WIRE_LIMITS.pexBytes
const pexSchema = pexResponseSchema

export interface DiscoveryOptions {
  node: Libp2p
  targetPeers: number
  maxPeers: number
  intervalMs: number
  maxParallelDials: number
  dialTimeoutMs: number
  /** Bound of one peer-exchange request. */
  requestTimeoutMs: number
  /** Multiaddrs re-dialled (with backoff) while we have no connection at all. */
  bootstrap: string[]
  counters: RequestCounters
  /** Peers the failure detector already tracks: it reconnects those itself (one side of each
   * pair, with backoff), so discovery dials only peers new to us. Default: none known. */
  known?: (peer: string) => boolean
  log: (msg: string, fields?: Record<string, unknown>) => void
}

export interface Discovery {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** A new connection to `peer`: ask it for its peers. */
  exchange: (peer: PeerId) => void
  /** Dial a peer we heard of, if below target. */
  consider: (info: PeerInfo) => void
}

export function createDiscovery (o: DiscoveryOptions): Discovery {
  const { node } = o
  let running = false
  let timer: ReturnType<typeof setInterval> | undefined
  let inFlight = 0
  const dialing = new Set<string>()
  const enc = new TextEncoder()
  const dec = new TextDecoder()

  const connectedCount = (): number => node.getPeers().length

  const consider = (info: PeerInfo): void => {
    const id = info.id.toString()
    if (!running || id === node.peerId.toString() || dialing.has(id)) return
    if (node.getConnections(info.id).length > 0) return
    if (o.known?.(id) === true) {
      // Not ours to dial, but a restarted peer may listen elsewhere now: the reconnects use these.
      if (info.multiaddrs.length > 0) void node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs }).catch(() => {})
      return
    }
    if (connectedCount() >= o.targetPeers || inFlight >= o.maxParallelDials) return
    dialing.add(id)
    inFlight++
    const target = info.multiaddrs.length > 0 ? info.multiaddrs : info.id
    void (async () => {
      try {
        if (info.multiaddrs.length > 0) await node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs })
        await node.dial(Array.isArray(target) ? info.id : target, { signal: AbortSignal.timeout(o.dialTimeoutMs) })
      } catch (err) {
        o.log('discovered peer not dialable', { peer: id, error: (err as Error).message })
      } finally {
        inFlight--
        dialing.delete(id)
      }
    })()
  }

  // Periodic exchange backs off (×2, capped) while it teaches us nothing new.
  let backoffMs = o.intervalMs
  let nextMs = 0
  const maxBackoffMs = 30 * o.intervalMs

  const exchange = (peer: PeerId): void => {
    if (!running || connectedCount() >= o.targetPeers) return
    void sendRequest(node, peer, PEX_PROTOCOL, new Uint8Array(0), o.requestTimeoutMs, PEX_MAX_BYTES, o.counters).then((bytes) => {
      let json: unknown
      try { json = JSON.parse(dec.decode(bytes)) } catch { json = undefined }
      const list = pexSchema.safeParse(json)
      if (!list.success) { o.log('malformed peer exchange reply', { peer: peer.toString() }); return }
      let fresh = 0
      for (const p of list.data) {
        try {
          const id = peerIdFromString(p.id)
          if (id.equals(node.peerId) || node.getConnections(id).length > 0) continue
          if (o.known?.(p.id) !== true) fresh++
          consider({ id, multiaddrs: p.addrs.map((a) => multiaddr(a)) })
        } catch { /* a bad entry is skipped */ }
      }
      backoffMs = fresh > 0 ? o.intervalMs : Math.min(maxBackoffMs, backoffMs * 2)
    }, (err) => { o.log('peer exchange failed', { peer: peer.toString(), error: (err as Error).message }) })
  }

  let bootstrapBackoffMs = o.intervalMs
  let bootstrapNextMs = 0
  const redialBootstrap = (): void => {
    for (const addr of o.bootstrap.slice(0, 8)) {
      void node.dial(multiaddr(addr), { signal: AbortSignal.timeout(o.dialTimeoutMs) })
        .catch((err) => { o.log('bootstrap peer not dialable', { addr, error: (err as Error).message }) })
    }
  }

  return {
    async start () {
      running = true
      await handleRequests(node, PEX_PROTOCOL, async () => {
        const out: Array<{ id: string, addrs: string[] }> = []
        for (const id of node.getPeers()) {
          if (out.length >= o.maxPeers) break
          try {
            const peer = await node.peerStore.get(id)
            const addrs = peer.addresses.map((a) => a.multiaddr.toString()).slice(0, 16)
            if (addrs.length > 0) out.push({ id: id.toString(), addrs })
          } catch { /* not in the store yet */ }
        }
        return enc.encode(JSON.stringify(out))
      }, PEX_MAX_BYTES, o.counters, (msg, err) => { o.log(msg, { error: (err as Error)?.message }) })
      timer = setInterval(() => {
        const now = Date.now()
        // getPeers() parses every peer id from its string key: only once an exchange is due.
        if (node.getConnections().length === 0) {
          if (o.bootstrap.length > 0 && now >= bootstrapNextMs) {
            redialBootstrap()
            bootstrapNextMs = now + bootstrapBackoffMs
            bootstrapBackoffMs = Math.min(maxBackoffMs, bootstrapBackoffMs * 2)
          }
          return
        }
        bootstrapBackoffMs = o.intervalMs
        if (now < nextMs) return
        const peers = node.getPeers()
        if (peers.length === 0 || peers.length >= o.targetPeers) return
        nextMs = now + backoffMs
        exchange(peers[Math.floor(Math.random() * peers.length)]!)
      }, Math.max(250, Math.floor(o.intervalMs / 4)))
      timer.unref?.()
    },
    async stop () {
      running = false
      if (timer != null) clearInterval(timer)
      await node.unhandle(PEX_PROTOCOL).catch(() => {})
    },
    exchange,
    consider
  }
}
