// The mesh as everything above it sees it. Two implementations: the libp2p
// mesh (real TCP) and the simulated mesh (virtual time, seeded faults). One
// compliance suite runs against both.
import type { z } from 'zod'
import type { Envelope } from '@homeostat/interface'
import type { HlcTimestamp } from '@homeostat/hlc'

/** A gossip topic and the schema every message body on it must satisfy. */
export interface Topic<B> {
  /** gossipsub topic string, e.g. `homeostat/health/1`. */
  name: string
  /** Body schema; a message that fails it is rejected and counted against its sender. */
  body: z.ZodType<B>
  /** Largest accepted envelope in bytes (default LIMITS.envelopeBytes). */
  maxBytes?: number
}

export interface MeshMessage<B> {
  envelope: Envelope<B>
  /** Our HLC after merging the sender's: the receive event's time. */
  receivedHlc: HlcTimestamp
  /** Sender's HLC, decoded. */
  sentHlc: HlcTimestamp
}

export type Liveness = 'alive' | 'suspect' | 'dead'

export interface PeerState {
  peer: string
  state: Liveness
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
  /** Peers we know of and their liveness. */
  peers: () => PeerState[]
  onLiveness: (handler: (event: LivenessEvent) => void) => () => void
  /** Serves `protocol` on direct streams. Requests and responses are bounded by `maxBytes`. */
  handle: (protocol: string, handler: RequestHandler, options?: { maxBytes?: number }) => void
  /** One request/response with `peer`; rejects with a coded error on timeout or refusal. */
  request: (peer: string, protocol: string, data: Uint8Array, options?: { timeoutMs?: number, maxBytes?: number }) => Promise<Uint8Array>
  /** Application-specific score for gossipsub's peer scoring (reputation feeds this). */
  setAppScore: (peer: string, score: number) => void
  stats: () => MeshStats
}
