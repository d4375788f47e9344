// Context-aware checkpoint replication: each checkpoint is also held by k
// peers chosen by reputation (k larger for versions in production), so a node
// whose disk dies restores its model from the mesh. Direct request/response
// streams over the Mesh interface; every size and count is bounded.
import type { Mesh } from '@homeostat/mesh'
import { CHECKPOINT_PROTOCOL, WIRE_LIMITS } from '@homeostat/interface'
import { decodeCheckpoint, encodeCheckpoint, type ModelCheckpoint } from './checkpoint.ts'
import type { Tunable } from './tunable.ts'

export const REPLICATION_PROTOCOL = CHECKPOINT_PROTOCOL

export const REPLICATION_DEFAULTS = {
  /** Replicas of an ordinary checkpoint: survives one more failure than the owner's disk. */
  replicas: 2,
  /** Replicas of a version in production: losing it means serving a stale model. */
  productionReplicas: 3,
  /** Owners whose checkpoints a node holds for others; the oldest is evicted past this. */
  maxOwnersHeld: 64,
  /** A request to one peer; a slow peer is skipped, not waited on. */
  requestTimeoutMs: 3000,
  /** Largest checkpoint accepted (a 7,850-parameter model is ~32 KiB; room for larger models). */
  maxCheckpointBytes: WIRE_LIMITS.checkpointBytes
} as const

const OP_PUT = 1
const OP_GET = 2

export interface CheckpointReplicatorInit {
  mesh: Mesh
  parameterCount: number
  /** Reputation in [0,1] of a peer (from the coordination package); higher is trusted first. */
  reputation: (peer: string) => number
  options?: Tunable<typeof REPLICATION_DEFAULTS>
}

export interface CheckpointReplicator {
  start: () => void
  /** Stores `cp` on the k most reputable live peers; returns who holds it and who failed. */
  replicate: (cp: ModelCheckpoint, options?: { production?: boolean }) => Promise<{ stored: string[], failed: string[] }>
  /** Asks live peers for our newest checkpoint; verifies each answer's hash; returns the newest valid one. */
  restore: () => Promise<ModelCheckpoint | undefined>
  /** Checkpoints this node holds for others (owner → version). */
  held: () => Record<string, number>
  stats: () => { stored: number, served: number, rejected: number }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function createCheckpointReplicator (init: CheckpointReplicatorInit): CheckpointReplicator {
  const o = { ...REPLICATION_DEFAULTS, ...init.options }
  const { mesh } = init
  const held = new Map<string, Uint8Array>()
  const stats = { stored: 0, served: 0, rejected: 0 }

  const frame = (op: number, owner: string, payload: Uint8Array = new Uint8Array()): Uint8Array => {
    const id = encoder.encode(owner)
    const out = new Uint8Array(3 + id.length + payload.length)
    out[0] = op
    new DataView(out.buffer).setUint16(1, id.length)
    out.set(id, 3)
    out.set(payload, 3 + id.length)
    return out
  }

  const livePeers = (): string[] => mesh.peers().filter((p) => p.state === 'alive' && p.kind !== 'other').map((p) => p.peer)

  return {
    start () {
      mesh.handle(REPLICATION_PROTOCOL, async (from, request) => {
        if (request.length < 3) { stats.rejected++; return new Uint8Array([0]) }
        const op = request[0]
        const idLength = new DataView(request.buffer, request.byteOffset).getUint16(1)
        const owner = decoder.decode(request.subarray(3, 3 + idLength))
        if (op === OP_PUT) {
          // Only the owner may store its own checkpoint; it must decode and match its hash.
          if (owner !== from) { stats.rejected++; return new Uint8Array([0]) }
          const bytes = new Uint8Array(request.subarray(3 + idLength))
          try {
            const cp = decodeCheckpoint(bytes, init.parameterCount)
            const prev = held.get(owner)
            if (prev !== undefined && decodeCheckpoint(prev, init.parameterCount).version > cp.version) return new Uint8Array([1])
          } catch {
            stats.rejected++
            return new Uint8Array([0])
          }
          held.delete(owner)
          held.set(owner, bytes)
          while (held.size > o.maxOwnersHeld) held.delete(held.keys().next().value!)
          stats.stored++
          return new Uint8Array([1])
        }
        if (op === OP_GET) {
          const bytes = held.get(owner)
          if (bytes !== undefined) stats.served++
          return bytes ?? new Uint8Array()
        }
        stats.rejected++
        return new Uint8Array([0])
      }, { maxBytes: o.maxCheckpointBytes })
    },
    async replicate (cp, options = {}) {
      const k = options.production === true ? o.productionReplicas : o.replicas
      const ranked = livePeers().sort((a, b) => (init.reputation(b) - init.reputation(a)) || (a < b ? -1 : 1))
      const payload = frame(OP_PUT, mesh.peerId, encodeCheckpoint(cp))
      const stored: string[] = []
      const failed: string[] = []
      for (const peer of ranked) {
        if (stored.length >= k) break
        try {
          const res = await mesh.request(peer, REPLICATION_PROTOCOL, payload, { timeoutMs: o.requestTimeoutMs, maxBytes: o.maxCheckpointBytes })
          if (res[0] === 1) stored.push(peer)
          else failed.push(peer)
        } catch {
          failed.push(peer)
        }
      }
      return { stored, failed }
    },
    async restore () {
      let best: ModelCheckpoint | undefined
      const payload = frame(OP_GET, mesh.peerId)
      for (const peer of livePeers()) {
        try {
          const res = await mesh.request(peer, REPLICATION_PROTOCOL, payload, { timeoutMs: o.requestTimeoutMs, maxBytes: o.maxCheckpointBytes })
          if (res.length === 0) continue
          const cp = decodeCheckpoint(res, init.parameterCount)
          if (best === undefined || cp.version > best.version) best = cp
        } catch {
          stats.rejected++
        }
      }
      return best
    },
    held: () => Object.fromEntries([...held].map(([owner, bytes]) => [owner, decodeCheckpoint(bytes, init.parameterCount).version])),
    stats: () => ({ ...stats })
  }
}
