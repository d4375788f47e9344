// Wires one agent's meso-loop state: the replicated document, the intervention
// registry, reputation and workload takeover, all over one `Mesh`.
import type { Hlc } from '@homeostat/hlc'
import { DOCUMENTS } from '@homeostat/interface'
import type { Mesh } from '@homeostat/mesh'
import type { RejectReason } from './errors.ts'
import type { UpdatePersistence } from './persistence.ts'
import { createRegistry, type Registry, type RegistryOptions, type RegistryStats } from './registry.ts'
import { createReplicatedDoc, type ReplicatedDoc, type ReplicatedDocOptions, type ReplicatedDocStats } from './replicated-doc.ts'
import { createReputation, type Reputation, type ReputationOptions } from './reputation.ts'
import { createTakeover, type StopReason, type Takeover, type TakeoverOptions, type TakeoverStats } from './takeover.ts'
import { realTimers, type Timers } from './timers.ts'
import { createWitnesses, type WitnessOptions, type WitnessStats, type Witnesses } from './witness.ts'
import type { WorkloadSpec } from './auction.ts'

/** Top-level maps of the meso document. Every key is `<owner>/<rest>`. */
export const MESO_ROOTS = DOCUMENTS.meso

export interface CoordinatorOptions {
  mesh: Mesh
  /** The agent's HLC (the same one the mesh stamps envelopes with, ideally). */
  hlc: Hlc
  now?: () => number
  timers?: Timers
  random?: () => number
  persistence?: UpdatePersistence
  /** Document name (topic `homeostat/coord/<name>/1`). */
  name?: string
  /** The agent starts a relocatable workload here (after a takeover or on restart). */
  onStartWorkload?: (spec: WorkloadSpec) => Promise<void> | void
  /** The agent stops a local copy (a duplicate after a partition healed). */
  onStopWorkload?: (name: string, reason: StopReason) => Promise<void> | void
  onTakeover?: TakeoverOptions['onTakeover']
  doc?: Partial<Omit<ReplicatedDocOptions, 'mesh' | 'name' | 'roots' | 'persistence' | 'timers' | 'now' | 'random' | 'onReject'>>
  registry?: Partial<Omit<RegistryOptions, 'rdoc' | 'hlc' | 'now' | 'timers'>>
  reputation?: Partial<Omit<ReputationOptions, 'rdoc' | 'mesh' | 'now' | 'timers'>>
  takeover?: Partial<Omit<TakeoverOptions, 'rdoc' | 'registry' | 'reputation' | 'hlc' | 'now' | 'timers' | 'onStart' | 'onStop'>>
  /** Witnesses asked before a takeover (witness.ts); `witnesses: 0` turns the check off. */
  witness?: Partial<Omit<WitnessOptions, 'mesh' | 'now' | 'random' | 'trusted' | 'onReject'>>
  /** Called for every rejected remote input (besides counting and penalising). */
  onReject?: (peer: string, reason: RejectReason, detail: string) => void
}

export interface CoordinatorStats {
  doc: ReplicatedDocStats
  registry: RegistryStats
  takeover: TakeoverStats
  witness: WitnessStats
}

export interface Coordinator {
  /** Our peer id (the owner of our claims; `nodeTarget(peerId, name)` names our own components). */
  readonly peerId: string
  readonly rdoc: ReplicatedDoc
  readonly registry: Registry
  readonly reputation: Reputation
  readonly takeover: Takeover
  /** Loads persisted state, joins the mesh topic and catches up; resolves when ready. */
  start: () => Promise<void>
  stop: () => void
  stats: () => CoordinatorStats
}

/** Creates a coordinator; call `start()` after `mesh.start()`. */
export function createCoordinator (options: CoordinatorOptions): Coordinator {
  const { mesh, hlc } = options
  const now = options.now ?? Date.now
  const timers = options.timers ?? realTimers
  let reputation: Reputation | undefined
  const rdoc = createReplicatedDoc({
    ...options.doc,
    mesh,
    name: options.name ?? 'meso',
    roots: MESO_ROOTS,
    ...(options.persistence != null ? { persistence: options.persistence } : {}),
    timers,
    now,
    ...(options.random != null ? { random: options.random } : {}),
    // A quarantined peer's relays are not applied (they carry others' items).
    acceptRelayFrom: options.doc?.acceptRelayFrom ?? ((peer) => reputation == null || !reputation.isQuarantined(peer)),
    onReject (peer, reason, detail) {
      reputation?.penalize(peer)
      options.onReject?.(peer, reason, detail)
    }
  })
  let parts: { registry: Registry, reputation: Reputation, takeover: Takeover, witnesses: Witnesses } | undefined
  let unobserveReports = (): void => {}
  const need = (): NonNullable<typeof parts> => {
    if (parts == null) throw new Error('coordinator not started')
    return parts
  }
  return {
    peerId: mesh.peerId,
    rdoc,
    get registry () { return need().registry },
    get reputation () { return need().reputation },
    get takeover () { return need().takeover },
    async start () {
      if (parts != null) return
      await rdoc.start()
      reputation = createReputation({ ...options.reputation, rdoc, mesh, now, timers })
      const registry = createRegistry({
        ...options.registry,
        rdoc,
        hlc,
        now,
        timers,
        mayClaim: options.registry?.mayClaim ?? (() => !reputation!.isQuarantined(mesh.peerId)),
        // Reputation decides whose claims are accepted: a quarantined peer's are not.
        isDistrusted: options.registry?.isDistrusted ?? ((peer) => reputation!.isQuarantined(peer)),
        // A claim on another node's own component: not accepted, counted as rejected input, and it costs the writer.
        onUnauthorized: (peer, detail) => {
          reputation?.penalize(peer)
          options.onReject?.(peer, 'unauthorized', detail)
        }
      })
      // New reports can quarantine a peer holding a claim: re-resolve what we hold.
      const reports = rdoc.map('reports')
      const onReports = (): void => registry.recheck()
      reports.observe(onReports)
      unobserveReports = () => reports.unobserve(onReports)
      // Before a takeover: does a peer we trust still see the owner alive, or not dead yet? (Our own view may lag a heal.)
      const witnesses = createWitnesses({
        ...options.witness,
        mesh,
        now,
        ...(options.random != null ? { random: options.random } : {}),
        trusted: (peer) => !reputation!.isQuarantined(peer),
        onReject (peer, reason, detail) {
          reputation?.penalize(peer)
          options.onReject?.(peer, reason, detail)
        }
      })
      witnesses.start()
      const takeover = createTakeover({
        ...(options.witness?.witnesses !== 0 ? { ownerNotDeadToWitness: async (peer: string) => { const r = await witnesses.check(peer); return r.alive.length + r.suspect.length > 0 } } : {}),
        ...options.takeover,
        rdoc,
        registry,
        reputation,
        hlc,
        now,
        timers,
        onStart: options.onStartWorkload ?? (() => {}),
        onStop: options.onStopWorkload ?? (() => {}),
        ...(options.onTakeover != null ? { onTakeover: options.onTakeover } : {})
      })
      parts = { registry, reputation, takeover, witnesses }
      void takeover.reconcile()
    },
    stop () {
      if (parts != null) { unobserveReports(); parts.takeover.stop(); parts.witnesses.stop(); parts.registry.stop(); parts.reputation.stop() }
      rdoc.stop()
    },
    stats: () => ({ doc: rdoc.stats(), registry: need().registry.stats(), takeover: need().takeover.stats(), witness: need().witnesses.stats() })
  }
}
