// The mesh as everything above it sees it. Two implementations: the libp2p
// mesh (real TCP) and the simulated mesh (virtual time, seeded faults). One
// compliance suite runs against both.
import type { Envelope, Topic } from '@homeostat/interface'
import type { HlcTimestamp } from '@homeostat/hlc'

/** A gossip topic (defined with its schema in @homeostat/interface's wire module). */
export type { Topic }

export interface MeshMessage<B> {
  envelope: Envelope<B>
  /** Our HLC after merging the sender's: the receive event's time. */
  receivedHlc: HlcTimestamp
  /** Sender's HLC, decoded. */
  sentHlc: HlcTimestamp
}

export type Liveness = 'alive' | 'suspect' | 'dead'

/**
 * What a peer is. `agent`: it speaks the agent probe protocol (`/homeostat/probe/1.0.0`: listed by
 * identify, negotiated on a stream, or heard in probe frames), i.e. a homeostat agent, a fleet
 * member. `other`: it holds the swarm key but does not speak the probe (a stock libp2p node, a
 * tool, a gateway); it is probed with libp2p ping and is never a fleet member. `unknown`: just
 * connected, not identified yet (milliseconds, normally); not a member until it is known.
 * A kind says which protocols a peer speaks, not whether to trust it: anyone holding the swarm key
 * can serve the probe. Once `agent`, a peer stays `agent` (an agent stopping unregisters the probe
 * before it disconnects).
 */
export type PeerKind = 'agent' | 'other' | 'unknown'

export interface PeerState {
  peer: string
  state: Liveness
  kind: PeerKind
  /** Smoothed round-trip time, ms, when known. */
  rttMs?: number
  /** Physical ms when the state last changed. */
  sinceMs: number
}

export interface LivenessEvent {
  peer: string
  state: Liveness
  /** Physical ms of the transition. */
  atMs: number
  /** Why: one of LIVENESS_REASONS (@homeostat/interface); `isDefinitiveDeath(reason)` tells a refused redial (the process is gone) from silence. */
  reason: string
  /** The peer's kind when the event fired (both meshes set it; optional so that hand-made events in tests stay valid). */
  kind?: PeerKind
}

export interface MeshStats {
  published: number
  delivered: number
  /** Rejected messages by reason (`schema`, `size`, `forged`, `clock`, `json`). */
  rejected: Record<string, number>
  /** Rejected messages per sender peer id. */
  rejectedBySender: Record<string, number>
  bytesSent: number
  bytesReceived: number
}

/** A request/response handler for direct streams (e.g. Yjs state-vector catch-up). */
export type RequestHandler = (from: string, request: Uint8Array) => Promise<Uint8Array>

export interface Mesh {
  readonly peerId: string
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Delivers every valid message on `topic`, our own excluded. Returns an unsubscribe function. */
  subscribe: <B>(topic: Topic<B>, handler: (msg: MeshMessage<B>) => void) => () => void
  /** Stamps our HLC, wraps `body` in an envelope and gossips it. */
  publish: <B>(topic: Topic<B>, type: string, body: B) => Promise<void>
  /** Peers we know of, agents and others, with their liveness and kind. */
  peers: () => PeerState[]
  /** The fleet members we know of: `peers()` of kind `agent` only (self excluded). Count these, not `peers()`,
   * for a quorum or anything else that must count agents. */
  members: () => PeerState[]
  onLiveness: (handler: (event: LivenessEvent) => void) => () => void
  /** Serves `protocol` on direct streams. Requests and responses are bounded by `maxBytes`. */
  handle: (protocol: string, handler: RequestHandler, options?: { maxBytes?: number }) => void
  /** One request/response with `peer`; rejects with a coded error on timeout or refusal. */
  request: (peer: string, protocol: string, data: Uint8Array, options?: { timeoutMs?: number, maxBytes?: number }) => Promise<Uint8Array>
  /** Application-specific score for gossipsub's peer scoring (reputation feeds this). */
  setAppScore: (peer: string, score: number) => void
  stats: () => MeshStats
}
