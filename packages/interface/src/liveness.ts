// Why a mesh declared a peer alive, suspect or dead: the `reason` of a
// liveness event, shared by the mesh that emits it and the healers that act
// on it (a definitive death needs no second opinion before a takeover).

export const LIVENESS_REASONS = {
  /** A connection to the peer opened. */
  connectionOpen: 'connection:open',
  /** Our last connection to the peer closed: suspect until a redial or ping settles it. */
  connectionClose: 'connection:close',
  /** A suspect answered a ping again. */
  pingOk: 'ping:ok',
  /** A suspect's connection came back. */
  reconnected: 'reconnected',
  /** Pings went unanswered beyond the peer's adaptive timeout: suspect. */
  pingTimeout: 'ping:timeout',
  /** A suspect stayed silent for the whole suspicion timeout: dead, but possibly only cut off. */
  suspicionTimeout: 'suspicion:timeout',
  /** Our redial was refused (ECONNREFUSED/RESET): its host is up and its agent is not running. */
  connectionLost: 'connection:lost',
  /** No route to the peer's host (EHOSTUNREACH/ENETUNREACH): down or cut off, which we cannot tell apart. */
  hostUnreachable: 'host:unreachable'
} as const

export type LivenessReason = typeof LIVENESS_REASONS[keyof typeof LIVENESS_REASONS]

/**
 * Whether a death is certain rather than a view that may lag or a cut that may heal: only a refused
 * redial proves the peer's process is gone (its host answered for it). Silence and unreachability
 * look the same from here whether the peer died or the network split.
 */
export function isDefinitiveDeath (reason: string): boolean {
  return reason === LIVENESS_REASONS.connectionLost
}
