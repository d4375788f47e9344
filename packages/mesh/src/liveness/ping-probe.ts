// Probing peers that are not agents (kind `other`, see kind.ts) with the
// standard libp2p ping (`/ipfs/ping/1.0.0`, @libp2p/ping): every libp2p node
// that runs the ping service answers it, a stock js-libp2p node included. Each
// ping is a new stream (negotiation, 32 random bytes echoed), so these peers are
// pinged less often than agents (LIVENESS_DEFAULTS.otherPingIntervalMs).
//
// At most one ping per peer is in flight (libp2p's ping allows one outbound
// stream per connection); a ping due while one is in flight waits for it and
// goes next, so the detector's answer for every sequence number it sent comes
// in order, as on the agent probe's one ordered stream.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'

/** The part of @libp2p/ping's service this uses. */
export interface PingService {
  ping: (peer: PeerId, options?: { signal?: AbortSignal }) => Promise<number>
}

export interface PingProbeOptions {
  ping: PingService
  /** `peer` answered ping `seq`. */
  onPong: (peer: string, seq: number) => void
  /** `peer` refused the ping protocol: it cannot be probed at all. */
  onUnsupported: (peer: string) => void
  /** One ping's stream is abandoned after this long. */
  timeoutMs: number
}

export interface PingProbe {
  /** Ping `peer` (queued behind a ping in flight: only the latest waiting sequence number is kept). */
  send: (peer: string, seq: number) => void
  /** Abandon the peer's ping in flight and anything queued (disconnected or declared dead). */
  drop: (peer: string) => void
  stop: () => void
  /** Pings sent, answered, failed, refused as unsupported (for tests and livenessStats). */
  stats: () => { sent: number, answered: number, failed: number, unsupported: number }
}

interface Slot { abort: AbortController, queued?: number }

export function createPingProbe (o: PingProbeOptions): PingProbe {
  const slots = new Map<string, Slot>()
  const counters = { sent: 0, answered: 0, failed: 0, unsupported: 0 }
  let running = true

  const start = (peer: string, seq: number): void => {
    const slot: Slot = { abort: new AbortController() }
    slots.set(peer, slot)
    counters.sent++
    let id: PeerId
    try { id = peerIdFromString(peer) } catch { slots.delete(peer); counters.failed++; return }
    const signal = AbortSignal.any([slot.abort.signal, AbortSignal.timeout(o.timeoutMs)])
    void o.ping.ping(id, { signal }).then(() => {
      if (slots.get(peer) !== slot) return
      counters.answered++
      o.onPong(peer, seq)
    }, (err: unknown) => {
      if (slots.get(peer) !== slot) return
      if ((err as { name?: string } | undefined)?.name === 'UnsupportedProtocolError') {
        counters.unsupported++
        o.onUnsupported(peer)
      } else counters.failed++
    }).finally(() => {
      if (slots.get(peer) !== slot) return
      slots.delete(peer)
      if (running && slot.queued !== undefined) start(peer, slot.queued)
    })
  }

  return {
    send (peer, seq) {
      if (!running) return
      const slot = slots.get(peer)
      if (slot != null) { slot.queued = seq; return }
      start(peer, seq)
    },
    drop (peer) {
      const slot = slots.get(peer)
      if (slot == null) return
      slots.delete(peer)
      slot.abort.abort(new Error('peer dropped'))
    },
    stop () {
      running = false
      for (const slot of slots.values()) slot.abort.abort(new Error('mesh stopping'))
      slots.clear()
    },
    stats: () => ({ ...counters })
  }
}
