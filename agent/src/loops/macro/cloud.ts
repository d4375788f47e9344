// The macro loop (cloud peer): collects every edge's verified recovery
// outcomes over the mesh into fleet-wide outcome statistics
// (@homeostat/learning) and publishes them as fleet priors on the policy
// topic. Edges (the meso loop) import priors only from a peer that announced
// itself as `cloud`; gossipsub signs every message (StrictSign), so a policy
// cannot be forged by a third peer.
import { join } from 'node:path'
import { z } from 'zod'
import { Counter, Gauge } from 'prom-client'
import { createLearning, createFileJsonStore, exportPriors, type PriorsDocument, type Learning } from '@homeostat/learning'
import { catalogueDefaultPrior, DEFAULT_CATALOGUE } from '@homeostat/planner'
import { LIMITS, type Outcome } from '@homeostat/interface'
import type { MeshNode, Topic } from '@homeostat/mesh'
import type { AgentLoop, LoopContext } from '../daemon.ts'

export const MACRO_DEFAULTS = {
  /** Fleet priors are published at most this often, and only after new outcomes. */
  publishEveryMs: 10_000,
  /** Re-publish unchanged priors this often so late joiners get them. */
  republishEveryMs: 60_000
}

const cost = z.object({ cpuSeconds: z.number().min(0), memoryMb: z.number().min(0), bandwidthKb: z.number().min(0), disruptionSeconds: z.number().min(0) }).strict()
export const outcomeSchema = z.object({
  incidentId: z.string().min(1).max(LIMITS.nameLength),
  node: z.string().min(1).max(LIMITS.peerIdLength),
  component: z.string().min(1).max(LIMITS.nameLength),
  failureClass: z.string().min(1).max(LIMITS.nameLength),
  action: z.enum(['restart', 'kill', 'reload', 'rollback', 'degrade', 'throttle', 'free_disk', 'quarantine', 'relocate', 'escalate', 'none']),
  success: z.boolean(),
  durationMs: z.number().min(0).finite(),
  cost,
  hlc: z.string().min(21).max(20 + LIMITS.peerIdLength)
}).strict()

export const OUTCOME_TOPIC: Topic<Outcome> = { name: 'homeostat/outcomes/1', body: outcomeSchema as unknown as z.ZodType<Outcome> }

const policyBody = z.object({
  version: z.number().int().min(0),
  /** A learning priors document; validated again by importPriors. */
  priors: z.unknown(),
  outcomes: z.number().int().min(0)
}).strict()
export type PolicyBody = z.infer<typeof policyBody>
export const POLICY_TOPIC: Topic<PolicyBody> = { name: 'homeostat/policy/1', body: policyBody, maxBytes: LIMITS.bulkEnvelopeBytes }

export interface MacroLoop extends AgentLoop {
  readonly learning: () => Learning | undefined
  /** The last priors published. */
  readonly published: () => { version: number, priors: PriorsDocument } | undefined
}

export function createMacroLoop (ctx: LoopContext, mesh: () => MeshNode | undefined, peerName: (peer: string) => string | undefined): MacroLoop | undefined {
  if (ctx.role !== 'cloud') return undefined
  const log = ctx.logger.child({ loop: 'macro' })
  let learning: Learning | undefined
  let unsub: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
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
    async start () {
      const m = mesh()
      if (m === undefined) throw new Error('the macro loop needs the mesh (mesh.enabled: true on the cloud peer)')
      learning = createLearning({
        defaultPrior: catalogueDefaultPrior(DEFAULT_CATALOGUE),
        now: ctx.now,
        store: createFileJsonStore(join(ctx.config().dataDir, 'fleet-learning')),
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
      const prev = ctx.providers.policy
      ctx.providers.policy = () => ({ ...prev(), detail: { fleetPriors: last === undefined ? null : { version: last.version, entries: last.priors.entries.length, outcomes } } })
      timer = setInterval(() => { void publish(false) }, 1000)
      timer.unref()
    },
    async stop () {
      if (timer !== undefined) clearInterval(timer)
      unsub?.()
      try { await learning?.save() } catch (err) { log.warn({ err: (err as Error).message }, 'saving fleet learning failed') }
    }
  }
}
