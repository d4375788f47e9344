// Intervention claims around the recovery policy: when a mesh is present the
// agent claims `<node>/<component>` in the coordination registry before it
// acts and releases it with the verified outcome — recovery itself knows
// nothing of the mesh. Another agent's claim in progress makes this one stand
// down (escalate with the holder named). Without a mesh, or if the registry
// does not answer in time, the node acts alone: its own components have no
// other healer, so the micro loop never waits on the network for long.
import type { Logger } from 'pino'
import type { Coordinator } from '@homeostat/coordination'
import type { RecoveryPolicy } from '@homeostat/interface'

export const CLAIM_DEFAULTS = {
  /** Longest a plan waits for the registry (settle + peer pulls); past it the node acts alone. */
  claimTimeoutMs: 1500,
  /** Lease while acting + verifying; renewed by the registry while held. */
  leaseMs: 15_000,
  /** Cooldown after release for node-local targets: 0, the micro loop has its own crash-loop guard. */
  localCooldownMs: 0,
  /** Claims remembered per incident (bounded map). */
  maxOpen: 1024
}

const ACTIONS = new Set(['restart', 'kill', 'reload', 'rollback', 'degrade', 'throttle', 'free_disk', 'relocate'])

export function withClaims (p: RecoveryPolicy, o: { node: string, coordinator: () => Coordinator | undefined, logger: Logger }): RecoveryPolicy {
  const open = new Map<string, string>() // incidentId → target key
  return {
    async plan (req) {
      const plan = await p.plan(req)
      const coord = o.coordinator()
      if (coord === undefined || !ACTIONS.has(plan.action)) return plan
      const key = `${o.node}/${plan.target}`
      let timer: NodeJS.Timeout | undefined
      const r = await Promise.race([
        coord.registry.claim(key, plan.action, { leaseMs: CLAIM_DEFAULTS.leaseMs, cooldownMs: CLAIM_DEFAULTS.localCooldownMs, detail: req.incident.id }).catch((err: Error) => ({ error: err })),
        new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), CLAIM_DEFAULTS.claimTimeoutMs) })
      ])
      clearTimeout(timer)
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
      open.set(req.incident.id, key)
      if (open.size > CLAIM_DEFAULTS.maxOpen) open.delete(open.keys().next().value as string)
      return { ...plan, reason: `${plan.reason} (claimed ${key})` }
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
      try { coord.registry.release(key, outcome.success ? 'recovered' : 'failed', { cooldownMs: CLAIM_DEFAULTS.localCooldownMs, detail: outcome.incidentId }) } catch (err) { o.logger.warn({ err: (err as Error).message, target: key }, 'claim release failed') }
    }
  }
}
