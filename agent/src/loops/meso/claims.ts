// Intervention claims around the recovery policy: when a mesh is present the
// agent claims `node:<peer id>/<component>` (a target only this node may
// claim) in the coordination registry before it
// acts and releases it with the verified outcome — recovery itself knows
// nothing of the mesh. Another agent's claim in progress makes this one stand
// down (escalate with the holder named). Without a mesh, or if the registry
// does not answer in time, the node acts alone: its own components have no
// other healer, so the micro loop never waits on the network for long.
// A shared component (runs elsewhere, several nodes use and heal it) is
// claimed fleet-wide as `shared/<name>` with a cooldown: one node restarts it,
// the others wait for that restart to be verified, then look again; a node
// never acts alone on it. If it is healthy again, their incidents close
// without an action of their own. In a partition each side's registry would
// grant its own claim, so a shared restart also needs a majority of the
// fleet's members reachable: the minority side waits (and stands by if the
// component recovers) instead of restarting it a second time.
import type { Logger } from 'pino'
import { nodeTarget, type Coordinator } from '@homeostat/coordination'
import { actionsWhere, realTimers, sleepOn, type PlannedAction, type RecoveryPolicy, type Timers } from '@homeostat/interface'

export const CLAIM_DEFAULTS = {
  /** Longest a plan waits for the registry (settle + peer pulls); past it the node acts alone. */
  claimTimeoutMs: 1500,
  /** Lease while acting + verifying; renewed by the registry while held. */
  leaseMs: 15_000,
  /** Cooldown after release for node-local targets: 0, the micro loop has its own crash-loop guard. */
  localCooldownMs: 0,
  /** Claims remembered per incident (bounded map). */
  maxOpen: 1024,
  /** Longest a node waits on a shared component for another node's restart, verification and cooldown before escalating. */
  sharedMaxWaitMs: 120_000,
  /** How often a waiting node looks at the shared component's claim again. */
  sharedPollMs: 250,
  /** How often a node without a majority looks again (a partition heals in seconds, or the lost peers are forgotten). */
  quorumPollMs: 1000
}

/** Fleet members this node can reach now (itself included) out of those it knows (itself included). */
export interface Quorum { reachable: number, members: number }

/** A strict majority: an even split has none, so at most one side of any cut restarts a shared component. */
export function hasMajority (q: Quorum): boolean {
  return q.reachable * 2 > q.members
}

/** Actions a mesh claims in the registry before they run (ACTION_TRAITS.claimed). */
const ACTIONS: ReadonlySet<string> = actionsWhere('claimed')

export interface ClaimsOptions {
  node: string
  coordinator: () => Coordinator | undefined
  logger: Logger
  /** Is `component` shared (runs elsewhere, healed by the fleet)? */
  isShared?: (component: string) => boolean
  /** A fresh health check of `component` (its probes now). */
  healthy?: (component: string) => Promise<boolean>
  /** Cooldown after a shared component's restart (config mesh.sharedCooldownMs). */
  sharedCooldownMs?: () => number
  /** A mesh is configured (it may still be starting): shared components then wait for it rather than act alone. */
  meshExpected?: () => boolean
  /** Members reachable / known (the meso loop's view); absent: no quorum check (a fleet of one). */
  quorum?: () => Quorum | undefined
  /** A peer's node name, for messages (default: the peer id). */
  peerName?: (peer: string) => string | undefined
  now?: () => number
  /** Timers for the registry timeout and the waits (default: Node's). */
  timers?: Timers
  /** The waits alone (default: on `timers`); a test steps a virtual clock with it. */
  sleep?: (ms: number) => Promise<void>
}

export function withClaims (p: RecoveryPolicy, o: ClaimsOptions): RecoveryPolicy {
  const open = new Map<string, string>() // incidentId → target key
  const now = o.now ?? Date.now
  const timers = o.timers ?? realTimers
  const sleep = o.sleep ?? (async (ms: number): Promise<void> => await sleepOn(timers, ms))
  const remember = (incidentId: string, key: string): void => {
    open.set(incidentId, key)
    if (open.size > CLAIM_DEFAULTS.maxOpen) open.delete(open.keys().next().value as string)
  }
  const healthyNow = async (component: string): Promise<boolean> => { try { return await (o.healthy?.(component) ?? false) } catch { return false } }

  /** One healer at a time for a shared component: claim it fleet-wide, or wait for whoever holds it and look again. */
  const planShared = async (coord: Coordinator, plan: PlannedAction, incidentId: string): Promise<PlannedAction> => {
    const key = `shared/${plan.target}`
    const cooldownMs = o.sharedCooldownMs?.() ?? 30_000
    const deadline = now() + CLAIM_DEFAULTS.sharedMaxWaitMs
    let waitedFor: string | undefined
    let minority: Quorum | undefined
    while (now() < deadline) {
      const q = o.quorum?.()
      if (q !== undefined && !hasMajority(q)) {
        // The other side of a cut may hold the majority and heal it: never restart it twice.
        if (minority === undefined) o.logger.warn({ target: key, reachable: q.reachable, members: q.members }, 'no majority of the fleet reachable: not restarting a shared component from this side')
        minority = q
        if (await healthyNow(plan.target)) return { ...plan, action: 'none', reason: `${plan.target} is shared and healthy again (this node reached ${q.reachable} of ${q.members} members, too few to restart it)` }
        await sleep(CLAIM_DEFAULTS.quorumPollMs)
        continue
      }
      minority = undefined
      let r: Awaited<ReturnType<Coordinator['registry']['claim']>>
      try {
        r = await coord.registry.claim(key, plan.action, { leaseMs: CLAIM_DEFAULTS.leaseMs, cooldownMs, detail: incidentId })
      } catch (err) {
        o.logger.warn({ target: key, err: (err as Error).message }, 'registry error on a shared component; not acting alone, trying again')
        await sleep(1000)
        continue
      }
      if (r.granted) {
        remember(incidentId, key)
        return { ...plan, reason: `${plan.reason} (claimed ${key} for the fleet)` }
      }
      if (r.reason === 'stopped') return { ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} (shared) not claimed: the registry is stopped (agent shutting down)` }
      // Someone else is restarting it (or just did): wait for that, then see whether it is healthy.
      waitedFor = r.holder?.owner !== undefined ? o.peerName?.(r.holder.owner) ?? r.holder.owner : waitedFor
      const until = r.reason === 'cooling_down' ? Math.min(r.untilMs ?? now(), deadline) : deadline
      while (now() < until) {
        await sleep(CLAIM_DEFAULTS.sharedPollMs)
        let c: ReturnType<Coordinator['registry']['check']>
        try { c = coord.registry.check(key) } catch { break } // the coordinator went away: look at the component again
        if (c.free) break
        if (c.reason === 'cooling_down' && r.reason !== 'cooling_down') break // the holder released it: its restart is done
      }
      if (await healthyNow(plan.target)) {
        return { ...plan, action: 'none', reason: `${plan.target} is shared: another node${waitedFor !== undefined ? ` (${waitedFor})` : ''} restarted it and it is healthy again` }
      }
      let stillHeld = false
      try { stillHeld = r.reason === 'cooling_down' && !coord.registry.check(key).free } catch {}
      if (stillHeld) await sleep(CLAIM_DEFAULTS.sharedPollMs)
    }
    if (minority !== undefined) return { ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} (shared) stood down: this node reaches only ${minority.reachable} of ${minority.members} fleet members (no majority to restart it) and it is still unhealthy after ${Math.round(CLAIM_DEFAULTS.sharedMaxWaitMs / 1000)} s` }
    return { ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} (shared) stood down: no fleet claim within ${Math.round(CLAIM_DEFAULTS.sharedMaxWaitMs / 1000)} s${waitedFor !== undefined ? ` (last holder ${waitedFor})` : ''} and it is still unhealthy` }
  }

  /** The coordinator, waiting (bounded) while a mesh is configured but still starting. */
  const coordinatorFor = async (shared: boolean): Promise<Coordinator | undefined> => {
    let coord = o.coordinator()
    // A node's own component has no other healer: never wait for the mesh to act on it.
    if (coord !== undefined || !shared || o.meshExpected?.() !== true) return coord
    const deadline = now() + CLAIM_DEFAULTS.sharedMaxWaitMs
    o.logger.info({}, 'the mesh is still starting: a shared component waits for the fleet\'s claim')
    while (coord === undefined && now() < deadline) {
      await sleep(CLAIM_DEFAULTS.sharedPollMs)
      coord = o.coordinator()
    }
    return coord
  }

  return {
    async plan (req) {
      const plan = await p.plan(req)
      if (!ACTIONS.has(plan.action)) return plan
      const shared = o.isShared?.(plan.target) === true
      const coord = await coordinatorFor(shared)
      const instead = (out: PlannedAction): PlannedAction => {
        if (out.action !== plan.action) { try { p.cancel?.(req.incident.id, plan.action, out.reason) } catch (err) { o.logger.warn({ err: (err as Error).message }, 'policy.cancel threw') } }
        return out
      }
      if (coord === undefined) {
        if (shared && o.meshExpected?.() === true) return instead({ ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} (shared) stood down: the mesh did not start within ${Math.round(CLAIM_DEFAULTS.sharedMaxWaitMs / 1000)} s, and a shared component is never restarted without the fleet's claim` })
        return plan
      }
      if (shared) return instead(await planShared(coord, plan, req.incident.id))
      // A node's own component: only this node may claim it (the registry refuses anyone else's claim).
      const key = nodeTarget(coord.peerId, plan.target)
      let timer: unknown
      // A registry that throws at once (not started, stopping) is no answer either: act alone, never drop the plan.
      const claim = async (): Promise<Awaited<ReturnType<Coordinator['registry']['claim']>> | { error: Error }> => {
        try { return await coord.registry.claim(key, plan.action, { leaseMs: CLAIM_DEFAULTS.leaseMs, cooldownMs: CLAIM_DEFAULTS.localCooldownMs, detail: req.incident.id }) } catch (err) { return { error: err as Error } }
      }
      const r = await Promise.race([
        claim(),
        new Promise<'timeout'>((resolve) => { timer = timers.setTimeout(() => resolve('timeout'), CLAIM_DEFAULTS.claimTimeoutMs) })
      ])
      timers.clearTimeout(timer)
      if (r === 'timeout' || 'error' in r) {
        o.logger.warn({ target: key, why: r === 'timeout' ? 'timeout' : r.error.message }, 'registry did not answer; acting alone on a local target')
        return plan
      }
      if (!r.granted) {
        if (r.reason === 'in_progress' && r.holder !== undefined && r.holder.owner !== undefined) {
          return { ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} stood down: ${r.holder.owner} holds the intervention (${r.holder.action})` }
        }
        // Cooling down or stopped: a local target has no other healer; act.
        return plan
      }
      remember(req.incident.id, key)
      return { ...plan, reason: `${plan.reason} (claimed ${o.node}/${plan.target})` }
    },
    cancel (incidentId, action, reason) {
      const r = p.cancel?.(incidentId, action, reason)
      // The action will not run (e.g. an operator denied it): give the claim back at once.
      const key = open.get(incidentId)
      const coord = o.coordinator()
      if (key !== undefined && coord !== undefined) {
        open.delete(incidentId)
        try { coord.registry.release(key, 'aborted', { detail: incidentId }) } catch (err) { o.logger.warn({ err: (err as Error).message, target: key }, 'claim release failed') }
      }
      return r
    },
    record (outcome) {
      p.record(outcome)
      const key = open.get(outcome.incidentId)
      const coord = o.coordinator()
      if (key === undefined || coord === undefined) return
      open.delete(outcome.incidentId)
      const cooldownMs = key.startsWith('shared/') ? o.sharedCooldownMs?.() ?? 30_000 : CLAIM_DEFAULTS.localCooldownMs
      try { coord.registry.release(key, outcome.success ? 'recovered' : 'failed', { cooldownMs, detail: outcome.incidentId }) } catch (err) { o.logger.warn({ err: (err as Error).message, target: key }, 'claim release failed') }
    }
  }
}
