// Beta reputation with time decay (Jøsang & Ismail 2002). Each peer publishes
// its own direct observations of others as decayed (a, b) counts under its own
// key `<reporter>/<subject>`. A replica combines every report, weighted by the
// reporter's trust; a reporter whose reports disagree with what the others
// directly observed loses credibility, and its own reputation is scaled by it.
// Scores feed the mesh's application score; bad input lowers it further.
import type { Mesh } from '@homeostat/mesh'
import type * as Y from 'yjs'
import type { ReplicatedDoc } from './replicated-doc.ts'
import { every, realTimers, type Timers } from './timers.ts'

export const REPUTATION_DEFAULTS = {
  /** Evidence loses half its weight in this time: a peer that misbehaved an hour ago is mostly forgiven. */
  halfLifeMs: 30 * 60_000,
  /** How often our observations are written to the shared document (coalesced). */
  publishIntervalMs: 5000,
  /** Scores and app scores are recomputed this often. */
  recomputeIntervalMs: 2000,
  /** Below this a peer is quarantined (not trusted to host workloads, its reports ignored). */
  quarantineBelow: 0.3,
  /** Evidence (a + b, decayed) needed before anybody can be quarantined. */
  minEvidence: 3,
  /** Mesh app score = scale × (2·score − 1) − penalty: ±10 keeps a bad peer out of the gossip mesh only together with invalid-message penalties. */
  appScoreScale: 10,
  /** A quarantined peer's app score drops this much further. Gossipsub adds topic bonuses of up to
   * 13 per topic (first deliveries 0.5 × cap 20, time in mesh 0.01 × 300 s), which can outweigh the
   * ±10 reputation span: a chatty distrusted peer would otherwise outrank honest ones in mesh
   * selection. −20 puts it below the gossip threshold (−10: no IHAVE/IWANT with it) but above
   * the publish threshold (−50), so its messages, including its own heartbeats, still flow. */
  quarantineAppPenalty: 20,
  /** Penalty per rejected input (decays with penaltyHalfLifeMs). */
  rejectPenalty: 2,
  penaltyHalfLifeMs: 10 * 60_000,
  /** Subjects one reporter may report on; more are dropped (bounds the document). */
  maxSubjectsPerReporter: 256,
  /** Each locally seen death (decayed) lowers our own view of a peer by this fraction, at most by half. */
  livenessPenalty: 0.1,
  /** Disagreement → credibility: credibility = max(0, 1 − k·disagreement). */
  disagreementGain: 2
} as const

export interface Report { a: number, b: number, atMs: number }

export interface ReputationEntry {
  peer: string
  score: number
  /** Decayed evidence behind the score. */
  evidence: number
  /** How much the peer's own reports agree with others' direct observations, in [0,1]. */
  credibility: number
  quarantined: boolean
}

const decay = (halfLifeMs: number, dtMs: number): number => Math.pow(0.5, Math.max(0, dtMs) / halfLifeMs)

/** Evidence one report can carry: a chatty reporter cannot outvote many quiet ones. */
const MAX_REPORT_EVIDENCE = 20
/** Rounds of credibility re-estimation (iterative filtering converges in a few). */
const CREDIBILITY_ROUNDS = 4

/**
 * Pure: scores every peer from `reports` (reporter → subject → decayed counts).
 * Credibility is found by iterative filtering: each reporter's expectation of
 * each subject is compared with the credibility-weighted consensus of the
 * other reporters; a reporter that disagrees loses credibility, which lowers
 * its weight in the next round. Scores pool the (capped) counts weighted by
 * trust = credibility × min(1, 2·score), and a peer's own score is scaled by
 * its credibility: lying costs reputation.
 */
export function computeReputation (reports: ReadonlyMap<string, ReadonlyMap<string, Report>>, nowMs: number, opts: { halfLifeMs: number, quarantineBelow: number, minEvidence: number, disagreementGain: number }): Map<string, ReputationEntry> {
  const peers = new Set<string>()
  interface Obs { r: string, s: string, a: number, b: number, n: number, e: number }
  const obs: Obs[] = []
  for (const [r, subs] of reports) {
    peers.add(r)
    for (const [s, rep] of subs) {
      peers.add(s)
      if (s === r) continue // self-reports do not count
      const f = decay(opts.halfLifeMs, nowMs - rep.atMs)
      let a = rep.a * f; let b = rep.b * f
      const n0 = a + b
      if (!(n0 > 0)) continue
      if (n0 > MAX_REPORT_EVIDENCE) { a *= MAX_REPORT_EVIDENCE / n0; b *= MAX_REPORT_EVIDENCE / n0 }
      obs.push({ r, s, a, b, n: Math.min(n0, MAX_REPORT_EVIDENCE), e: (a + 1) / (a + b + 2) })
    }
  }
  const cred = new Map<string, number>()
  const credOf = (r: string): number => cred.get(r) ?? 1
  for (let round = 0; round < CREDIBILITY_ROUNDS; round++) {
    const W = new Map<string, number>(); const E = new Map<string, number>()
    for (const x of obs) {
      const w = credOf(x.r) * x.n
      W.set(x.s, (W.get(x.s) ?? 0) + w)
      E.set(x.s, (E.get(x.s) ?? 0) + w * x.e)
    }
    const num = new Map<string, number>(); const den = new Map<string, number>()
    for (const x of obs) {
      const w = credOf(x.r) * x.n
      const ow = W.get(x.s)! - w
      if (ow < 0.5) continue // nobody else credible observed it: no contradiction possible
      const others = (E.get(x.s)! - w * x.e) / ow
      num.set(x.r, (num.get(x.r) ?? 0) + x.n * Math.abs(x.e - others))
      den.set(x.r, (den.get(x.r) ?? 0) + x.n)
    }
    const next = new Map<string, number>()
    for (const r of reports.keys()) {
      const d = den.get(r) ?? 0
      next.set(r, d > 0 ? Math.max(0, 1 - opts.disagreementGain * (num.get(r)! / d)) : 1)
    }
    cred.clear()
    for (const [k, v] of next) cred.set(k, v)
  }
  const pool = (weight: (r: string) => number): Map<string, { a: number, b: number }> => {
    const acc = new Map<string, { a: number, b: number }>()
    for (const x of obs) {
      const w = weight(x.r)
      if (w <= 0) continue
      const v = acc.get(x.s) ?? { a: 0, b: 0 }
      v.a += w * x.a; v.b += w * x.b
      acc.set(x.s, v)
    }
    return acc
  }
  const score = (x: { a: number, b: number } | undefined): number => ((x?.a ?? 0) + 1) / ((x?.a ?? 0) + (x?.b ?? 0) + 2)
  const p1 = pool(credOf)
  const p2 = pool((r) => credOf(r) * Math.min(1, 2 * score(p1.get(r)) * credOf(r)))
  const out = new Map<string, ReputationEntry>()
  for (const peer of peers) {
    const x = p2.get(peer)
    const c = credOf(peer)
    const sc = score(x) * c
    const evidence = (x?.a ?? 0) + (x?.b ?? 0)
    out.set(peer, { peer, score: sc, evidence, credibility: c, quarantined: sc < opts.quarantineBelow && (evidence >= opts.minEvidence || c < 0.5) })
  }
  return out
}

export interface Reputation {
  /** Records our own direct observation of `peer` (a probe, a verified outcome). */
  observe: (peer: string, success: boolean, weight?: number) => void
  /** Lowers `peer`'s app score locally for bad input (not replicated). */
  penalize: (peer: string, amount?: number) => void
  /** Our view: the shared score dented by deaths we saw ourselves; 0.5 with no evidence. */
  score: (peer: string) => number
  /** The score every replica computes alike from the shared reports (used for bids). */
  sharedScore: (peer: string) => number
  entry: (peer: string) => ReputationEntry | undefined
  all: () => ReputationEntry[]
  isQuarantined: (peer: string) => boolean
  /** Recomputes now and pushes app scores to the mesh. */
  refresh: () => void
  /** Writes pending observations to the shared document now. */
  flush: () => void
  stop: () => void
}

export interface ReputationOptions extends Partial<typeof REPUTATION_DEFAULTS> {
  rdoc: ReplicatedDoc
  mesh: Mesh
  now?: () => number
  timers?: Timers
  /** Count a liveness death as a failed observation (default true). */
  observeLiveness?: boolean
}

export function createReputation (options: ReputationOptions): Reputation {
  const o = { ...REPUTATION_DEFAULTS, ...options }
  const { rdoc, mesh } = options
  const me = mesh.peerId
  const now = options.now ?? Date.now
  const timers = options.timers ?? realTimers
  const reportsMap: Y.Map<Report> = rdoc.map<Report>('reports')
  const mine = new Map<string, Report>()
  for (const [k, v] of reportsMap.entries()) if (k.startsWith(`${me}/`)) mine.set(k.slice(me.length + 1), { ...v })
  const dirty = new Set<string>()
  const penalties = new Map<string, { p: number, atMs: number }>()
  let cache: Map<string, ReputationEntry> | undefined
  let cacheAtMs = -Infinity
  const invalidate = (): void => { cache = undefined }
  reportsMap.observe(invalidate)
  const unobserve = (): void => reportsMap.unobserve(invalidate)

  const collect = (): Map<string, Map<string, Report>> => {
    const out = new Map<string, Map<string, Report>>()
    for (const [k, v] of reportsMap.entries()) {
      const i = k.indexOf('/')
      if (i <= 0 || v == null || typeof v !== 'object' || !(v.a >= 0) || !(v.b >= 0) || !Number.isFinite(v.atMs)) continue
      const r = k.slice(0, i); const s = k.slice(i + 1)
      let m = out.get(r)
      if (m == null) { m = new Map(); out.set(r, m) }
      m.set(s, v)
    }
    return out
  }
  const compute = (): Map<string, ReputationEntry> => {
    const t = now()
    if (cache == null || t - cacheAtMs > o.recomputeIntervalMs) {
      cache = computeReputation(collect(), t, o)
      cacheAtMs = t
    }
    return cache
  }
  const penaltyOf = (peer: string): number => {
    const p = penalties.get(peer)
    return p == null ? 0 : p.p * decay(o.penaltyHalfLifeMs, now() - p.atMs)
  }
  /** Mesh app score: our view of the peer on ±appScoreScale, less rejected-input penalties and the quarantine penalty. */
  const appScoreOf = (peer: string, e: ReputationEntry | undefined): number =>
    o.appScoreScale * (2 * local(peer, e?.score ?? 0.5) - 1) - penaltyOf(peer) - (e?.quarantined === true ? o.quarantineAppPenalty : 0)
  const pushScores = (): void => {
    const all = compute()
    const peers = new Set([...all.keys(), ...penalties.keys()])
    for (const peer of peers) {
      if (peer === me) continue
      mesh.setAppScore(peer, appScoreOf(peer, all.get(peer)))
    }
  }
  const flush = (): void => {
    if (dirty.size === 0) return
    rdoc.doc.transact(() => {
      for (const s of dirty) { const r = mine.get(s); if (r != null) reportsMap.set(`${me}/${s}`, { ...r }) }
    })
    dirty.clear()
  }
  const stopPublish = every(timers, o.publishIntervalMs, flush)
  const stopRecompute = every(timers, o.recomputeIntervalMs, pushScores)
  // Liveness deaths stay local (a partition makes half the fleet look dead to the
  // other half: publishing that would put O(N²) reports in the shared document)
  // and only dent our own view of a peer; bids use the shared score alone.
  const deaths = new Map<string, { n: number, atMs: number }>()
  const deathsOf = (peer: string): number => {
    const d = deaths.get(peer)
    return d == null ? 0 : d.n * decay(o.halfLifeMs, now() - d.atMs)
  }
  const unLive = (options.observeLiveness ?? true)
    ? rdoc.onLiveness((e) => {
      if (e.state !== 'dead' || e.peer === me) return
      if (!deaths.has(e.peer) && deaths.size >= o.maxSubjectsPerReporter) return
      deaths.set(e.peer, { n: deathsOf(e.peer) + 1, atMs: now() })
    })
    : () => {}
  const local = (peer: string, shared: number): number => shared * (1 - Math.min(0.5, o.livenessPenalty * deathsOf(peer)))

  const api: Reputation = {
    observe (peer, success, weight = 1) {
      if (peer === me || !(weight > 0)) return
      let r = mine.get(peer)
      const t = now()
      if (r == null) {
        if (mine.size >= o.maxSubjectsPerReporter) return
        r = { a: 0, b: 0, atMs: t }
        mine.set(peer, r)
      }
      const f = decay(o.halfLifeMs, t - r.atMs)
      r.a = r.a * f + (success ? weight : 0)
      r.b = r.b * f + (success ? 0 : weight)
      r.atMs = t
      dirty.add(peer)
    },
    penalize (peer, amount = o.rejectPenalty) {
      penalties.set(peer, { p: penaltyOf(peer) + amount, atMs: now() })
      mesh.setAppScore(peer, appScoreOf(peer, compute().get(peer)))
    },
    score: (peer) => local(peer, compute().get(peer)?.score ?? 0.5),
    sharedScore: (peer) => compute().get(peer)?.score ?? 0.5,
    entry: (peer) => compute().get(peer),
    all: () => [...compute().values()].sort((x, y) => x.score - y.score || (x.peer < y.peer ? -1 : 1)),
    isQuarantined: (peer) => compute().get(peer)?.quarantined ?? false,
    refresh () { cache = undefined; pushScores() },
    flush,
    stop () { stopPublish(); stopRecompute(); unLive(); unobserve() }
  }
  return api
}
