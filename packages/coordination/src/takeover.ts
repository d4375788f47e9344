// Workload takeover. A relocatable workload is owned under an assignment
// (`assign` map, key `<owner>/<workload>`, with an epoch). The current owner is
// the best running assignment whose owner is alive in our view (highest epoch,
// then earliest HLC, then peer id). When no alive owner remains, every
// survivor runs the same sealed-bid allocation (auction.ts) over the alive
// peers' published capacity and reputation; the winner claims
// `workload:<name>` in the registry, re-checks, writes epoch+1 and starts it.
// When a partition heals, a node that sees a better alive assignment than its
// own stops its copy: exactly one keeps running. Coordination never spawns
// processes: the agent's onStart/onStop callbacks do.
import { encode as encodeHlc, type Hlc } from '@homeostat/hlc'
import { isDefinitiveDeath } from '@homeostat/interface'
import type * as Y from 'yjs'
import { allocate, AUCTION_DEFAULTS, type Bidder, type WorkloadSpec } from './auction.ts'
import type { Registry } from './registry.ts'
import type { ReplicatedDoc } from './replicated-doc.ts'
import type { Reputation } from './reputation.ts'
import { every, realTimers, type Timers } from './timers.ts'
import type { TuningOverrides } from '@homeostat/interface'

export const TAKEOVER_DEFAULTS = {
  /** Periodic re-evaluation besides change and liveness events. */
  reconcileIntervalMs: 1000,
  /** Changes are coalesced this long before reconciling (one pass per burst). */
  debounceMs: 20,
  /** Cooldown of the `workload:<name>` claim after a takeover: stops a second claimant racing in behind. */
  claimCooldownMs: 2000,
  /** Lease of the takeover claim (start callback included). */
  claimLeaseMs: 10_000,
  /** Workloads tracked; declarations over this are refused. */
  maxWorkloads: 1000,
  /** Reputation is quantised to this step for bids so replicas with slightly different decay agree. */
  reputationStep: 0.1,
  /** Before taking over, the owner we replace is asked directly (one catch-up request, this timeout):
   * after a heal our liveness view can lag seconds behind the network, and an owner that answers is
   * not dead. A killed owner's host refuses at once, so this costs nothing after a crash; a cut-off
   * owner costs this much extra takeover time. 0 disables the check. */
  verifyOwnerTimeoutMs: 1500,
  /** After the owner answered, this replica leaves that workload alone this long: our liveness view is
   * stale and will catch up; retrying every reconcile would only add claims and requests to a heal. */
  ownerAnsweredHoldMs: 5000,
  /** After a witness did not see the owner dead (ownerNotDeadToWitness), look again this soon: right
   * after a cut some witnesses have not concluded yet, and a real orphan must not wait ownerAnsweredHoldMs. */
  witnessHoldMs: 1000,
  /** After a heal sign (a peer we had lost is back), an owner that went silent *before* it (suspicion
   * timeout, not a refused redial) may be on the far side of the cut that just healed: its copy may
   * still run. Leave its workloads alone this long after the latest heal sign, so liveness catches up
   * and the merged registry shows the copy (a reconnection storm can also make the owner check time
   * out: that was the last source of a duplicate after a heal). An owner whose host refused our
   * redial (a crash) is replaced at once. Every later heal sign (another peer back) restarts this
   * window: a fleet that is still reconnecting has not finished healing. */
  healGraceMs: 4000,
  /** ...but the grace ends this long after the first heal sign whatever happens: peers flapping under
   * load must not keep a dead owner's workload orphaned for ever. 20 agents on 2 cores took 10-15 s
   * to reconnect after a cut (each connection ~150 ms of CPU); one agent per machine takes ~1 s. */
  healGraceMaxMs: 15_000
} as const

/**
 * Whether the heal grace still holds at `nowMs`: it opened at the first heal sign after the owner's
 * death (`firstSignMs`), lasts `healGraceMs` after the latest sign (`lastSignMs`: peers still coming
 * back, the heal is in progress) and closes `healGraceMaxMs` after the first, whatever happens.
 */
export function healGraceOpen (nowMs: number, firstSignMs: number, lastSignMs: number, t: { healGraceMs: number, healGraceMaxMs: number }): boolean {
  return nowMs - Math.max(firstSignMs, lastSignMs) < t.healGraceMs && nowMs - firstSignMs < t.healGraceMaxMs
}

/** Dead peers whose death we remember for healGraceMs (bounded memory; beyond it we start over,
 * which at worst skips one grace period). As replicated-doc's maxTrackedPeers. */
const MAX_TRACKED_DEATHS = 4096

export interface Assignment {
  name: string
  owner: string
  epoch: number
  hlc: string
  state: 'running' | 'stopped'
}

export interface DeclaredSpec extends WorkloadSpec { declarer: string, hlc: string }
export interface Capacity {
  cpuMillis: number
  memoryMb: number
  atMs: number
  /** The relocatable workloads this peer can host (it has their configuration); absent: any. */
  workloads?: string[]
}
export type StopReason = 'duplicate' | 'released'

export interface TakeoverStats {
  takeovers: number
  duplicatesStopped: number
  claimsLost: number
  startFailures: number
  /** Takeovers abandoned because the owner we were replacing answered (it only looked dead from here). */
  ownerAnswered: number
  /** Reconcile passes that left an orphan alone for healGraceMs (its owner may be back from a cut). */
  heldAfterHeal: number
  /** Takeovers abandoned because a witness still saw the owner alive or only suspected it (our view lagged a heal, or a starved peer was declared dead too early). */
  ownerNotDeadToWitness: number
}

export interface Takeover {
  /**
   * Declares a relocatable workload that this agent starts now (unless someone already owns it).
   * `claim: true` takes the registry claim `workload:<name>` first, so that several agents declaring
   * the same workload at once (a fleet booting together) start one copy between them, not one each
   * until the duplicates are noticed; it costs one claim round (settle + one pull fan-out). A loser
   * looks again after claimLeaseMs in case the winner died before declaring.
   */
  declare: (spec: WorkloadSpec, opts?: { claim?: boolean }) => Promise<void>
  /** Publishes our free capacity (what we can still host) and, optionally, which workloads we can host. */
  setCapacity: (c: { cpuMillis: number, memoryMb: number, workloads?: readonly string[] }) => void
  /**
   * Hands every workload running here back to the fleet before this agent stops: stops each local
   * copy, marks its assignment stopped and withdraws our capacity, so survivors take the workloads
   * over at once instead of waiting for the mesh to declare us dead. Takes nothing afterwards.
   */
  leave: () => Promise<void>
  /**
   * Hands one workload back (e.g. it keeps failing here): stops the local copy, marks our
   * assignment stopped, and this agent no longer bids for it, so another peer takes it over.
   */
  release: (name: string) => Promise<void>
  /**
   * Undoes a hand-back (`release`, or a start that failed here): the cause was fixed (an operator
   * lifted the quarantine), so this agent offers to host the workload again and bids for it when it
   * is orphaned. A copy running elsewhere keeps running there. Returns false if it was not handed back.
   */
  reinstate: (name: string) => boolean
  owner: (name: string) => Assignment | undefined
  /** Workloads running here. */
  running: () => string[]
  specs: () => DeclaredSpec[]
  /** Runs one reconciliation pass now. */
  reconcile: () => Promise<void>
  stop: () => void
  stats: () => TakeoverStats
}

export interface TakeoverOptions extends TuningOverrides<typeof TAKEOVER_DEFAULTS> {
  rdoc: ReplicatedDoc
  registry: Registry
  reputation: Reputation
  hlc: Hlc
  now?: () => number
  timers?: Timers
  onStart: (spec: WorkloadSpec) => Promise<void> | void
  onStop: (name: string, reason: StopReason) => Promise<void> | void
  onTakeover?: (spec: WorkloadSpec, from: string | undefined) => void
  /** Asked when the owner did not answer us: does any peer we trust still see it alive, or only suspect
   * it (witness.ts)? Then it may be reachable from our part of the network and its copy run: not yet. */
  ownerNotDeadToWitness?: (owner: string) => Promise<boolean>
}

const better = (x: Assignment, y: Assignment): boolean =>
  x.epoch !== y.epoch ? x.epoch > y.epoch : x.hlc !== y.hlc ? x.hlc < y.hlc : x.owner < y.owner

export function createTakeover (options: TakeoverOptions): Takeover {
  const o = { ...TAKEOVER_DEFAULTS, ...options }
  const { rdoc, registry, reputation, hlc } = options
  const me = hlc.nodeId
  const now = options.now ?? Date.now
  const timers = options.timers ?? realTimers
  const specsMap: Y.Map<DeclaredSpec> = rdoc.map<DeclaredSpec>('specs')
  const assignMap: Y.Map<Assignment> = rdoc.map<Assignment>('assign')
  const capMap: Y.Map<Capacity> = rdoc.map<Capacity>('capacity')
  const local = new Set<string>()
  const busy = new Set<string>()
  /** Workloads whose owner answered although we saw it dead: no takeover attempt until then. */
  const holdUntilMs = new Map<string, number>()
  const stats: TakeoverStats = { takeovers: 0, duplicatesStopped: 0, claimsLost: 0, startFailures: 0, ownerAnswered: 0, heldAfterHeal: 0, ownerNotDeadToWitness: 0 }
  let stopped = false
  let debounce: unknown
  /** How and when each peer we saw die died, and when the first heal sign after that came (for
   * healGraceMs); forgotten when it is alive again. */
  const deaths = new Map<string, { reason: string, atMs: number, graceFromMs?: number }>()
  /** The peer's host refused our redial: its process is gone, no view of it can be lagging. */
  const diedDefinitively = (peer: string): boolean => { const d = deaths.get(peer); return d != null && isDefinitiveDeath(d.reason) }
  const healGraceHolds = (owner: string | undefined): boolean => {
    if (owner == null || owner === me || o.healGraceMs <= 0) return false
    const d = deaths.get(owner)
    if (d == null || diedDefinitively(owner)) return false
    const heal = rdoc.lastHealSignMs()
    if (d.graceFromMs == null && heal >= d.atMs) d.graceFromMs = heal
    return d.graceFromMs != null && healGraceOpen(now(), d.graceFromMs, heal, o)
  }

  const valid = (key: string, owner: string | undefined): boolean => owner != null && key.startsWith(`${owner}/`)
  const specs = (): Map<string, DeclaredSpec> => {
    const out = new Map<string, DeclaredSpec>()
    for (const [k, s] of specsMap.entries()) {
      if (s == null || typeof s !== 'object' || !valid(k, s.declarer)) continue
      const cur = out.get(s.name)
      if (cur == null || s.hlc < cur.hlc || (s.hlc === cur.hlc && s.declarer < cur.declarer)) out.set(s.name, s)
    }
    return out
  }
  const assignmentsByName = (): Map<string, Assignment[]> => {
    const out = new Map<string, Assignment[]>()
    for (const [k, a] of assignMap.entries()) {
      if (a == null || typeof a !== 'object' || !valid(k, a.owner) || `${a.owner}/${a.name}` !== k) continue
      const l = out.get(a.name) ?? []
      l.push(a)
      out.set(a.name, l)
    }
    return out
  }
  const alive = (peer: string): boolean => peer === me || rdoc.isAlive(peer)
  /** An owner counts until the mesh declares it dead: a suspect owner may still answer. */
  const notDead = (peer: string): boolean => peer === me || !rdoc.isDead(peer)
  const currentOf = (list: readonly Assignment[] | undefined): Assignment | undefined => {
    let best: Assignment | undefined
    for (const a of list ?? []) if (a.state === 'running' && notDead(a.owner) && (best == null || better(a, best))) best = a
    return best
  }
  const topOf = (list: readonly Assignment[] | undefined): Assignment | undefined => {
    let top: Assignment | undefined
    for (const a of list ?? []) if (a.state === 'running' && (top == null || better(a, top))) top = a
    return top
  }
  /** Workloads we handed back (release) or, after leave(), all of them: we bid for none of these. */
  const given = new Set<string>()
  let leaving = false
  /** Declarations that lost their claim and look again later (one timer per workload). */
  const recheck = new Map<string, unknown>()
  const maxEpoch = (list: readonly Assignment[] | undefined): number => Math.max(0, ...(list ?? []).map((a) => a.epoch))

  const startLocal = async (spec: WorkloadSpec): Promise<boolean> => {
    local.add(spec.name)
    try {
      await options.onStart(spec)
      return true
    } catch {
      stats.startFailures++
      local.delete(spec.name)
      // It cannot run here (missing program, quarantined, not in our config): stop bidding for it, so
      // the auction gives it to a peer that can instead of back to us every reconcile.
      given.add(spec.name)
      const cap = capMap.get(`${me}/cap`)
      if (cap != null) publishCapacity(cap.cpuMillis, cap.memoryMb)
      return false
    }
  }
  const stopLocal = async (name: string, reason: StopReason): Promise<void> => {
    if (!local.delete(name)) return
    if (reason === 'duplicate') stats.duplicatesStopped++
    try { await options.onStop(name, reason) } catch { /* the agent logs its own failures */ }
  }
  const writeMine = (name: string, epoch: number, state: Assignment['state']): void => {
    assignMap.set(`${me}/${name}`, { name, owner: me, epoch, hlc: encodeHlc(hlc.now()), state })
  }

  /** The workloads we can host as the agent last said (undefined: any). */
  let hosts: string[] | undefined
  /** Writes our capacity entry (its only writer besides leave()): what we can host, less what we handed back
   * (others must not count on us for it). */
  const publishCapacity = (cpuMillis: number, memoryMb: number): void => {
    if (leaving) return
    let workloads = hosts
    if (given.size > 0) workloads = (workloads ?? [...specs().keys()]).filter((w) => !given.has(w))
    if (workloads != null) workloads = [...new Set(workloads)].sort().slice(0, o.maxWorkloads)
    const prev = capMap.get(`${me}/cap`)
    if (prev != null && prev.cpuMillis === cpuMillis && prev.memoryMb === memoryMb && JSON.stringify(prev.workloads) === JSON.stringify(workloads)) return
    capMap.set(`${me}/cap`, { cpuMillis, memoryMb, atMs: now(), ...(workloads != null ? { workloads } : {}) })
  }

  const bidders = (): Bidder[] => {
    const out: Bidder[] = []
    for (const [k, c] of capMap.entries()) {
      const peer = k.slice(0, k.indexOf('/'))
      if (c == null || typeof c !== 'object' || k !== `${peer}/cap` || !alive(peer)) continue
      if (peer === me && leaving) continue
      // A peer writes only its own entry, but its values are still remote input.
      if (!Number.isFinite(c.cpuMillis) || !Number.isFinite(c.memoryMb)) continue
      const rep = Math.round(reputation.sharedScore(peer) / o.reputationStep) * o.reputationStep
      const accepts = Array.isArray(c.workloads) ? new Set(c.workloads.slice(0, o.maxWorkloads).filter((w): w is string => typeof w === 'string')) : undefined
      out.push({ peer, freeCpuMillis: c.cpuMillis, freeMemoryMb: c.memoryMb, reputation: rep, ...(accepts != null ? { accepts } : {}) })
    }
    return out
  }

  const takeOver = async (spec: DeclaredSpec, from: string | undefined): Promise<void> => {
    busy.add(spec.name)
    try {
      const r = await registry.claim(`workload:${spec.name}`, 'takeover', { leaseMs: o.claimLeaseMs, cooldownMs: o.claimCooldownMs })
      if (!r.granted) { stats.claimsLost++; return }
      // The owner we replace may only look dead from here (a heal our liveness has not caught
      // up with yet): ask it. If it answers, its copy stands and we give the claim back.
      const prev = topOf(assignmentsByName().get(spec.name))
      const askOwner = async (): Promise<boolean> => {
        if (prev == null || prev.owner === me || o.verifyOwnerTimeoutMs <= 0) return false
        const t0 = now()
        if (await rdoc.pullFrom(prev.owner, o.verifyOwnerTimeoutMs, 'verify-owner')) return true
        // A cut healed while we asked (our request may have been sent into it): ask once more.
        return rdoc.lastHealSignMs() >= t0 && await rdoc.pullFrom(prev.owner, o.verifyOwnerTimeoutMs, 'verify-owner')
      }
      if (prev != null && await askOwner()) {
        stats.ownerAnswered++
        // Its answer brought its state. If that shows its copy running (e.g. the spec had reached us
        // before the assignment), the workload is no orphan and needs no hold: a hold would only
        // delay the takeover if the owner then really died. Otherwise our liveness view lags the
        // network: leave the workload alone until it catches up.
        if (currentOf(assignmentsByName().get(spec.name)) == null) holdUntilMs.set(spec.name, now() + o.ownerAnsweredHoldMs)
        registry.release(`workload:${spec.name}`, 'aborted', { cooldownMs: 0 })
        return
      }
      // It did not answer us, but our view may be the one lagging (a heal whose reconnections have not
      // reached us yet; seen in the meso bench as a second copy started 5 s after a heal): if a peer we
      // trust still sees the owner alive, or has not concluded it is dead, hold and look again shortly.
      // Not after a definitive death: the owner's host refused our redial, so its process is gone and no
      // view can be lagging (witnesses that are slow to answer would only delay the takeover by their timeout).
      if (prev != null && prev.owner !== me && !diedDefinitively(prev.owner) && options.ownerNotDeadToWitness != null && !stopped && await options.ownerNotDeadToWitness(prev.owner)) {
        stats.ownerNotDeadToWitness++
        holdUntilMs.set(spec.name, now() + o.witnessHoldMs)
        registry.release(`workload:${spec.name}`, 'aborted', { cooldownMs: 0 })
        return
      }
      const list = assignmentsByName().get(spec.name)
      const cur = currentOf(list)
      if (stopped || (cur != null && cur.owner !== me)) { registry.release(`workload:${spec.name}`, 'aborted', { cooldownMs: 0 }); return }
      if (cur == null) writeMine(spec.name, maxEpoch(list) + 1, 'running')
      stats.takeovers++
      options.onTakeover?.(spec, from)
      const ok = local.has(spec.name) || await startLocal(spec)
      const c = capMap.get(`${me}/cap`)
      if (ok && c != null) publishCapacity(Math.max(0, c.cpuMillis - spec.cpuMillis), Math.max(0, c.memoryMb - spec.memoryMb))
      if (!ok) writeMine(spec.name, maxEpoch(list) + 1, 'stopped')
      registry.release(`workload:${spec.name}`, ok ? 'recovered' : 'failed')
    } finally {
      busy.delete(spec.name)
    }
  }

  const reconcile = async (): Promise<void> => {
    if (stopped) return
    const all = specs()
    const byName = assignmentsByName()
    const orphans: DeclaredSpec[] = []
    const formerOwner = new Map<string, string | undefined>()
    for (const [name, spec] of all) {
      // A takeover in flight still takes its place in the auction (its capacity is spoken for).
      if (busy.has(name)) { orphans.push(spec); continue }
      const list = byName.get(name)
      const cur = currentOf(list)
      // `top` ignores liveness. We stand down whenever a running assignment beats
      // ours, even one whose owner we do not (yet) see alive: after a heal,
      // liveness views can stay asymmetric for a while and "best alive" alone
      // would let two owners each keep a copy. If that owner really is dead, our
      // entry is marked stopped, the workload is an orphan, and the auction
      // re-assigns it with a higher epoch.
      const top = topOf(list)
      const mine = (list ?? []).find((a) => a.owner === me)
      if (given.has(name) || leaving) continue
      if (local.has(name)) {
        if (top != null && top.owner !== me) {
          if (mine != null && mine.state === 'running') writeMine(name, mine.epoch, 'stopped')
          void stopLocal(name, 'duplicate')
        }
        continue
      }
      if (cur != null && cur.owner === me) {
        if (top != null && top.owner !== me) writeMine(name, cur.epoch, 'stopped') // yield to the better entry
        // A copy we own but could not start (e.g. after a restart with another config) is given
        // up at once: an assignment that looks alive and runs nothing would orphan it for good.
        else void startLocal(spec).then((ok) => { if (!ok) writeMine(name, cur.epoch, 'stopped') })
        continue
      }
      if (cur == null) {
        orphans.push(spec)
        let last: Assignment | undefined
        for (const a of list ?? []) if (last == null || better(a, last)) last = a
        formerOwner.set(name, last?.owner)
      }
    }
    if (orphans.length === 0) return
    const plan = allocate(orphans, bidders(), AUCTION_DEFAULTS)
    for (const spec of orphans) {
      if (plan.get(spec.name) !== me || busy.has(spec.name) || given.has(spec.name) || leaving) continue
      const hold = holdUntilMs.get(spec.name)
      if (hold != null) { if (now() < hold) continue; holdUntilMs.delete(spec.name) }
      if (healGraceHolds(formerOwner.get(spec.name))) { stats.heldAfterHeal++; continue }
      void takeOver(spec, formerOwner.get(spec.name))
    }
  }
  const schedule = (): void => {
    if (debounce != null || stopped) return
    debounce = timers.setTimeout(() => { debounce = undefined; void reconcile() }, o.debounceMs)
  }
  const unChange = rdoc.onChange(schedule)
  const unLive = rdoc.onLiveness((e) => {
    if (e.state === 'dead') {
      if (!deaths.has(e.peer) && deaths.size >= MAX_TRACKED_DEATHS) deaths.clear()
      deaths.set(e.peer, { reason: e.reason, atMs: now() })
    } else if (e.state === 'alive') deaths.delete(e.peer)
    schedule()
  })
  const stopTick = every(timers, o.reconcileIntervalMs, () => { void reconcile() })

  const api: Takeover = {
    async declare (spec, opts = {}) {
      if (specsMap.size >= o.maxWorkloads && !specsMap.has(`${me}/${spec.name}`)) throw new RangeError(`more than ${o.maxWorkloads} workloads`)
      const target = `workload:${spec.name}`
      let claimed = false
      if (opts.claim === true && currentOf(assignmentsByName().get(spec.name)) == null) {
        busy.add(spec.name)
        const r = await registry.claim(target, 'declare', { leaseMs: o.claimLeaseMs, cooldownMs: 0 }).catch(() => undefined)
        if (r == null || !r.granted) {
          busy.delete(spec.name)
          stats.claimsLost++
          // Another agent is declaring or taking it over: its assignment will arrive. Look again
          // once its claim has lapsed, in case it died before writing anything.
          if (!stopped && !leaving && !recheck.has(spec.name)) {
            recheck.set(spec.name, timers.setTimeout(() => {
              recheck.delete(spec.name)
              if (!stopped && !leaving && !specs().has(spec.name)) void api.declare(spec, opts)
            }, o.claimLeaseMs))
          }
          return
        }
        claimed = true
      }
      let ok = true
      try {
        // The spec and our assignment travel as one update: a replica that saw the spec alone would
        // take the workload for an orphan and auction it (and its winner then ask us and hold off).
        let start = false
        rdoc.doc.transact(() => {
          const existing = specs().get(spec.name)
          if (existing == null) specsMap.set(`${me}/${spec.name}`, { ...spec, declarer: me, hlc: encodeHlc(hlc.now()) })
          const list = assignmentsByName().get(spec.name)
          if (currentOf(list) == null) {
            writeMine(spec.name, maxEpoch(list) + 1, 'running')
            start = true
          }
        })
        if (start && !local.has(spec.name) && !await startLocal(spec)) {
          ok = false
          const mine = assignMap.get(`${me}/${spec.name}`)
          if (mine != null) writeMine(spec.name, mine.epoch, 'stopped')
        }
      } finally {
        if (claimed) { registry.release(target, ok ? 'recovered' : 'failed', { cooldownMs: 0 }); busy.delete(spec.name) }
      }
    },
    setCapacity (c) {
      hosts = c.workloads == null ? undefined : [...c.workloads]
      publishCapacity(c.cpuMillis, c.memoryMb)
    },
    async leave () {
      leaving = true
      const names = [...local]
      // Our copies stop before the fleet hears they are free: no overlap with the next owner's copy.
      await Promise.all(names.map(async (n) => { await stopLocal(n, 'released') }))
      rdoc.doc.transact(() => {
        for (const n of names) {
          const mine = assignMap.get(`${me}/${n}`)
          if (mine != null && mine.state === 'running') writeMine(n, mine.epoch, 'stopped')
        }
        capMap.delete(`${me}/cap`)
      })
    },
    async release (name) {
      given.add(name)
      const cap = capMap.get(`${me}/cap`)
      if (cap != null) publishCapacity(cap.cpuMillis, cap.memoryMb)
      await stopLocal(name, 'released')
      const mine = assignMap.get(`${me}/${name}`)
      if (mine != null && mine.state === 'running') writeMine(name, mine.epoch, 'stopped')
    },
    reinstate (name) {
      if (leaving || !given.delete(name)) return false
      const cap = capMap.get(`${me}/cap`)
      if (cap != null) publishCapacity(cap.cpuMillis, cap.memoryMb)
      schedule()
      return true
    },
    owner: (name) => currentOf(assignmentsByName().get(name)),
    running: () => [...local].sort(),
    specs: () => [...specs().values()],
    reconcile,
    stop () {
      stopped = true
      unChange(); unLive(); stopTick()
      for (const t of recheck.values()) timers.clearTimeout(t)
      recheck.clear()
      if (debounce != null) timers.clearTimeout(debounce)
    },
    stats: () => ({ ...stats })
  }
  return api
}
