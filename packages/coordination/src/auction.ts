// Deterministic sealed-bid allocation of orphaned workloads. Every replica runs
// the same function on the same replicated view (capacities, reputations,
// priorities), so survivors agree on who takes what without a round of
// messages; the registry claim that follows makes the agreement exact.

export interface WorkloadSpec {
  name: string
  /** Higher first when capacity is scarce. */
  priority: number
  cpuMillis: number
  memoryMb: number
}

export interface Bidder {
  peer: string
  freeCpuMillis: number
  freeMemoryMb: number
  /** Shared reputation in [0,1], quantised by the caller so replicas agree. */
  reputation: number
  /** The workloads this peer can host (it has their configuration); undefined: any. */
  accepts?: ReadonlySet<string>
}

export const AUCTION_DEFAULTS = {
  /** Weight of spare capacity left after placement (room to absorb load). */
  capacityWeight: 0.6,
  /** Weight of reputation (a flaky host is a poor place for a recovered workload). */
  reputationWeight: 0.4,
  /** Bidders below this reputation do not bid (quarantined peers host nothing). */
  minReputation: 0.3
} as const

/** Pure: one bid, the projected impact of placing `w` on `b` (0 when it does not fit). */
export function bid (w: WorkloadSpec, b: Bidder, opts: { capacityWeight: number, reputationWeight: number, minReputation: number } = AUCTION_DEFAULTS): number {
  if (b.reputation < opts.minReputation) return 0
  if (b.accepts != null && !b.accepts.has(w.name)) return 0
  if (b.freeCpuMillis < w.cpuMillis || b.freeMemoryMb < w.memoryMb) return 0
  const spareCpu = b.freeCpuMillis > 0 ? (b.freeCpuMillis - w.cpuMillis) / b.freeCpuMillis : 0
  const spareMem = b.freeMemoryMb > 0 ? (b.freeMemoryMb - w.memoryMb) / b.freeMemoryMb : 0
  const fit = opts.capacityWeight * Math.min(spareCpu, spareMem) + opts.reputationWeight * b.reputation
  return Math.max(1, w.priority) * (0.001 + fit)
}

/**
 * Pure: allocates workloads in order of priority (then name); each goes to the
 * highest bid (ties by peer id), whose capacity is then reduced. Workloads no
 * bidder can fit stay unallocated (they wait for capacity).
 */
export function allocate (workloads: readonly WorkloadSpec[], bidders: readonly Bidder[], opts = AUCTION_DEFAULTS): Map<string, string> {
  const remaining = new Map(bidders.map((b) => [b.peer, { ...b }]))
  const order = [...workloads].sort((x, y) => y.priority - x.priority || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
  const out = new Map<string, string>()
  for (const w of order) {
    let best: Bidder | undefined
    let bestBid = 0
    for (const b of remaining.values()) {
      const v = Math.round(bid(w, b, opts) * 1e6) / 1e6
      if (v > bestBid || (v === bestBid && v > 0 && best != null && b.peer < best.peer)) { best = b; bestBid = v }
    }
    if (best == null) continue
    out.set(w.name, best.peer)
    best.freeCpuMillis -= w.cpuMillis
    best.freeMemoryMb -= w.memoryMb
  }
  return out
}
