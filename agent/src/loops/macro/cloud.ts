// The macro loop's cloud half: collects every edge's verified recovery
// outcomes over the mesh into fleet-wide outcome statistics
// (@homeostat/learning) and publishes them as fleet priors on the policy
// topic. Edges (the edge half, ./edge.ts) import priors only from a peer that
// announced itself as `cloud`; gossipsub signs every message (StrictSign), so
// a policy cannot be forged by a third peer. Its timers are the agent's.
import { join } from 'node:path'
import { Counter, Gauge } from 'prom-client'
import { createLearning, createStoreJsonStore, exportPriors, type PriorsDocument, type Learning } from '@homeostat/learning'
import { catalogueDefaultPrior, DEFAULT_CATALOGUE } from '@homeostat/planner'
import { every, OUTCOME_TOPIC, POLICY_TOPIC } from '@homeostat/interface'
import type { Mesh } from '@homeostat/mesh'
import type { AgentLoop, LoopContext } from '../contract.ts'
import { logImport } from '../../state/legacy-import.ts'

export const MACRO_DEFAULTS = {
  /** Fleet priors are published at most this often, and only after new outcomes. */
  publishEveryMs: 10_000,
  /** Re-publish unchanged priors this often so late joiners get them. */
  republishEveryMs: 60_000
}

export interface MacroLoop extends AgentLoop {
  readonly learning: () => Learning | undefined
  /** The last priors published. */
  readonly published: () => { version: number, priors: PriorsDocument } | undefined
  /** What the policy view shows of them. */
  readonly summary: () => { version: number, entries: number, outcomes: number } | null
}

export function createMacroLoop (ctx: LoopContext, mesh: () => Mesh | undefined, peerName: (peer: string) => string | undefined): MacroLoop | undefined {
  if (ctx.role !== 'cloud') return undefined
  const log = ctx.logger.child({ loop: 'macro' })
  let learning: Learning | undefined
  let unsub: (() => void) | undefined
  let stopTick: (() => void) | undefined
  let version = 0
  let dirty = false
  let outcomes = 0
  let lastPublishMs = 0
  let last: { version: number, priors: PriorsDocument } | undefined
  const received = new Counter({ name: 'homeostat_macro_outcomes_received_total', help: 'Recovery outcomes received from the fleet, by acceptance', labelNames: ['result'], registers: [ctx.metrics.registry] })
  const publishedC = new Counter({ name: 'homeostat_macro_policy_published_total', help: 'Fleet priors published', registers: [ctx.metrics.registry] })
  new Gauge({ name: 'homeostat_macro_policy_version', help: 'Version of the fleet priors last published', registers: [ctx.metrics.registry], collect () { this.set(version) } })

  const publish = async (force: boolean) => {
    const m = mesh()
    if (m === undefined || learning === undefined) return
    const now = ctx.now()
    if (!force && !(dirty && now - lastPublishMs >= MACRO_DEFAULTS.publishEveryMs) && now - lastPublishMs < MACRO_DEFAULTS.republishEveryMs) return
    if (dirty) version++
    dirty = false
    const priors = exportPriors(learning.outcomes, ctx.nodeName, now)
    last = { version, priors }
    lastPublishMs = now
    try {
      await m.publish(POLICY_TOPIC, 'policy.priors', { version, priors, outcomes })
      publishedC.inc()
      ctx.events.emit('config', { macro: 'published', version, entries: priors.entries.length })
      log.info({ version, entries: priors.entries.length, outcomes }, 'fleet priors published')
    } catch (err) { log.debug({ err: (err as Error).message }, 'priors publish failed (no peers?)') }
  }

  return {
    name: 'macro',
    learning: () => learning,
    published: () => last,
    summary: () => last === undefined ? null : { version: last.version, entries: last.priors.entries.length, outcomes },
    async start () {
      const m = mesh()
      if (m === undefined) throw new Error('the macro loop needs the mesh (mesh.enabled: true on the cloud peer)')
      learning = createLearning({
        defaultPrior: catalogueDefaultPrior(DEFAULT_CATALOGUE),
        now: ctx.now,
        store: createStoreJsonStore(ctx.store(), 'fleet-learning', { legacy: { dir: join(ctx.config().dataDir, 'fleet-learning'), onImport: logImport(log, 'fleet-learning') } }),
        source: ctx.nodeName
      })
      const r = await learning.load()
      log.info({ loaded: r.loaded }, 'fleet learning state loaded')
      unsub = m.subscribe(OUTCOME_TOPIC, (msg) => {
        const o = msg.envelope.body
        // An edge reports its own outcomes only.
        if (peerName(msg.envelope.from) !== o.node) { received.inc({ result: 'rejected' }); ctx.metrics.invalidInput.inc({ source: 'mesh-outcome' }); return }
        learning!.recordOutcome(o)
        outcomes++
        dirty = true
        received.inc({ result: 'accepted' })
      })
      stopTick = every(ctx.timers, 1000, () => { void publish(false) })
    },
    async stop () {
      stopTick?.()
      unsub?.()
      try { await learning?.save() } catch (err) { log.warn({ err: (err as Error).message }, 'saving fleet learning failed') }
    }
  }
}
