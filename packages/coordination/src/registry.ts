// Intervention registry: a claim is a lease {target, action, owner, hlc,
// expires}. Each claimant writes its own key (`<owner>/<target>`: a concurrent
// Y.Map.set of one key would be last-writer-wins), and every replica resolves
// the same way (resolveTarget): among live leases an acting one beats a fresh
// claim, then earliest HLC, then peer id. A claimant waits a settle window,
// pulls from every alive peer over reliable streams (so a dropped gossip
// update cannot hide a rival claim), re-resolves, and acts only if it won.
// A released claim leaves the target cooling down (hysteresis).
// Reputation decides whose claims are accepted: a claim (or cooldown) written
// by a peer the shared reputation quarantines counts for nothing, as if its
// owner were dead, so a quarantined peer cannot squat a target. Every replica
// computes quarantine from the same replicated reports, and an honest peer does
// not claim while quarantined (mayClaim), so replicas agree on it as they agree
// on the claims themselves.
// A node-scoped target (`node:<peer>/<name>`, a node's own component) may only
// be claimed by that peer: another peer's claim on it is not accepted, counted
// and reported (onUnauthorized: the coordinator lowers the writer's score).
import { encode as encodeHlc, type Hlc } from '@homeostat/hlc'
import type * as Y from 'yjs'
import type { ReplicatedDoc } from './replicated-doc.ts'
import { every, realTimers, sleep, type Timers } from './timers.ts'
import { ClaimNotAllowedError } from './errors.ts'
import type { TuningOverrides } from '@homeostat/interface'

/** The target naming a node's own component: only that node may claim it. */
export const nodeTarget = (peer: string, name: string): string => `node:${peer}/${name}`

/** The peer a node-scoped target belongs to, or undefined for a fleet-wide target. */
export function targetNode (target: string): string | undefined {
  if (!target.startsWith('node:')) return undefined
  const slash = target.indexOf('/', 5)
  return slash > 5 ? target.slice(5, slash) : undefined
}

export const REGISTRY_DEFAULTS = {
  /** Lease length; renewed every leaseMs/3 while held, so it only lapses when the owner stops renewing. */
  leaseMs: 15_000,
  /** Wait after writing a claim before resolving: several gossip latencies, so concurrent claims meet. */
  settleMs: 300,
  /** Hysteresis after a release: nobody acts on the target again this soon. */
  cooldownMs: 30_000,
  /** Peers pulled from before a claim is granted (all alive peers up to this bound). */
  claimPullFanout: 256,
  /** Targets whose claims this replica tracks; bound on memory. */
  maxTargets: 10_000
} as const

export type ClaimState = 'claimed' | 'acting' | 'released'
export type ClaimOutcome = 'recovered' | 'failed' | 'stood_down' | 'aborted' | 'preempted'

export interface Claim {
  target: string
  action: string
  owner: string
  /** Encoded HLC of the claim (string order = clock order). */
  hlc: string
  /** Owner's physical ms when the lease lapses unless renewed. */
  expiresMs: number
  state: ClaimState
  outcome?: ClaimOutcome
  /** Physical ms until which the target cools down after this release. */
  cooldownUntilMs?: number
  detail?: string
}

export interface ResolveContext {
  nowMs: number
  isDead: (peer: string) => boolean
  /** Claims by these peers are not accepted (quarantined by reputation). */
  isDistrusted?: (peer: string) => boolean
}

export interface TargetStatus {
  /** The lease that currently holds the target, if any. */
  holder?: Claim
  /** The target is cooling down until this physical ms. */
  coolingUntilMs?: number
}

/** Pure: what every replica concludes about one target from its claims. */
export function resolveTarget (claims: readonly Claim[], ctx: ResolveContext): TargetStatus {
  let holder: Claim | undefined
  let coolingUntilMs: number | undefined
  const rank = (c: Claim): number => c.state === 'acting' ? 0 : 1
  for (const c of claims) {
    if (ctx.isDistrusted?.(c.owner) === true) continue
    if (c.state === 'released') {
      if (c.cooldownUntilMs != null && c.cooldownUntilMs > ctx.nowMs && (coolingUntilMs == null || c.cooldownUntilMs > coolingUntilMs)) coolingUntilMs = c.cooldownUntilMs
      continue
    }
    if (c.expiresMs <= ctx.nowMs || ctx.isDead(c.owner)) continue
    if (holder == null || rank(c) < rank(holder) || (rank(c) === rank(holder) && (c.hlc < holder.hlc || (c.hlc === holder.hlc && c.owner < holder.owner)))) holder = c
  }
  return { ...(holder != null ? { holder } : {}), ...(coolingUntilMs != null ? { coolingUntilMs } : {}) }
}

export type CheckResult =
  | { free: true }
  | { free: false, reason: 'in_progress', holder: Claim }
  | { free: false, reason: 'cooling_down', untilMs: number }

export type ClaimResult =
  | { granted: true, claim: Claim, /** We already held it: the caller is repeating itself. */ alreadyHeld?: boolean }
  | { granted: false, reason: 'in_progress' | 'cooling_down' | 'lost' | 'stopped', holder?: Claim, untilMs?: number }

export interface RegistryStats {
  claims: number
  granted: number
  lost: number
  refused: number
  released: number
  preempted: number
  /** Claim writes seen from peers whose claims are not accepted (quarantined). */
  distrustedWrites: number
  /** Claims on another node's own target (`node:<peer>/…`): not accepted. */
  unauthorizedClaims: number
}

export interface Registry {
  /** Is anyone holding `target`, or is it cooling down? */
  check: (target: string) => CheckResult
  /** Claims `target` for `action`; resolves once granted or lost. `cooldownMs` is the cooldown its release starts unless release says otherwise. Throws ClaimNotAllowedError for another node's target (`node:<peer>/…`). */
  claim: (target: string, action: string, options?: { leaseMs?: number, cooldownMs?: number, detail?: string }) => Promise<ClaimResult>
  /** Releases our claim on `target` with a verified outcome; starts the cooldown. */
  release: (target: string, outcome: 'recovered' | 'failed' | 'aborted', options?: { cooldownMs?: number, detail?: string }) => void
  status: (target: string) => TargetStatus
  claimsFor: (target: string) => Claim[]
  /** Targets we currently hold. */
  held: () => string[]
  /** Called when a claim of ours is overtaken (e.g. a rival's earlier acting claim arrives after a heal). */
  onPreempted: (fn: (target: string, by: Claim) => void) => () => void
  /** Called when any replica records an outcome (released claim). */
  onOutcome: (fn: (claim: Claim) => void) => () => void
  /** Re-resolves the targets we hold (call when trust changed); a lost one fires onPreempted. */
  recheck: () => void
  stop: () => void
  stats: () => RegistryStats
}

export interface RegistryOptions extends TuningOverrides<typeof REGISTRY_DEFAULTS> {
  rdoc: ReplicatedDoc
  hlc: Hlc
  now?: () => number
  timers?: Timers
  /** Extra refusal: e.g. a quarantined peer may not claim. */
  mayClaim?: (target: string) => boolean
  /** Peers whose claims are not accepted (e.g. quarantined); ourselves included, so our view matches the others'. */
  isDistrusted?: (peer: string) => boolean
  /** A peer claimed a target it may not touch (another node's own component). */
  onUnauthorized?: (peer: string, detail: string) => void
}

export function createRegistry (options: RegistryOptions): Registry {
  const o = { ...REGISTRY_DEFAULTS, ...options }
  const { rdoc, hlc } = options
  const me = hlc.nodeId
  const now = options.now ?? Date.now
  const timers = options.timers ?? realTimers
  const claims: Y.Map<Claim> = rdoc.map<Claim>('claims')
  const stats: RegistryStats = { claims: 0, granted: 0, lost: 0, refused: 0, released: 0, preempted: 0, distrustedWrites: 0, unauthorizedClaims: 0 }
  /** Targets we hold: lease renewal, and the cooldown asked for at claim time (release's default). */
  const held = new Map<string, { stopRenew: () => void, leaseMs: number, cooldownMs?: number }>()
  const preemptHandlers = new Set<(t: string, by: Claim) => void>()
  const outcomeHandlers = new Set<(c: Claim) => void>()
  // target → claims index, maintained from map events.
  const byTarget = new Map<string, Map<string, Claim>>()
  let stopped = false

  const index = (key: string, c: Claim | undefined): void => {
    const slash = key.indexOf('/')
    const target = c?.target ?? key.slice(slash + 1)
    let m = byTarget.get(target)
    if (c == null) { m?.delete(key); return }
    if (m == null) {
      if (byTarget.size >= o.maxTargets) return
      m = new Map(); byTarget.set(target, m)
    }
    m.set(key, c)
  }
  for (const [k, c] of claims.entries()) index(k, c)
  const observer = (ev: Y.YMapEvent<Claim>): void => {
    for (const [key, change] of ev.changes.keys) {
      const c = claims.get(key)
      // Only the key owner may write it; a value claiming another owner is ignored.
      if (c != null && (typeof c !== 'object' || c.owner !== key.slice(0, key.indexOf('/')) || `${c.owner}/${c.target}` !== key)) { index(key, undefined); continue }
      // Another node's own component: not this peer's to claim.
      const scope = c != null ? targetNode(c.target) : undefined
      if (c != null && scope !== undefined && scope !== c.owner) {
        index(key, undefined)
        if (change.action !== 'delete') {
          stats.unauthorizedClaims++
          try { options.onUnauthorized?.(c.owner, `${c.owner} claimed ${c.target}, a target of ${scope}`) } catch { /* a reporting hook never breaks the registry */ }
        }
        continue
      }
      index(key, c)
      if (c != null && change.action !== 'delete' && options.isDistrusted?.(c.owner) === true) stats.distrustedWrites++
      if (c != null && c.state === 'released' && change.action !== 'delete' && c.outcome !== 'stood_down') {
        for (const h of [...outcomeHandlers]) h(c)
      }
    }
    checkPreemption()
  }
  claims.observe(observer)

  const ctx = (): ResolveContext => ({ nowMs: now(), isDead: (p) => p !== me && !rdoc.isAlive(p), ...(options.isDistrusted != null ? { isDistrusted: options.isDistrusted } : {}) })
  const claimsFor = (target: string): Claim[] => [...(byTarget.get(target)?.values() ?? [])]
  const status = (target: string): TargetStatus => resolveTarget(claimsFor(target), ctx())

  const checkPreemption = (): void => {
    for (const target of [...held.keys()]) {
      const s = status(target)
      if (s.holder != null && s.holder.owner !== me) {
        stats.preempted++
        const h = held.get(target)
        h?.stopRenew()
        held.delete(target)
        write(target, (c) => ({ ...c, state: 'released', outcome: 'preempted', expiresMs: now() }))
        for (const fn of [...preemptHandlers]) fn(target, s.holder)
      }
    }
  }

  const write = (target: string, f: (c: Claim) => Claim): void => {
    const key = `${me}/${target}`
    const cur = claims.get(key)
    if (cur == null) return
    claims.set(key, f(cur))
  }

  const check = (target: string): CheckResult => {
    const s = status(target)
    if (s.holder != null && s.holder.owner !== me) return { free: false, reason: 'in_progress', holder: s.holder }
    if (s.coolingUntilMs != null) return { free: false, reason: 'cooling_down', untilMs: s.coolingUntilMs }
    return { free: true }
  }

  const doClaim = async (target: string, action: string, opts: { leaseMs?: number, cooldownMs?: number, detail?: string }): Promise<ClaimResult> => {
      const scope = targetNode(target)
      if (scope !== undefined && scope !== me) throw new ClaimNotAllowedError(target)
      const leaseMs = opts.leaseMs ?? o.leaseMs
      const c0 = check(target)
      if (!c0.free || (options.mayClaim != null && !options.mayClaim(target))) {
        stats.refused++
        return c0.free ? { granted: false, reason: 'in_progress' } : c0.reason === 'in_progress' ? { granted: false, reason: 'in_progress', holder: c0.holder } : { granted: false, reason: 'cooling_down', untilMs: c0.untilMs }
      }
      stats.claims++
      const claim: Claim = { target, action, owner: me, hlc: encodeHlc(hlc.now()), expiresMs: now() + leaseMs, state: 'claimed', ...(opts.detail != null ? { detail: opts.detail } : {}) }
      claims.set(`${me}/${target}`, claim)
      await sleep(timers, o.settleMs)
      await rdoc.pullFromMany(rdoc.alivePeers().slice(0, o.claimPullFanout), 'claim')
      const s = status(target)
      if (stopped || s.holder == null || s.holder.owner !== me || (s.coolingUntilMs != null && s.coolingUntilMs > now())) {
        stats.lost++
        write(target, (c) => ({ ...c, state: 'released', outcome: 'stood_down', expiresMs: now() }))
        return { granted: false, reason: 'lost', ...(s.holder != null ? { holder: s.holder } : {}) }
      }
      stats.granted++
      const acting: Claim = { ...claim, state: 'acting', expiresMs: now() + leaseMs }
      claims.set(`${me}/${target}`, acting)
      const stopRenew = every(timers, Math.max(100, Math.floor(leaseMs / 3)), () => {
        if (held.has(target)) write(target, (c) => ({ ...c, expiresMs: now() + leaseMs }))
      })
      held.set(target, { stopRenew, leaseMs, ...(opts.cooldownMs != null ? { cooldownMs: opts.cooldownMs } : {}) })
      return { granted: true, claim: acting }
  }
  const pending = new Map<string, Promise<ClaimResult>>()

  return {
    check,
    async claim (target, action, opts = {}) {
      if (stopped) return { granted: false, reason: 'stopped' }
      const mine = held.get(target)
      if (mine != null) return { granted: true, claim: claims.get(`${me}/${target}`)!, alreadyHeld: true }
      const p = pending.get(target)
      if (p != null) return await p
      const run = doClaim(target, action, opts)
      pending.set(target, run)
      try { return await run } finally { pending.delete(target) }
    },
    release (target, outcome, opts = {}) {
      const h = held.get(target)
      if (h == null) return
      h.stopRenew()
      held.delete(target)
      stats.released++
      const t = now()
      write(target, (c) => ({ ...c, state: 'released', outcome, expiresMs: t, cooldownUntilMs: t + (opts.cooldownMs ?? h.cooldownMs ?? o.cooldownMs), ...(opts.detail != null ? { detail: opts.detail } : {}) }))
    },
    status,
    claimsFor,
    held: () => [...held.keys()],
    onPreempted (fn) { preemptHandlers.add(fn); return () => { preemptHandlers.delete(fn) } },
    onOutcome (fn) { outcomeHandlers.add(fn); return () => { outcomeHandlers.delete(fn) } },
    recheck: () => { if (!stopped) checkPreemption() },
    stop () {
      stopped = true
      for (const h of held.values()) h.stopRenew()
      held.clear()
      claims.unobserve(observer)
    },
    stats: () => ({ ...stats })
  }
}
