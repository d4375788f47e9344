// The deterministic merge: every replica computes the model from the same
// (checkpoint, contribution set, quarantine set) with this one function, in a
// fixed order, so replicas that saw the same set hold bit-identical parameters.
//
// Round by round after the checkpoint: the round's contributions are checked
// against the round's median update norm (an anomalous norm is rejected),
// clipped, weighted by samples × staleness (FedAsync's polynomial
// (1 + s)^-a, s = rounds since the contributor last synced), aggregated with a
// coordinate-wise trimmed mean, and added to the model.
import type { DecodedContribution } from './contribution.ts'
import type { RejectReason } from './errors.ts'
import { l2Norm } from './model.ts'

export const MERGE_DEFAULTS = {
  /** FedAvg's server step: 1 applies the aggregated delta as is. */
  serverLearningRate: 1,
  /** FedAsync polynomial staleness exponent: a contribution 3 rounds stale weighs (1+3)^-0.5 = 0.5. */
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
  onePerNode: 1
} as const

export type MergeOptions = { -readonly [K in keyof typeof MERGE_DEFAULTS]?: number }

export interface MergeBase {
  /** Last round folded into `params` (−1 for the initial model). */
  version: number
  params: Float32Array
  /** Contribution ids already folded into `params`. */
  folded: ReadonlySet<string>
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
  for (const c of contributions) {
    if (base.folded.has(c.id)) continue
    if (quarantined.has(c.id)) {
      rejected.push({ id: c.id, node: c.node, reason: 'quarantined', detail: 'quarantined by a canary rollback' })
      continue
    }
    if (c.length !== params.length) {
      rejected.push({ id: c.id, node: c.node, reason: 'shape', detail: `${c.length} parameters, model has ${params.length}` })
      continue
    }
    const r = Math.max(c.round, base.version + 1)
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
    const reference = cs.length >= 3 ? median(norms) : (normHistory.length > 0 ? median(normHistory) : median(norms))
    const accepted: Array<{ c: DecodedContribution, scale: number, weight: number }> = []
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
      accepted.push({ c, scale, weight })
    })
    rounds.push({ round: r, accepted: accepted.length, rejected: cs.length - accepted.length, referenceNorm: reference })
    if (accepted.length === 0) continue
    for (const a of accepted) normHistory.push(norms[cs.indexOf(a.c)]! * a.scale)
    while (normHistory.length > o.normHistoryRounds * 8) normHistory.shift()
    aggregateInto(params, o.onePerNode === 1 ? perNode(accepted) : accepted.map((a) => ({ values: a.c.values, scale: a.scale, weight: a.weight })), o.trimFraction, o.serverLearningRate)
    for (const a of accepted) applied.push(a.c.id)
    version = r
  }
  return { params, version, applied, rejected, rounds }
}

interface Participant { values: Float32Array, scale: number, weight: number }

/** Folds each node's updates of one round into one participant (in merge order: deterministic). */
function perNode (accepted: Array<{ c: DecodedContribution, scale: number, weight: number }>): Participant[] {
  const byNode = new Map<string, Array<{ c: DecodedContribution, scale: number, weight: number }>>()
  for (const a of accepted) {
    const list = byNode.get(a.c.node)
    if (list === undefined) byNode.set(a.c.node, [a])
    else list.push(a)
  }
  const out: Participant[] = []
  for (const list of byNode.values()) {
    if (list.length === 1) { out.push({ values: list[0]!.c.values, scale: list[0]!.scale, weight: list[0]!.weight }); continue }
    let total = 0
    let top = 0
    for (const a of list) { total += a.weight; top = Math.max(top, a.weight) }
    const values = new Float32Array(list[0]!.c.values.length)
    for (let i = 0; i < values.length; i++) {
      let s = 0
      for (const a of list) s += a.weight * a.scale * a.c.values[i]!
      values[i] = s / total
    }
    out.push({ values, scale: 1, weight: top })
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
