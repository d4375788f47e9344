// The contributions a checkpoint has folded, cumulatively since the initial
// model, as per-node runs of rounds: `{ "edge-1": [[0, 41], [57, 80]] }`.
//
// A checkpoint must name every contribution already inside its parameters
// that may still be in the document: an owner deletes its folded
// contributions only once it sees a checkpoint naming them, and an owner
// that is away misses any number of checkpoints. Listing only the ids of the
// last compaction step counted those contributions again in the next model.
// Ids are `<node>/<round>` (one contribution per node and round), and a node's
// rounds fold mostly in order, so the runs stay few: one per node, plus one per
// gap (rounds skipped while the node was down, chains folded later).
import { z } from 'zod'

/** node → sorted, disjoint, non-adjacent inclusive runs of rounds. Canonical: equal sets have equal JSON. */
export type FoldedRounds = Readonly<Record<string, ReadonlyArray<readonly [number, number]>>>

export const EMPTY_FOLDED: FoldedRounds = Object.freeze(Object.create(null) as Record<string, never>)

/** Bounds of a checkpoint's folded runs read from the network or disk. */
export const FOLDED_LIMITS = {
  /** Nodes that ever contributed (LIMITS-style cap on a hostile header). */
  maxNodes: 100_000,
  /** Runs in all: one per node plus one per gap. */
  maxRuns: 1_000_000
} as const

const run = z.tuple([z.number().int().min(0).max(1e9), z.number().int().min(0).max(1e9)])
/** The wire form: `[[node, [[from, to], …]], …]`, nodes sorted. Entries, not an object: a node may be named `__proto__`. */
export const foldedEntriesSchema = z.array(z.tuple([z.string().min(1).max(300), z.array(run).max(FOLDED_LIMITS.maxRuns)])).max(FOLDED_LIMITS.maxNodes)
  .refine((f) => f.reduce((n, [, runs]) => n + runs.length, 0) <= FOLDED_LIMITS.maxRuns, { message: `more than ${FOLDED_LIMITS.maxRuns} runs` })

export type FoldedEntries = Array<[string, Array<[number, number]>]>

/** Canonical wire form (what checkpoints store and hash). */
export function foldedEntries (folded: FoldedRounds): FoldedEntries {
  return Object.keys(folded).sort().map((node) => [node, folded[node]!.map(([a, b]): [number, number] => [a, b])])
}

/** From the wire form; throws RangeError on a reversed run or a node listed twice. */
export function foldedFromEntries (entries: ReadonlyArray<readonly [string, ReadonlyArray<readonly [number, number]>]>): FoldedRounds {
  const raw: Record<string, ReadonlyArray<readonly [number, number]>> = Object.create(null)
  for (const [node, runs] of entries) {
    if (Object.hasOwn(raw, node)) throw new RangeError(`node ${node} is listed twice`)
    raw[node] = runs
  }
  return canonicalFolded(raw)
}

/** `<node>/<round>` → [node, round], or undefined for an id that is not a contribution id. */
export function parseContributionId (id: string): [string, number] | undefined {
  const i = id.lastIndexOf('/')
  if (i <= 0) return undefined
  const round = Number(id.slice(i + 1))
  return Number.isInteger(round) && round >= 0 && String(round) === id.slice(i + 1) ? [id.slice(0, i), round] : undefined
}

/** Pure: `folded` plus `ids` (ids that are not contribution ids are ignored: they could never be stored). */
export function foldedWith (folded: FoldedRounds, ids: Iterable<string>): FoldedRounds {
  const added = new Map<string, Array<readonly [number, number]>>()
  for (const id of ids) {
    const p = parseContributionId(id)
    if (p === undefined) continue
    let list = added.get(p[0])
    if (list === undefined) { list = []; added.set(p[0], list) }
    list.push([p[1], p[1]])
  }
  if (added.size === 0) return folded
  const raw: Record<string, ReadonlyArray<readonly [number, number]>> = Object.assign(Object.create(null) as Record<string, never>, folded)
  for (const [node, list] of added) raw[node] = [...(Object.hasOwn(folded, node) ? folded[node]! : []), ...list]
  return canonicalFolded(raw)
}

/** Whether contribution `id` is folded. Binary search over the node's runs. */
export function foldedHas (folded: FoldedRounds, id: string): boolean {
  const p = parseContributionId(id)
  if (p === undefined) return false
  const runs = Object.hasOwn(folded, p[0]) ? folded[p[0]]! : undefined
  if (runs === undefined) return false
  let lo = 0
  let hi = runs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const [a, b] = runs[mid]!
    if (p[1] < a) hi = mid - 1
    else if (p[1] > b) lo = mid + 1
    else return true
  }
  return false
}

/** Contributions folded (rounds counted over every run). */
export function foldedCount (folded: FoldedRounds): number {
  let n = 0
  for (const runs of Object.values(folded)) for (const [a, b] of runs) n += b - a + 1
  return n
}

/** Runs in all (what a checkpoint header stores). */
export function foldedRuns (folded: FoldedRounds): number {
  let n = 0
  for (const runs of Object.values(folded)) n += runs.length
  return n
}

/** Canonical form of a parsed header value (sorted nodes and runs, joined where they touch); throws on a run with from > to. */
export function canonicalFolded (raw: Record<string, ReadonlyArray<readonly [number, number]>>): FoldedRounds {
  // Null prototype: a node may be named "__proto__".
  const out: Record<string, ReadonlyArray<readonly [number, number]>> = Object.create(null)
  for (const node of Object.keys(raw).sort()) {
    const runs = [...raw[node]!].sort((x, y) => x[0] - y[0])
    const joined: Array<readonly [number, number]> = []
    for (const [a, b] of runs) {
      if (a > b) throw new RangeError(`folded run [${a}, ${b}] of ${node} is reversed`)
      const last = joined[joined.length - 1]
      if (last !== undefined && a <= last[1] + 1) joined[joined.length - 1] = [last[0], Math.max(last[1], b)]
      else joined.push([a, b])
    }
    if (joined.length > 0) out[node] = joined
  }
  return out
}
