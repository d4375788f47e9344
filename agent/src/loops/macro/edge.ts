// The macro loop's edge half: every verified recovery outcome of this node
// goes to the cloud peer (its cloud half learns fleet priors from them), and
// fleet priors come back — accepted only from a peer that announced itself as
// the cloud peer, and only newer versions — into this node's planner (through
// the micro loop's `importPriors`, handed in by loops/index.ts). An edge cut off
// from the cloud keeps healing with what it last imported.
import { OUTCOME_TOPIC, POLICY_TOPIC, type Outcome } from '@homeostat/interface'
import type { Mesh } from '@homeostat/mesh'
import type { AgentLoop, LoopContext } from '../contract.ts'

export interface FleetPolicyView { version: number, from: string, entries: number, atMs: number }

export interface MacroEdgeLoop extends AgentLoop {
  /** The fleet priors last imported, if any. */
  readonly imported: () => FleetPolicyView | undefined
}

export interface MacroEdgeOptions {
  mesh: () => Mesh | undefined
  /** The role and name a peer announced (the meso loop's status reports). */
  peerRole: (peer: string) => 'edge' | 'cloud' | undefined
  peerName: (peer: string) => string | undefined
  /** Installs priors into this node's planner; returns entries installed; throws on a bad document. */
  importPriors: (doc: unknown) => number
}

export function createMacroEdgeLoop (ctx: LoopContext, o: MacroEdgeOptions): MacroEdgeLoop | undefined {
  if (ctx.role === 'cloud') return undefined
  const log = ctx.logger.child({ loop: 'macro-edge' })
  const unsubs: Array<() => void> = []
  let fleetPolicy: FleetPolicyView | undefined
  return {
    name: 'macro-edge',
    imported: () => fleetPolicy,
    provides: () => ({ status: { fleetPolicy: () => fleetPolicy } }),
    async start () {
      const mesh = o.mesh()
      if (mesh === undefined) return // no mesh: nothing to send, nothing to receive
      // Our verified outcomes go to the cloud peer.
      unsubs.push(ctx.events.subscribe((e) => {
        if (e.type !== 'outcome') return
        mesh.publish(OUTCOME_TOPIC, 'recovery.outcome', e.data as Outcome).catch((err: Error) => log.debug({ err: err.message }, 'outcome publish failed'))
      }))
      unsubs.push(mesh.subscribe(POLICY_TOPIC, (m) => {
        const from = m.envelope.from
        const name = o.peerName(from)
        if (o.peerRole(from) !== 'cloud' || name === undefined) { ctx.metrics.invalidInput.inc({ source: 'mesh-policy' }); log.warn({ from }, 'fleet priors from a peer that is not the cloud peer: ignored'); return }
        if (fleetPolicy !== undefined && fleetPolicy.from === name && m.envelope.body.version <= fleetPolicy.version) return
        try {
          const n = o.importPriors(m.envelope.body.priors)
          fleetPolicy = { version: m.envelope.body.version, from: name, entries: n, atMs: ctx.now() }
          ctx.events.emit('policy', fleetPolicy)
          log.info(fleetPolicy, 'fleet priors imported from the cloud peer')
        } catch (err) {
          ctx.metrics.invalidInput.inc({ source: 'mesh-policy' })
          log.warn({ from: name, err: (err as Error).message }, 'fleet priors rejected')
        }
      }))
    },
    async stop () {
      for (const u of unsubs.splice(0)) u()
    }
  }
}
