// The ping protocol of the failure detector: one long-lived stream per peer
// and direction carrying 6-byte frames [kind, seq u32, sender's local health]
// (the health byte lets a peer that knows it is starved ask for patience,
// as Lifeguard's local health awareness). Far cheaper than
// libp2p's ping (a new stream and protocol negotiation per ping), so every
// peer can be probed five times a second.
//
// Only agents serve this protocol; opening a probe stream also tells the
// detector what a peer is (kind.ts): negotiated → agent, refused as
// unsupported → not an agent (probed with libp2p ping instead, ping-probe.ts).
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { PROBE_PROTOCOL } from '@homeostat/interface'
import { toBytes, type Chunk } from '../framing.ts'

export { PROBE_PROTOCOL }
const PING = 0
const PONG = 1
const FRAME = 6

export interface ProbeStreams {
  /** Registers the protocol handler (answers pings). Works before libp2p starts, and should run then:
   * identify lists the probe from the very first connection, so no peer takes us for a non-agent. */
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Ping `peer` (its id as a string: a ping must not parse and re-encode a peer id). */
  send: (peer: string, seq: number) => void
  drop: (peer: string) => void
  /** Whether `peer` serves the probe: one negotiation, its stream closed at once. `undefined` when the
   * negotiation neither succeeded nor was refused (timeout, connection gone). */
  speaks: (peer: string) => Promise<boolean | undefined>
}

/** What the probe learns about a peer's support of the protocol, besides pongs. */
export interface ProbeStreamsEvents {
  /** An outbound probe stream to `peer` was negotiated (it is an agent). */
  onNegotiated?: (peer: string) => void
  /** `peer` refused the protocol as unsupported (it is not an agent). */
  onUnsupported?: (peer: string) => void
}

/** libp2p's UnsupportedProtocolError, by name (several copies of @libp2p/interface may be loaded). */
export function isUnsupportedProtocol (err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'UnsupportedProtocolError'
}

function frame (kind: number, seq: number, health: number): Uint8Array {
  const b = new Uint8Array(FRAME)
  b[0] = kind
  new DataView(b.buffer).setUint32(1, seq)
  b[5] = Math.max(0, Math.min(255, Math.round(health)))
  return b
}

/** Splits a byte stream into fixed-size frames, calling `on` for each. Bounded: at most one partial frame is kept. */
function framer (on: (kind: number, seq: number, health: number) => void): (chunk: Chunk) => void {
  let rest = new Uint8Array(0)
  return (chunk) => {
    let data = toBytes(chunk)
    if (rest.byteLength > 0) {
      const m = new Uint8Array(rest.byteLength + data.byteLength)
      m.set(rest); m.set(data, rest.byteLength)
      data = m
    }
    let off = 0
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    while (data.byteLength - off >= FRAME) {
      on(data[off] ?? 255, view.getUint32(off + 1), data[off + 5] ?? 0)
      off += FRAME
    }
    rest = data.slice(off)
  }
}

export function createProbeStreams (node: Libp2p, onPong: (peer: string, seq: number, health: number) => void, onPing: (peer: string, health: number) => void, localHealth: () => number, openTimeoutMs: number, events: ProbeStreamsEvents = {}): ProbeStreams {
  const outbound = new Map<string, { stream?: Stream, opening: boolean, queued: number[] }>()
  let running = false

  const open = (key: string): void => {
    let slot = outbound.get(key)
    if (slot == null) { slot = { opening: false, queued: [] }; outbound.set(key, slot) }
    if (slot.opening) return
    slot.opening = true
    const s = slot
    void node.dialProtocol(peerIdFromString(key), PROBE_PROTOCOL, { signal: AbortSignal.timeout(openTimeoutMs) }).then((stream) => {
      s.opening = false
      if (!running || outbound.get(key) !== s) { stream.abort(new Error('probe no longer wanted')); return }
      events.onNegotiated?.(key)
      s.stream = stream
      const feed = framer((kind, seq, health) => { if (kind === PONG) onPong(key, seq, health) })
      stream.addEventListener('message', (evt) => { feed(evt.data) })
      stream.addEventListener('close', () => { if (s.stream === stream) s.stream = undefined })
      for (const seq of s.queued.splice(0)) stream.send(frame(PING, seq, localHealth()))
    }, (err: unknown) => {
      s.opening = false
      s.queued.length = 0
      if (running && isUnsupportedProtocol(err)) events.onUnsupported?.(key)
    })
  }

  return {
    async start () {
      running = true
      await node.handle(PROBE_PROTOCOL, (stream, connection) => {
        const from = connection.remotePeer.toString()
        const feed = framer((kind, seq, health) => {
          if (kind !== PING) { stream.abort(new Error('unexpected probe frame')); return }
          try { stream.send(frame(PONG, seq, localHealth())) } catch { /* stream gone */ }
          onPing(from, health)
        })
        stream.addEventListener('message', (evt) => { feed(evt.data) })
      }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    },
    async stop () {
      running = false
      for (const s of outbound.values()) s.stream?.abort(new Error('mesh stopping'))
      outbound.clear()
      await node.unhandle(PROBE_PROTOCOL).catch(() => {})
    },
    send (peer, seq) {
      if (!running) return
      const slot = outbound.get(peer)
      const stream = slot?.stream
      if (stream != null && stream.status === 'open') {
        try { stream.send(frame(PING, seq, localHealth())) } catch { slot!.stream = undefined }
        return
      }
      open(peer)
      const s = outbound.get(peer)
      if (s != null && s.queued.length < 4) s.queued.push(seq)
    },
    drop (peer) {
      const s = outbound.get(peer)
      s?.stream?.abort(new Error('peer dropped'))
      outbound.delete(peer)
    },
    async speaks (peer) {
      if (!running) return undefined
      try {
        const stream = await node.dialProtocol(peerIdFromString(peer), PROBE_PROTOCOL, { signal: AbortSignal.timeout(openTimeoutMs) })
        stream.abort(new Error('probe negotiation check only'))
        return true
      } catch (err) {
        return isUnsupportedProtocol(err) ? false : undefined
      }
    }
  }
}
