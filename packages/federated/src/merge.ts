// The deterministic merge: every replica computes the model from the same
// (checkpoint, contribution set, quarantine set) with this one function, in a
// fixed order, so replicas that saw the same set hold bit-identical parameters.
//
// Round by round after the checkpoint: the round's contributions are checked
// against the round's robust reference norm (median of one vote per
// participant, recomputed without the votes it would reject; an anomalous
// norm is rejected), clipped, and aggregated with a sample-weighted
// coordinate-wise trimmed mean added to the model. A node's rounds trained
// against one base version (while cut off) form an offline chain, merged as
// one participant — the sum of its clipped deltas — in the round of its last
// member. (With offlineChains 0: each in its own round with FedAsync
// staleness weight (1 + s)^-a, late ones averaged into the first round after
// the checkpoint.)
import type { DecodedContribution } from './contribution.ts'
import type { RejectReason } from './errors.ts'
import { l2Norm } from './model.ts'
import { foldedHas, type FoldedRounds } from './folded.ts'

export const MERGE_DEFAULTS = {
  /** FedAvg's server step: 1 applies the aggregated delta as is. */
  serverLearningRate: 1,
  /** FedAsync polynomial staleness exponent (with `offlineChains` 0): a contribution 3 rounds stale weighs (1+3)^-0.5 = 0.5. */
  stalenessExponent: 0.5,
  /** Reject an update whose norm exceeds this multiple of the round's robust reference norm (honest norms vary ~2× between non-IID nodes). */
  normRejectFactor: 4,
  /** Clip accepted updates to this multiple of the reference norm, so no single node dominates. */
  clipFactor: 2,
  /** Coordinate-wise trimmed mean: share dropped at each end when a round has ≥ 5 updates (0 = plain weighted mean). */
  trimFraction: 0.1,
  /** Rounds of accepted norms remembered as the reference when a round has too few updates for its own median. */
  normHistoryRounds: 5,
  /**
   * 1: a node's several updates in one round (a returning node's backlog merged late) are first averaged into one
   * participant weighing as its freshest update, so a backlog cannot outvote the round's live participants.
   */
  onePerNode: 1,
  /**
   * 1: a node's contributions trained against the same base version (a node cut off keeps training on its own
   * view: a chain of local rounds, each delta relative to the previous) are merged as ONE participant — the sum
   * of its clipped deltas, i.e. the node's whole offline progress relative to its base — in the round of its
   * last member, weighted by the staleness of that base. 0: each merges in its own round (late ones in the first
   * round after the checkpoint) and a node's several updates in a round are averaged, which shrinks a chain of k
   * rounds to about 1/k of its progress.
   */
  offlineChains: 1,
  /**
   * With `offlineChains`: staleness exponent for each chain member, by how many rounds of the fleet's progress
   * its base lagged when it was trained. 0 (measured, bench/federated): a cut-off node's rounds count in full,
   * as they would have online; FedAsync's 0.5 kept ~0.4 of the backlog and gave ~0.5 points less accuracy.
   */
  chainStalenessExponent: 0,
  /**
   * With `offlineChains`: compaction folds a chain only once all its members are at or before the checkpoint
   * (splitting one would change the model), unless it spans more rounds than this — bounds the history kept for a
   * node whose uplink works but whose downlink does not (its base never advances).
   */
  maxChainRounds: 100,
  /** With `offlineChains`: a chain's summed update is clipped to this multiple of the reference norm × √(members), so a withheld backlog cannot outweigh its rounds. */
  chainClipFactor: 2
} as const

export type MergeOptions = { -readonly [K in keyof typeof MERGE_DEFAULTS]?: number }

export interface MergeBase {
  /** Last round folded into `params` (−1 for the initial model). */
  version: number
  params: Float32Array
  /** Contributions already folded into `params` (folded.ts). */
  folded: FoldedRounds
}

export interface Rejection { id: string, node: string, reason: RejectReason, detail: string }

export interface RoundSummary { round: number, accepted: number, rejected: number, referenceNorm: number }

export interface MergeResult {
  params: Float32Array
  /** Last round merged (the model's version). */
  version: number
  /** Contribution ids merged, in merge order. */
  applied: string[]
  rejected: Rejection[]
  rounds: RoundSummary[]
}

function median (values: number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * The contributions a checkpoint at `version` may fold: rounds ≤ version, except members of an offline chain that
 * continues past `version` (spanning at most `maxChainRounds`), which stay for the chain to merge whole.
 */
export function foldable (contributions: readonly DecodedContribution[], version: number, options: MergeOptions = {}): DecodedContribution[] {
  const o = { ...MERGE_DEFAULTS, ...options }
  const upTo = contributions.filter((c) => c.round <= version)
  if (o.offlineChains !== 1) return upTo
  const last = new Map<string, number>()
  for (const c of contributions) last.set(chainKey(c), Math.max(last.get(chainKey(c)) ?? -1, c.round))
  return upTo.filter((c) => { const end = last.get(chainKey(c))!; return end <= version || end - c.round > o.maxChainRounds })
}

/** Total, deterministic order of contributions: encoded HLC, then id. */
export function contributionOrder (a: DecodedContribution, b: DecodedContribution): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

export function mergeModel (base: MergeBase, contributions: readonly DecodedContribution[], quarantined: ReadonlySet<string>, options: MergeOptions = {}): MergeResult {
  const o = { ...MERGE_DEFAULTS, ...options }
  const params = base.params.slice()
  const applied: string[] = []
  const rejected: Rejection[] = []
  const rounds: RoundSummary[] = []
  // Late contributions (trained before the checkpoint but not folded into it) join the first round after it.
  const byRound = new Map<number, DecodedContribution[]>()
  const valid: DecodedContribution[] = []
  for (const c of contributions) {
    if (foldedHas(base.folded, c.id)) continue
    if (quarantined.has(c.id)) {
      rejected.push({ id: c.id, node: c.node, reason: 'quarantined', detail: 'quarantined by a canary rollback' })
      continue
    }
    if (c.length !== params.length) {
      rejected.push({ id: c.id, node: c.node, reason: 'shape', detail: `${c.length} parameters, model has ${params.length}` })
      continue
    }
    valid.push(c)
  }
  // A chain (one node, one base version) is placed in the round of its last member; with chains off, every
  // contribution in its own round. Either way nothing lands before the first round after the checkpoint.
  const chainRound = new Map<string, number>()
  if (o.offlineChains === 1) for (const c of valid) chainRound.set(chainKey(c), Math.max(chainRound.get(chainKey(c)) ?? -1, c.round))
  for (const c of valid) {
    const r = Math.max(o.offlineChains === 1 ? chainRound.get(chainKey(c))! : c.round, base.version + 1)
    let list = byRound.get(r)
    if (list === undefined) { list = []; byRound.set(r, list) }
    list.push(c)
  }
  const order = [...byRound.keys()].sort((a, b) => a - b)
  const normHistory: number[] = []
  let version = base.version
  for (const r of order) {
    const cs = byRound.get(r)!.sort(contributionOrder)
    const norms = cs.map((c) => l2Norm(c.values))
    // One vote per participant: with chains, a chain's median member norm (a long backlog must not set the reference it is checked against).
    const votes = o.offlineChains === 1 ? chainMedians(cs, norms) : norms
    const rough = votes.length >= 3 ? median(votes) : (normHistory.length > 0 ? median(normHistory) : median(votes))
    // Second pass without the votes the first would reject: an attacker's norm does not move the honest reference.
    const honestVotes = votes.filter((v) => !(rough > 0 && v > o.normRejectFactor * rough))
    const reference = votes.length >= 3 && honestVotes.length >= 3 ? median(honestVotes) : rough
    const accepted: Accepted[] = []
    cs.forEach((c, i) => {
      const norm = norms[i]!
      if (reference > 0 && norm > o.normRejectFactor * reference) {
        rejected.push({ id: c.id, node: c.node, reason: 'norm', detail: `update norm ${norm.toFixed(3)} is ${(norm / reference).toFixed(1)}× the round's reference ${reference.toFixed(3)}` })
        return
      }
      const limit = o.clipFactor * reference
      const scale = reference > 0 && norm > limit ? limit / norm : 1
      const staleness = Math.max(0, r - 1 - c.baseVersion)
      const weight = c.samples * Math.pow(1 + staleness, -o.stalenessExponent)
      accepted.push({ c, scale, weight, memberWeight: Math.pow(1 + Math.max(0, c.round - 1 - c.baseVersion), -o.chainStalenessExponent) })
    })
    rounds.push({ round: r, accepted: accepted.length, rejected: cs.length - accepted.length, referenceNorm: reference })
    if (accepted.length === 0) continue
    for (const a of accepted) normHistory.push(norms[cs.indexOf(a.c)]! * a.scale)
    while (normHistory.length > o.normHistoryRounds * 8) normHistory.shift()
    const participants = o.offlineChains === 1
      ? chains(accepted, o.chainClipFactor * reference)
      : accepted.map((a) => ({ node: a.c.node, values: a.c.values, scale: a.scale, weight: a.weight }))
    aggregateInto(params, o.onePerNode === 1 ? perNode(participants) : participants, o.trimFraction, o.serverLearningRate)
    for (const a of accepted) applied.push(a.c.id)
    version = r
  }
  return { params, version, applied, rejected, rounds }
}

interface Participant { node: string, values: Float32Array, scale: number, weight: number }

interface Accepted { c: DecodedContribution, scale: number, weight: number, memberWeight: number }

function chainMedians (cs: DecodedContribution[], norms: number[]): number[] {
  const byChain = new Map<string, number[]>()
  cs.forEach((c, i) => { const list = byChain.get(chainKey(c)); if (list === undefined) byChain.set(chainKey(c), [norms[i]!]); else list.push(norms[i]!) })
  return [...byChain.values()].map(median)
}

const chainKey = (c: DecodedContribution): string => `${c.node}\u0000${c.baseVersion}`

/**
 * One participant per (node, base version). A chain of several members: each member's clipped delta times its
 * member weight (staleness when trained, `chainStalenessExponent`), summed in merge order in float64; the sum
 * clipped to `clip` × √(members); the participant weighs its members' mean samples, so a node's k offline rounds
 * move the model about as much as k online rounds would have.
 */
function chains (accepted: Accepted[], clip: number): Participant[] {
  const byChain = new Map<string, Accepted[]>()
  for (const a of accepted) {
    const list = byChain.get(chainKey(a.c))
    if (list === undefined) byChain.set(chainKey(a.c), [a])
    else list.push(a)
  }
  const out: Participant[] = []
  for (const list of byChain.values()) {
    const first = list[0]!
    if (list.length === 1) { out.push({ node: first.c.node, values: first.c.values, scale: first.scale * first.memberWeight, weight: first.c.samples }); continue }
    const sum = new Float64Array(first.c.values.length)
    let samples = 0
    for (const a of list) {
      const k = a.scale * a.memberWeight
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + k * a.c.values[i]!
      samples += a.c.samples
    }
    let norm = 0
    for (let i = 0; i < sum.length; i++) norm += sum[i]! * sum[i]!
    norm = Math.sqrt(norm)
    const limit = clip * Math.sqrt(list.length)
    const scale = clip > 0 && norm > limit ? limit / norm : 1
    out.push({ node: first.c.node, values: Float32Array.from(sum), scale, weight: samples / list.length })
  }
  return out
}

/** Folds each node's participants of one round into one (in merge order: deterministic). */
function perNode (participants: Participant[]): Participant[] {
  const byNode = new Map<string, Participant[]>()
  for (const a of participants) {
    const list = byNode.get(a.node)
    if (list === undefined) byNode.set(a.node, [a])
    else list.push(a)
  }
  const out: Participant[] = []
  for (const list of byNode.values()) {
    if (list.length === 1) { out.push(list[0]!); continue }
    let total = 0
    let top = 0
    for (const a of list) { total += a.weight; top = Math.max(top, a.weight) }
    const values = new Float32Array(list[0]!.values.length)
    for (let i = 0; i < values.length; i++) {
      let s = 0
      for (const a of list) s += a.weight * a.scale * a.values[i]!
      values[i] = s / total
    }
    out.push({ node: list[0]!.node, values, scale: 1, weight: top })
  }
  return out
}

function aggregateInto (params: Float32Array, accepted: Participant[], trimFraction: number, lr: number): void {
  const n = accepted.length
  const trim = n >= 5 ? Math.floor(n * trimFraction) : 0
  if (trim === 0) {
    let total = 0
    for (const a of accepted) total += a.weight
    for (let i = 0; i < params.length; i++) {
      let s = 0
      for (const a of accepted) s += a.weight * a.scale * a.values[i]!
      params[i] = params[i]! + lr * (s / total)
    }
    return
  }
  const vals = new Float64Array(n)
  const idx = Array.from({ length: n }, (_, k) => k)
  for (let i = 0; i < params.length; i++) {
    for (let k = 0; k < n; k++) vals[k] = accepted[k]!.scale * accepted[k]!.values[i]!
    // Stable sort by value, ties by position: deterministic.
    idx.sort((a, b) => (vals[a]! - vals[b]!) || (a - b))
    let s = 0
    let w = 0
    for (let k = trim; k < n - trim; k++) {
      const j = idx[k]!
      s += accepted[j]!.weight * vals[j]!
      w += accepted[j]!.weight
    }
    params[i] = params[i]! + lr * (s / w)
  }
}
