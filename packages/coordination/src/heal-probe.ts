import type { Tuning } from '@homeostat/interface'
// Heal probes: noticing that a partition healed before the mesh's liveness does.
//
// After a cut, the mesh declares the other side dead, aborts those connections
// and redials with capped backoff; a connection that survived the cut sits in
// TCP retransmission backoff (measured 1.6–3.5 s RTO after a 3.5 s cut). Either
// way 'alive' can come seconds after the network is back. A catch-up request
// to a peer believed dead makes the mesh dial it afresh, so it is also the
// cheapest heal detector: when it answers, the partition is over and we
// already hold the other side's state. Each replica probes at most one dead
// peer per `intervalMs` (the soonest due), at most `maxInFlight` at once, and
// backs off per peer (base × 2^failures, capped) so a peer that is really gone
// costs one short dial per `maxDelayMs`. Peers that are only suspect are not
// probed: their connection still exists and a request would queue behind it.
// Any sign of life (a gossip message from the peer, an 'alive' event) resets
// the peer's backoff so it is probed at once. An answered probe pauses the
// schedule briefly: one answer is enough to merge, the rest is reconnection.

export const HEAL_PROBE_DEFAULTS = {
  /** One probe per this period at most (per replica): 4 dials/s while anything is dead... */
  intervalMs: 250,
  /** ...and the whole fleet probes about this many times per second at most: each replica's period
   * stretches to (peers + 1) / fleetProbesPerSec s (1 s with 20 agents, 10 s with 200). Across the
   * side of a cut that still makes some pair reconnect within ~100 ms of a heal; one pair is enough,
   * and every extra dial is a handshake in the reconnection storm (40/s merged later on 2 cores). */
  fleetProbesPerSec: 20,
  /** First retry of a failed peer after this long... */
  baseDelayMs: 250,
  /** ...doubling per failure up to this: a crashed peer costs one refused dial per 2 s per replica. */
  maxDelayMs: 2000,
  /** Random spread of a delay (± fraction) so replicas do not probe in lockstep. */
  jitter: 0.2,
  /** Probes in flight at once: each is one pending TCP SYN while cut off (cheap), so several may wait. */
  maxInFlight: 4,
  /** Probe timeout. A dial on a healed LAN takes < 100 ms idle, a few hundred ms on a starved host;
   * more than 1 s so a probe sent just before the heal still lands with TCP's SYN retransmit (at 1 s). */
  timeoutMs: 1500,
  /** After a probe is answered, pause this long: one answer already brought the other side's state
   * (and the relay spreads it); the mesh reconnects the rest while the CPU serves the catch-up. */
  pauseAfterAnswerMs: 1000,
  /** Dead peers tracked at most (bounded memory; beyond this, untracked peers are probed as new). */
  maxTracked: 4096
} as const

export type HealProbeTuning = Tuning<typeof HEAL_PROBE_DEFAULTS>

/** Pure: delay before the next probe of a peer that failed `failures` probes; `r` uniform in [0, 1). */
export function probeDelayMs (failures: number, r: number, t: Pick<HealProbeTuning, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>): number {
  const raw = Math.min(t.maxDelayMs, t.baseDelayMs * 2 ** Math.min(30, Math.max(0, failures)))
  return Math.max(0, Math.round(raw * (1 + t.jitter * (2 * r - 1))))
}

interface ProbeEntry { failures: number, dueMs: number }

/** Pure: a replica's probe period with `peers` known peers (the fleet-wide budget spread over everyone). */
export function probeIntervalMs (peers: number, t: Pick<HealProbeTuning, 'intervalMs' | 'fleetProbesPerSec'>): number {
  if (t.fleetProbesPerSec <= 0) return t.intervalMs
  return Math.max(t.intervalMs, Math.ceil(1000 * (Math.max(0, peers) + 1) / t.fleetProbesPerSec))
}

/** Pure: the dead peer to probe now (soonest due, ties by id), or undefined when none is due. */
export function pickProbe (dead: readonly string[], entries: ReadonlyMap<string, ProbeEntry>, inFlight: ReadonlySet<string>, nowMs: number): string | undefined {
  let best: string | undefined
  let bestDue = Infinity
  for (const p of dead) {
    if (inFlight.has(p)) continue
    const due = entries.get(p)?.dueMs ?? -Infinity // never probed: due now
    if (due > nowMs) continue
    if (best == null || due < bestDue || (due === bestDue && p < best)) { best = p; bestDue = due }
  }
  return best
}

export interface HealProber {
  /** One scheduling step: `dead` are the peers believed dead now, `peers` all known peers. Returns the peer probed, if any. */
  tick: (dead: readonly string[], nowMs: number, peers?: number) => string | undefined
  /** A sign of life from `peer` (gossip from it, an 'alive' event): probe it at the next tick. */
  poke: (peer: string) => void
  /** `peer` is alive in the mesh's view: stop tracking it. */
  forget: (peer: string) => void
  inFlight: () => number
  tracked: () => number
}

/**
 * The probe schedule. `probe(peer)` runs one catch-up request with the probe
 * timeout and resolves true when the peer answered.
 */
export function createHealProber (t: HealProbeTuning, probe: (peer: string) => Promise<boolean>, random: () => number, now: () => number): HealProber {
  const entries = new Map<string, ProbeEntry>()
  const inFlight = new Set<string>()
  let nextTickMs = -Infinity
  return {
    tick (dead, nowMs, peers = 0) {
      if (nowMs < nextTickMs || inFlight.size >= t.maxInFlight || dead.length === 0) return undefined
      const peer = pickProbe(dead, entries, inFlight, nowMs)
      if (peer == null) return undefined
      nextTickMs = nowMs + probeIntervalMs(peers, t)
      inFlight.add(peer)
      void probe(peer).catch(() => false).then((ok) => {
        inFlight.delete(peer)
        if (ok) { entries.delete(peer); nextTickMs = Math.max(nextTickMs, now() + t.pauseAfterAnswerMs); return }
        const e = entries.get(peer) ?? { failures: 0, dueMs: 0 }
        e.failures++
        e.dueMs = now() + probeDelayMs(e.failures - 1, random(), t)
        if (!entries.has(peer) && entries.size >= t.maxTracked) return
        entries.set(peer, e)
      })
      return peer
    },
    poke (peer) {
      entries.delete(peer)
      nextTickMs = -Infinity
    },
    forget (peer) { entries.delete(peer) },
    inFlight: () => inFlight.size,
    tracked: () => entries.size
  }
}
