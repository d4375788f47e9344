// Hybrid logical clock after Kulkarni, Demirbas et al. 2014, "Logical Physical
// Clocks" (Fig. 5), with CockroachDB's guard against a far-ahead remote clock.
import { MAX_LOGICAL, MAX_WALL_MS, assertTimestamp, isValidNodeId, type HlcTimestamp } from './timestamp.ts'

export interface HlcOptions {
  /** This node's id: the last tie-break of the total order. */
  nodeId: string
  /** Physical time in ms since the epoch; injected so tests can simulate drift. */
  now: () => number
  /**
   * A remote time more than this far ahead of our physical clock is refused
   * (and counted), so one bad clock cannot drag the fleet into the future.
   * 500 ms as CockroachDB's default.
   */
  maxOffsetMs?: number
}

export const HLC_DEFAULTS = {
  /** CockroachDB's default max clock offset. */
  maxOffsetMs: 500
} as const

export class HlcClockOffsetError extends Error {
  readonly name = 'HlcClockOffsetError'
  readonly code = 'HLC_CLOCK_OFFSET'
  constructor (readonly remote: HlcTimestamp, readonly physicalMs: number, readonly maxOffsetMs: number) {
    super(`remote clock ${remote.wallMs} of ${remote.node} is ${remote.wallMs - physicalMs} ms ahead of local physical time (max offset ${maxOffsetMs} ms)`)
  }
}

export class HlcLogicalOverflowError extends Error {
  readonly name = 'HlcLogicalOverflowError'
  readonly code = 'HLC_LOGICAL_OVERFLOW'
  constructor () {
    super(`hlc logical counter would exceed ${MAX_LOGICAL}; physical clock is not advancing`)
  }
}

export class HlcPhysicalTimeError extends Error {
  readonly name = 'HlcPhysicalTimeError'
  readonly code = 'HLC_PHYSICAL_TIME'
}

export interface HlcStats {
  /** Remote timestamps refused for being too far ahead. */
  offsetRejected: number
  /** Largest forward offset of a refused remote, ms. */
  maxRejectedOffsetMs: number
  /** Receive events handled. */
  received: number
}

export interface Hlc {
  readonly nodeId: string
  readonly maxOffsetMs: number
  /** A timestamp for a local or send event. */
  now: () => HlcTimestamp
  /** Merges a remote timestamp (receive event) and returns the receive time; throws HlcClockOffsetError without changing state when the remote is too far ahead. */
  receive: (remote: HlcTimestamp) => HlcTimestamp
  /** The last timestamp issued, without advancing. */
  peek: () => HlcTimestamp
  /** Reads the injected physical clock. */
  physicalNow: () => number
  stats: () => HlcStats
}

export function createHlc (options: HlcOptions): Hlc {
  const { nodeId, now } = options
  const maxOffsetMs = options.maxOffsetMs ?? HLC_DEFAULTS.maxOffsetMs
  if (!isValidNodeId(nodeId)) throw new TypeError('hlc nodeId must be 1-128 printable ASCII characters')
  if (!(maxOffsetMs >= 0)) throw new TypeError('hlc maxOffsetMs must be >= 0')
  let l = 0
  let c = 0
  const stats: HlcStats = { offsetRejected: 0, maxRejectedOffsetMs: 0, received: 0 }

  const physical = (): number => {
    const pt = Math.floor(now())
    if (!Number.isSafeInteger(pt) || pt < 0 || pt > MAX_WALL_MS) throw new HlcPhysicalTimeError(`physical clock returned ${String(pt)}`)
    return pt
  }
  const stamp = (): HlcTimestamp => ({ wallMs: l, logical: c, node: nodeId })
  const bump = (next: number): number => {
    if (next > MAX_LOGICAL) throw new HlcLogicalOverflowError()
    return next
  }

  return {
    nodeId,
    maxOffsetMs,
    now () {
      const pt = physical()
      if (pt > l) {
        l = pt
        c = 0
      } else {
        c = bump(c + 1)
      }
      return stamp()
    },
    receive (remote) {
      assertTimestamp(remote)
      const pt = physical()
      if (remote.wallMs - pt > maxOffsetMs) {
        stats.offsetRejected++
        stats.maxRejectedOffsetMs = Math.max(stats.maxRejectedOffsetMs, remote.wallMs - pt)
        throw new HlcClockOffsetError(remote, pt, maxOffsetMs)
      }
      stats.received++
      const lOld = l
      const lNew = Math.max(lOld, remote.wallMs, pt)
      let cNew: number
      if (lNew === lOld && lNew === remote.wallMs) cNew = bump(Math.max(c, remote.logical) + 1)
      else if (lNew === lOld) cNew = bump(c + 1)
      else if (lNew === remote.wallMs) cNew = bump(remote.logical + 1)
      else cNew = 0
      l = lNew
      c = cNew
      return stamp()
    },
    peek: stamp,
    physicalNow: physical,
    stats: () => ({ ...stats })
  }
}

/**
 * The same clock under another node id (pure view, no state of its own): one agent has one HLC,
 * but it is known by its name to its incidents and by its peer id on the mesh. Every local event
 * and every receive on either face advances the one clock, so an incident stamped after a remote
 * message was received is ordered after it, whichever face stamped what.
 */
export function labelledHlc (clock: Hlc, nodeId: string): Hlc {
  if (!isValidNodeId(nodeId)) throw new TypeError('hlc nodeId must be 1-128 printable ASCII characters')
  const relabel = (t: HlcTimestamp): HlcTimestamp => ({ ...t, node: nodeId })
  return {
    nodeId,
    maxOffsetMs: clock.maxOffsetMs,
    now: () => relabel(clock.now()),
    receive: (remote) => relabel(clock.receive(remote)),
    peek: () => relabel(clock.peek()),
    physicalNow: () => clock.physicalNow(),
    stats: () => clock.stats()
  }
}
