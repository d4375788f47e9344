// The federated loop: edge agents keep training the fleet's model on local
// data (online or cut off), the cloud peer validates merged versions (canary)
// and compacts history. The model state is a Yjs document replicated over the
// mesh by @homeostat/coordination (owner-keyed, persisted in the data dir);
// each agent gossips a small status so the cloud's dashboard shows accuracy
// per node. (Shape follows the federated helper's draft of this loop.)
import { join } from 'node:path'
import { Counter, Gauge } from 'prom-client'
import { encode } from '@homeostat/hlc'
import { createReplicatedDoc, type ReplicatedDoc } from '@homeostat/coordination'
import { DOCUMENTS, every, FEDERATED_STATUS_TOPIC, type FederatedStatus } from '@homeostat/interface'
import {
  createFederatedService, storeCheckpointDir, loadMnist, splitNonIid, PARAMETER_COUNT, type FederatedService
} from '@homeostat/federated'
import type { Mesh } from '@homeostat/mesh'
import type { AgentLoop, LoopContext } from '../contract.ts'
import type { FederatedView, PeerView } from '../../state/providers.ts'
import { docPersistence } from '../../state/doc-persistence.ts'
import { logImport } from '../../state/legacy-import.ts'

export const FEDERATED_LOOP_DEFAULTS = {
  /** Status gossip period: the dashboard's per-node accuracy is at most this stale; ~150 B per report. */
  statusEveryMs: 5000,
  /** Nodes whose federated status we keep (bounded fan-in on the cloud peer). */
  maxNodes: 1024,
  /** Roots of the federated document (see @homeostat/federated's state). */
  roots: DOCUMENTS.federated
}

type StatusBody = FederatedStatus
export { FEDERATED_STATUS_TOPIC }

export interface FederatedLoopOptions {
  mesh: () => Mesh | undefined
  /** The fleet's peers (the meso loop's view): who announced itself as the cloud peer. */
  peers: () => PeerView[]
}

export function createFederatedLoop (ctx: LoopContext, o: FederatedLoopOptions): AgentLoop | undefined {
  const mesh = o.mesh
  const cfg = ctx.config().config.federated
  if (!cfg.enabled) return undefined
  const log = ctx.logger.child({ loop: 'federated' })
  let doc: ReplicatedDoc | undefined
  let service: FederatedService | undefined
  let stopTick: (() => void) | undefined
  let unsub: (() => void) | undefined
  const remote = new Map<string, StatusBody & { peer: string }>()
  const rounds = new Counter({ name: 'homeostat_federated_rounds_total', help: 'Local federated training rounds, by outcome', labelNames: ['result'], registers: [ctx.metrics.registry] })
  const rejected = new Counter({ name: 'homeostat_federated_rejected_total', help: 'Federated contributions or updates refused, by reason', labelNames: ['reason'], registers: [ctx.metrics.registry] })
  new Gauge({ name: 'homeostat_federated_accuracy', help: 'Accuracy of this node\'s merged model on the held-out set', registers: [ctx.metrics.registry], collect () { const a = service?.status().accuracy; if (a !== undefined) this.set(a) } })

  const myStatus = (): StatusBody => {
    const s = service!.status()
    return { name: ctx.nodeName, role: ctx.role, round: s.round, modelVersion: s.modelVersion, contributions: s.contributions, ...(s.accuracy !== undefined ? { accuracy: s.accuracy } : {}), atMs: ctx.now() }
  }

  const view = (): FederatedView => {
    if (service === undefined) return { available: false, nodes: [] }
    const me = myStatus()
    const nodes = [me, ...[...remote.values()].filter((s) => s.name !== me.name)]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((s) => ({ node: s.name, round: s.round, contributions: s.contributions, atMs: s.atMs, ...(s.accuracy !== undefined ? { accuracy: s.accuracy } : {}) }))
    return { available: true, modelVersion: String(me.modelVersion), nodes }
  }

  return {
    name: 'federated',
    provides: () => ({ providers: { federated: view } }),
    async start () {
      const m = mesh()
      if (m === undefined) { log.warn('federated training needs the mesh (mesh.enabled: true); it stays off'); return }
      const c = ctx.config()
      const f = c.config.federated
      // The shard of MNIST this node trains on (the stand-in for local data), and the held-out sets.
      const split = splitNonIid(loadMnist(), { nodes: f.shards, seed: f.seed })
      const isEdge = ctx.role === 'edge'
      doc = createReplicatedDoc({
        mesh: m,
        name: 'federated',
        roots: FEDERATED_LOOP_DEFAULTS.roots,
        persistence: docPersistence(ctx.store(), 'federated-yjs', { legacyFile: join(c.dataDir, 'federated.yjs.log'), log: (m, f) => log.info(f, m) }),
        now: ctx.now,
        timers: ctx.timers,
        onReject: (peer, reason, detail) => { rejected.inc({ reason }); ctx.metrics.invalidInput.inc({ source: 'federated' }); log.warn({ peer, reason, detail }, 'federated update rejected') }
      })
      await doc.start()
      service = createFederatedService({
        node: m.peerId,
        train: isEdge,
        validate: !isEdge,
        // Only a peer that announced itself as the cloud (or this node, when it is the cloud) may publish checkpoints.
        trustCheckpointAuthor: (author) => author === m.peerId ? !isEdge : o.peers().some((p) => p.peer === author && p.role === 'cloud'),
        doc: doc.doc,
        stamp: () => encode(ctx.hlc.now()),
        seed: f.seed * 1000 + f.shard,
        ...(isEdge ? { data: split.nodes[f.shard % f.shards] } : {}),
        reference: split.reference,
        test: split.test,
        checkpoints: storeCheckpointDir(ctx.store(), 'checkpoints', PARAMETER_COUNT, { legacy: { dir: join(c.dataDir, 'checkpoints'), onImport: logImport(log, 'checkpoints') } }),
        timers: ctx.timers,
        now: ctx.now,
        options: { roundIntervalMs: f.roundIntervalMs },
        onEvent: (e) => {
          if (e.type === 'round') rounds.inc({ result: e.report.contributionId !== undefined ? 'contributed' : 'skipped' })
          if (e.type === 'rejected') { rejected.inc({ reason: e.reason }); log.warn({ node: e.node, reason: e.reason, detail: e.detail }, 'federated contribution rejected') }
          if (e.type === 'signal') log.warn({ round: e.round, signals: e.signals, action: e.action }, 'training health')
          if (e.type === 'canary') log.info({ version: e.decision.version, verdict: e.decision.verdict, accuracy: e.decision.accuracy }, 'canary')
          if (e.type === 'error') log.error({ err: e.message }, 'federated step failed')
          if (e.type !== 'round' || e.report.round % 5 === 0) ctx.events.emit('federated', e)
        }
      })
      service.start()
      unsub = m.subscribe(FEDERATED_STATUS_TOPIC, (msg) => {
        if (remote.size >= FEDERATED_LOOP_DEFAULTS.maxNodes && !remote.has(msg.envelope.from)) return
        remote.set(msg.envelope.from, { ...msg.envelope.body, peer: msg.envelope.from })
      })
      stopTick = every(ctx.timers, FEDERATED_LOOP_DEFAULTS.statusEveryMs, () => { void m.publish(FEDERATED_STATUS_TOPIC, 'federated.status', myStatus()).catch(() => {}) })
      log.info({ role: ctx.role, shard: f.shard, shards: f.shards, roundIntervalMs: f.roundIntervalMs }, 'federated training started')
    },
    async stop () {
      stopTick?.()
      unsub?.()
      service?.stop()
      doc?.stop()
    }
  }
}
