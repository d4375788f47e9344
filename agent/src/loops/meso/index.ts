// The meso loop: the libp2p mesh (@homeostat/mesh), the Yjs coordination
// state (@homeostat/coordination: intervention registry, reputation,
// takeover) and the agent's own fleet gossip — a status report every few
// seconds and every incident update — which is what the cloud peer's
// dashboard shows as "the fleet". It answers for the peers, interventions and
// reputation views and the `mesh` status section; it reads this node's
// components from the micro loop and hosts relocatable components through its
// supervisor (both handed in by loops/index.ts). Its timers and clock are the
// agent's; its mesh is the real libp2p node unless `createMesh` gives another
// (the simulated mesh, for a run on virtual time).
import { join } from 'node:path'
import { createMeshNode, fileIdentity, parseSwarmKey, type Mesh, type MeshNode } from '@homeostat/mesh'
import { labelledHlc } from '@homeostat/hlc'
import { createCoordinator, targetNode, type Coordinator, type Claim } from '@homeostat/coordination'
import { every, INCIDENT_TOPIC, isDefinitiveDeath, STATUS_TOPIC, WIRE_LIMITS, type AgentStatus, type Anomaly, type Incident } from '@homeostat/interface'
import { Gauge } from 'prom-client'
import type { AgentLoop, LoopContext, LoopProvides } from '../contract.ts'
import type { ComponentView, PeerView, InterventionView } from '../../state/providers.ts'
import { checkSwarmKey } from '../../datadir.ts'
import type { WorkloadHost } from './relocation.ts'
import type { Quorum } from './claims.ts'
import type { Placement } from '../micro/index.ts'
import { docPersistence } from '../../state/doc-persistence.ts'
import { statGauge } from '../../metrics.ts'

export const MESO_DEFAULTS = {
  /** Status gossip period: the cloud's fleet view is at most this stale; ~300 B per report keeps a node well under 1 KiB/s. */
  statusEveryMs: 2000,
  /** Peers whose status we keep (bounded fan-in on the cloud peer). */
  maxPeers: 1024,
  /** Components listed per status report. */
  maxComponentsPerReport: WIRE_LIMITS.componentsPerReport,
  /** Bootstrap addresses re-dialled per period (bounded fan-out). */
  maxBootstrapDials: 16,
  /** On a graceful stop, longest we wait for our relocatable copies to stop before handing them over anyway. */
  leaveBudgetMs: 3000,
  /** Peers' anomalies kept for local diagnosis (bounded; the oldest go first). */
  maxRemoteAnomalies: 256,
  /** …and for how long: a remote cause precedes local symptoms by seconds, five minutes is generous. */
  remoteAnomalyWindowMs: 300_000
}

type StatusBody = AgentStatus
export { STATUS_TOPIC, INCIDENT_TOPIC }

/** The mesh the meso loop runs on: the real libp2p node has the optional parts; the simulated mesh has the core. */
export type MesoMesh = Mesh & Partial<Pick<MeshNode, 'multiaddrs' | 'dial' | 'score' | 'libp2p' | 'hlc'>>

export interface MesoLoop extends AgentLoop {
  readonly mesh: () => MesoMesh | undefined
  /** The name a peer announced in its status reports. */
  readonly peerName: (peer: string) => string | undefined
  /** The role a peer announced in its status reports. */
  readonly peerRole: (peer: string) => 'edge' | 'cloud' | undefined
  /** Where the fleet runs this node's relocatable components (for the micro loop's components view). */
  readonly placement: () => Placement | undefined
  /** The fleet's peers as this node sees them (also this loop's `peers` provider). */
  readonly peers: () => PeerView[]
  /** Fleet members reachable now / known (self included). Not members: peers that left gracefully or whose host refused the connection (agent down); other dead peers (maybe only cut off) are, until the mesh forgets them (10 min). */
  readonly quorum: () => Quorum | undefined
  readonly coordinator: () => Coordinator | undefined
  /** Recent anomalies from peers' incident reports (their own HLC stamps), for the local diagnosis. */
  readonly remoteAnomalies: () => Anomaly[]
}

/**
 * Fleet members reachable now / known, this node included (pure). Not members: peers that left gracefully,
 * dead peers whose host refused the connection (agent stopped), and peers known to be no agent (a
 * monitoring tool holding the swarm key). A peer not identified yet counts: identify takes milliseconds,
 * and counting it is the cautious side of a majority.
 */
export function quorumOf (peers: ReadonlyArray<{ peer: string, state: string, kind?: string }>, leaving: (peer: string) => boolean, stopped: (peer: string) => boolean): Quorum {
  let members = 1
  let reachable = 1
  for (const p of peers) {
    if (p.kind === 'other' || leaving(p.peer) || (p.state === 'dead' && stopped(p.peer))) continue
    members++
    if (p.state === 'alive') reachable++
  }
  return { reachable, members }
}

export interface MesoLoopOptions {
  /** Runs relocatable components here when the fleet places them on this node (the micro loop's supervisor). */
  host?: WorkloadHost
  /** This node's components (the micro loop's view), reported to the fleet. */
  components?: () => ComponentView[]
  /** The mesh to run on (default: the libp2p node the config describes); given the swarm key, identity store and HLC factory. */
  createMesh?: (o: { ctx: LoopContext }) => Promise<MesoMesh>
}

export function createMesoLoop (ctx: LoopContext, opts: MesoLoopOptions = {}): MesoLoop | undefined {
  const cfg = ctx.config()
  if (!cfg.config.mesh.enabled) return undefined
  let mesh: MesoMesh | undefined
  let coord: Coordinator | undefined
  let coordStarted = false
  let stopTick: (() => void) | undefined
  const unsubs: Array<() => void> = []
  const status = new Map<string, StatusBody & { peer: string, lastSeenMs: number }>()
  /** Closed incidents already counted into reputation (peer, incident id). */
  const observed = new Set<string>()
  /** Anomalies from peers' incident reports, by id, oldest first (bounded by MESO_DEFAULTS.maxRemoteAnomalies). */
  const remote = new Map<string, Anomaly>()
  /** Peers declared dead because their host refused the connection (agent stopped or crashed): not fleet members for the quorum. */
  const stopped = new Set<string>()
  const log = ctx.logger.child({ loop: 'meso' })
  const isCloud = ctx.role === 'cloud'

  const host = opts.host
  /** Re-publishes our free capacity (every status period, once relocatable components are declared). */
  let capacityTick: (() => void) | undefined
  /** Publishes what we can host, declares our relocatable components, hands over those that fail here. */
  const placeRelocatable = async (co: Coordinator, h: WorkloadHost): Promise<void> => {
    const specs = h.specs()
    if (specs.length === 0) return
    const names = specs.map((w) => w.name)
    const publishCapacity = (): void => { co.takeover.setCapacity({ ...h.capacity(), workloads: names }) }
    publishCapacity()
    capacityTick = publishCapacity
    // Declaring starts a component only if no live node runs it already; the claim makes nodes that boot
    // together start one copy between them.
    for (const w of specs) await co.takeover.declare(w, { claim: true })
    unsubs.push(h.onQuarantined((name) => {
      if (!names.includes(name) || !co.takeover.running().includes(name)) return
      log.warn({ component: name }, 'relocatable component quarantined here: handing it to another node')
      co.takeover.release(name).catch((err: Error) => log.warn({ component: name, err: err.message }, 'hand-over failed'))
    }))
    unsubs.push(h.onReleased((name) => {
      if (!names.includes(name)) return
      // The operator fixed this node: host the component again when the fleet needs a place for it.
      if (co.takeover.reinstate(name)) log.info({ component: name }, 'relocatable component released here: offering to host it again')
    }))
  }
  /** Where the fleet runs a relocatable component (the micro loop shows the ones elsewhere as standby). */
  const placement = (): Placement | undefined => {
    const co = coordStarted ? coord : undefined
    if (co === undefined) return undefined
    return {
      runsHere: (name) => co.takeover.running().includes(name),
      runsOn: (name) => {
        const owner = co.takeover.owner(name)?.owner
        return owner === undefined ? undefined : owner === mesh?.peerId ? ctx.nodeName : status.get(owner)?.name ?? owner
      }
    }
  }
  const meshLogger = {
    debug: (o: object, m?: string) => log.debug(o, m),
    info: (o: object, m?: string) => log.info(o, m),
    warn: (o: object, m?: string) => log.warn(o, m)
  }

  const myStatus = (leaving = false): StatusBody => {
    const comps = (opts.components?.() ?? []).slice(0, MESO_DEFAULTS.maxComponentsPerReport).map((c): ComponentView => ({
      name: c.name, state: c.state.slice(0, 32), health: c.health, pid: c.pid, restarts: c.restarts, detail: c.detail?.slice(0, 256)
    }))
    const score = comps.length === 0 ? 1 : comps.reduce((a, c) => a + (c.health === 'ok' ? 1 : c.health === 'degraded' ? 0.5 : c.health === 'unknown' ? 0.75 : 0), 0) / comps.length
    return {
      name: ctx.nodeName,
      role: ctx.role,
      health: Math.round(score * 1000) / 1000,
      components: comps,
      incidentsOpen: ctx.incidents.list({ node: ctx.nodeName }).filter((i) => i.status === 'open' || i.status === 'recovering').length,
      apiUrl: ctx.apiUrl(),
      atMs: ctx.now(),
      ...(leaving ? { leaving: true } : {})
    }
  }

  const publishStatus = async (leaving = false) => {
    if (mesh === undefined) return
    try { await mesh.publish(STATUS_TOPIC, 'agent.status', myStatus(leaving)) } catch (err) { log.debug({ err: (err as Error).message }, 'status publish failed (no peers yet?)') }
  }

  const peers = (): PeerView[] => {
    if (mesh === undefined) return []
    const out: PeerView[] = []
    const known = new Set<string>()
    for (const p of mesh.peers()) {
      known.add(p.peer)
      const s = status.get(p.peer)
      out.push({
        peer: p.peer,
        name: s?.name,
        role: s?.role,
        state: s?.leaving === true ? 'dead' : p.state,
        kind: p.kind,
        rttMs: p.rttMs,
        sinceMs: p.sinceMs,
        health: s?.health,
        components: s?.components,
        apiUrl: s?.apiUrl,
        lastSeenMs: s?.lastSeenMs,
        incidentsOpen: s?.incidentsOpen,
        reputation: coord?.reputation.score(p.peer)
      })
    }
    for (const [peer, s] of status) {
      if (known.has(peer)) continue
      out.push({ peer, name: s.name, role: s.role, state: 'dead', health: s.health, components: s.components, lastSeenMs: s.lastSeenMs, incidentsOpen: s.incidentsOpen, reputation: coord?.reputation.score(peer) })
    }
    return out
  }

  /** Fleet members reachable now / known, for shared restarts (see MesoLoop.quorum). */
  const quorum = (): Quorum | undefined => mesh === undefined ? undefined : quorumOf(mesh.peers(), (p) => status.get(p)?.leaving === true, (p) => stopped.has(p))

  const interventions = (): InterventionView[] => {
    if (coord === undefined) return []
    const now = ctx.now()
    const out: InterventionView[] = []
    const names = new Map([...status.entries()].map(([p, s]) => [p, s.name]))
    names.set(mesh?.peerId ?? '', ctx.nodeName)
    for (const c of coord.rdoc.map<Claim>('claims').values()) {
      const live = c.state !== 'released' && c.expiresMs > now
      const cooling = c.state === 'released' && (c.cooldownUntilMs ?? 0) > now
      if (!live && !cooling) continue
      // A node's own component (`node:<peer>/<name>`) reads as `<node name>/<name>`.
      const scope = targetNode(c.target)
      out.push({
        target: scope === undefined ? c.target : `${names.get(scope) ?? scope}/${c.target.slice(scope.length + 6)}`,
        action: c.action,
        owner: names.get(c.owner) ?? c.owner,
        state: cooling ? 'cooldown' : c.state === 'acting' ? 'acting' : 'claimed',
        sinceMs: now,
        expiresMs: cooling ? c.cooldownUntilMs : c.expiresMs,
        incidentId: c.detail
      })
    }
    return out.slice(0, 500)
  }

  const metricGauges = (): void => {
    const reg = ctx.metrics.registry
    const stat = (name: string, help: string, f: (s: ReturnType<MeshNode['stats']>) => number) => new Gauge({
      name, help, registers: [reg], collect () { if (mesh !== undefined) this.set(f(mesh.stats())) }
    })
    stat('homeostat_meso_gossip_published', 'Envelopes this node published (cumulative)', (s) => s.published)
    stat('homeostat_meso_gossip_delivered', 'Valid envelopes delivered to this node (cumulative)', (s) => s.delivered)
    stat('homeostat_meso_gossip_bytes_sent', 'Gossip payload bytes sent (cumulative)', (s) => s.bytesSent)
    stat('homeostat_meso_gossip_bytes_received', 'Gossip payload bytes received (cumulative)', (s) => s.bytesReceived)
    new Gauge({
      name: 'homeostat_meso_gossip_rejected',
      help: 'Envelopes rejected by reason (schema, size, forged, clock, json; cumulative)',
      labelNames: ['reason'],
      registers: [reg],
      collect () { if (mesh !== undefined) for (const [k, v] of Object.entries(mesh.stats().rejected)) this.set({ reason: k }, v) }
    })
    new Gauge({
      name: 'homeostat_meso_libp2p_connections',
      help: 'Open libp2p connections',
      registers: [reg],
      collect () { if (mesh?.libp2p !== undefined) this.set(mesh.libp2p.getConnections().length) }
    })
    new Gauge({
      name: 'homeostat_meso_gossipsub_peer_score',
      help: 'gossipsub score per connected peer',
      labelNames: ['peer'],
      registers: [reg],
      collect () {
        this.reset()
        const score = mesh?.score
        if (mesh !== undefined && score !== undefined) for (const p of mesh.peers().slice(0, 64)) this.set({ peer: p.peer }, score(p.peer))
      }
    })
    new Gauge({
      name: 'homeostat_meso_reputation',
      help: 'Beta reputation per peer in [0,1] (coordination)',
      labelNames: ['peer'],
      registers: [reg],
      collect () {
        this.reset()
        if (coord !== undefined) for (const e of coord.reputation.all().slice(0, 256)) this.set({ peer: e.peer }, e.score)
      }
    })
    statGauge(reg, 'homeostat_meso_takeover_stat', 'Relocatable workload takeover counters (takeovers, duplicatesStopped, claimsLost, startFailures, ownerAnswered, heldAfterHeal, ownerNotDeadToWitness; cumulative)', () => coord?.takeover.stats())
    statGauge(reg, 'homeostat_meso_witness_stat', 'Witness counters (checks we ran before takeovers, checksNotDead: a trusted witness still saw the owner alive or only suspected it; answered and refused questions from others; cumulative)', () => coord?.stats().witness)
    new Gauge({
      name: 'homeostat_meso_relocatable_running',
      help: 'Relocatable components running on this node now',
      registers: [reg],
      collect () { this.set(coord?.takeover.running().length ?? 0) }
    })
    statGauge(reg, 'homeostat_meso_registry_stat', 'Intervention registry counters (claims, granted, lost, refused, released, preempted; distrustedWrites: claim writes from quarantined peers, unauthorizedClaims: claims on another node\'s own components, neither accepted; cumulative)', () => coord?.registry.stats())
    new Gauge({
      name: 'homeostat_meso_claims_held',
      help: 'Intervention claims this node holds',
      registers: [reg],
      collect () { this.set(coord?.registry.held().length ?? 0) }
    })
    const peersGauge = ctx.metrics.peers
    new Gauge({
      name: 'homeostat_meso_peers_known', help: 'Peers with a status report', registers: [reg],
      collect () {
        this.set(status.size)
        if (mesh !== undefined) {
          const counts: Record<string, number> = { alive: 0, suspect: 0, dead: 0 }
          for (const p of mesh.peers()) counts[p.state] = (counts[p.state] ?? 0) + 1
          for (const [k, v] of Object.entries(counts)) peersGauge.set({ state: k }, v)
        }
      }
    })
  }

  const reputation = (): ReturnType<NonNullable<NonNullable<LoopProvides['providers']>['reputation']>> => ({
    available: true,
    peers: coord === undefined
      ? []
      : coord.reputation.all().map((e) => ({ peer: e.peer, name: status.get(e.peer)?.name ?? (e.peer === mesh?.peerId ? ctx.nodeName : undefined), score: e.score, evidence: e.evidence, credibility: e.credibility, quarantined: e.quarantined }))
  })

  /** The libp2p node the config describes (the default mesh). */
  const realMesh = async (): Promise<MesoMesh> => {
    const c = ctx.config()
    const swarmKey = parseSwarmKey(checkSwarmKey(c.swarmKeyFile))
    return await createMeshNode({
      swarmKey,
      listen: c.config.mesh.listen,
      bootstrap: c.config.mesh.bootstrap,
      mdns: c.config.mesh.mdns,
      identity: fileIdentity(join(c.dataDir, 'peer.key')),
      // One clock per agent: the mesh stamps and receives on the agent's HLC, under the peer id.
      hlc: (peerId: string) => labelledHlc(ctx.hlc, peerId),
      logger: meshLogger,
      now: ctx.now
    })
  }

  return {
    name: 'meso',
    provides: () => ({
      providers: { peers, interventions, reputation },
      status: { mesh: () => mesh === undefined ? undefined : { peerId: mesh.peerId, addrs: mesh.multiaddrs?.() ?? [], quorum: quorum(), stats: mesh.stats() } }
    }),
    mesh: () => mesh,
    peerName: (peer) => status.get(peer)?.name,
    peerRole: (peer) => status.get(peer)?.role,
    placement,
    peers,
    quorum,
    // Only once started: a claim on a coordinator still starting throws ('coordinator not started').
    coordinator: () => coordStarted ? coord : undefined,
    remoteAnomalies: () => { const since = ctx.now() - MESO_DEFAULTS.remoteAnomalyWindowMs; return [...remote.values()].filter((a) => a.atMs >= since) },
    async start () {
      const c = ctx.config()
      const m0 = await (opts.createMesh?.({ ctx }) ?? realMesh())
      mesh = m0
      await m0.start()
      unsubs.push(mesh.subscribe(STATUS_TOPIC, (m) => {
        if (status.size >= MESO_DEFAULTS.maxPeers && !status.has(m.envelope.from)) return
        status.set(m.envelope.from, { ...m.envelope.body, peer: m.envelope.from, lastSeenMs: ctx.now() })
        ctx.recordHealth(m.envelope.body.name, m.envelope.body.health)
        ctx.events.emit('peer', { peer: m.envelope.from, name: m.envelope.body.name, health: m.envelope.body.health, leaving: m.envelope.body.leaving === true })
      }))
      unsubs.push(mesh.subscribe(INCIDENT_TOPIC, (m) => {
        const inc = m.envelope.body
        const s = status.get(m.envelope.from)
        // A peer may only report its own incidents (under the name it announced).
        if (s === undefined || s.name !== inc.node) {
          ctx.metrics.invalidInput.inc({ source: 'mesh-incident' })
          log.debug({ from: m.envelope.from, node: inc.node }, 'incident from a peer about another node: ignored')
          return
        }
        if (isCloud) ctx.incidents.upsert(inc, 'remote')
        // The peer's anomalies enter this node's diagnoses (a shared or remote dependency failing there).
        for (const a of inc.anomalies) {
          if (remote.has(a.id) || a.node !== inc.node) continue
          remote.set(a.id, a)
          if (remote.size > MESO_DEFAULTS.maxRemoteAnomalies) remote.delete(remote.keys().next().value as string)
        }
        // Reputation from observed outcomes: a peer that heals its incidents is reliable; one that escalates less so.
        const key = `${m.envelope.from}\u0000${inc.id}`
        if ((inc.status === 'recovered' || inc.status === 'escalated' || inc.status === 'quarantined') && !observed.has(key)) {
          observed.add(key)
          if (observed.size > 10_000) observed.delete(observed.values().next().value as string)
          coord?.reputation.observe(m.envelope.from, inc.status === 'recovered')
        }
      }))
      unsubs.push(mesh.onLiveness((e) => {
        // A peer whose host refused the connection (its agent is not running) is gone, not cut off.
        if (e.state === 'dead' && isDefinitiveDeath(e.reason)) { stopped.add(e.peer); if (stopped.size > MESO_DEFAULTS.maxPeers) stopped.delete(stopped.values().next().value as string) } else if (e.state === 'alive') stopped.delete(e.peer)
        const s = status.get(e.peer)
        ctx.events.emit('peer', { peer: e.peer, name: s?.name, state: e.state, reason: e.reason })
        log.info({ peer: e.peer, name: s?.name, state: e.state, reason: e.reason }, 'peer liveness')
      }))
      unsubs.push(ctx.events.subscribe((e) => {
        if (e.type !== 'incident') return
        const d = e.data as { origin: string, incident: Incident }
        if (d.origin !== 'local' || mesh === undefined) return
        mesh.publish(INCIDENT_TOPIC, 'incident.update', d.incident).catch((err: Error) => log.debug({ err: err.message }, 'incident publish failed'))
      }))

      coord = createCoordinator({
        mesh: m0,
        hlc: m0.hlc ?? labelledHlc(ctx.hlc, m0.peerId),
        now: ctx.now,
        timers: ctx.timers,
        persistence: docPersistence(ctx.store(), 'meso-yjs', { legacyFile: join(c.dataDir, 'meso.yjs.log'), log: (m, f) => log.info(f, m) }),
        onReject: (peer, reason, detail) => {
          ctx.metrics.invalidInput.inc({ source: 'coordination' })
          log.warn({ peer, reason, detail }, 'rejected coordination input')
        },
        ...(host !== undefined
          ? {
              onStartWorkload: async (spec) => {
                log.info({ component: spec.name }, 'relocatable component placed here: starting it')
                try { await host.start(spec.name) } catch (err) { log.warn({ component: spec.name, err: (err as Error).message }, 'relocatable component did not start here; the fleet will place it elsewhere'); throw err }
              },
              onStopWorkload: async (name, reason) => {
                log.info({ component: name, reason }, reason === 'duplicate' ? 'relocatable component runs elsewhere too (a partition healed): stopping our copy' : 'relocatable component handed over: stopping our copy')
                await host.stop(name, `relocation: ${reason}`)
              },
              onTakeover: (spec, from) => {
                const fromName = from === undefined ? undefined : status.get(from)?.name ?? from
                log.info({ component: spec.name, from: fromName }, 'took over a relocatable component')
                ctx.events.emit('takeover', { component: spec.name, from: fromName })
              }
            }
          : {})
      })
      await coord.start()
      coordStarted = true
      unsubs.push(coord.registry.onPreempted((target, by) => {
        log.warn({ target, by: status.get(by.owner)?.name ?? by.owner, action: by.action }, 'our intervention claim was overtaken (a rival acting claim surfaced after a heal, or we were quarantined)')
      }))
      if (host !== undefined) await placeRelocatable(coord, host)
      unsubs.push(coord.rdoc.onChange(() => { ctx.events.emit('intervention', { count: interventions().length }) }))

      metricGauges()
      await publishStatus()
      // Bootstrap peers we are not connected to are re-dialled every status
      // period (a dial can fail while the peer is still starting).
      let dialFailures = 0
      const redial = () => {
        if (mesh === undefined) return
        const alive = new Set(mesh.peers().filter((p) => p.state === 'alive').map((p) => p.peer))
        const dial = mesh.dial
        if (dial === undefined) return // a mesh without addresses (the simulated one) finds its peers itself
        for (const addr of ctx.config().config.mesh.bootstrap.slice(0, MESO_DEFAULTS.maxBootstrapDials)) {
          const id = addr.split('/p2p/')[1]
          if (id !== undefined && alive.has(id)) continue
          dial(addr).catch((err: Error) => {
            dialFailures++
            const lvl = dialFailures <= 3 ? 'warn' : 'debug'
            log[lvl]({ addr, err: err.message }, 'bootstrap dial failed; will retry')
          })
        }
      }
      stopTick = every(ctx.timers, MESO_DEFAULTS.statusEveryMs, () => { redial(); capacityTick?.(); void publishStatus() })
    },
    async stop () {
      stopTick?.()
      // Hand our relocatable components over (our copies stop first), release what we hold,
      // tell the fleet we are leaving, then leave.
      if (coord !== undefined && host !== undefined) {
        let t: NodeJS.Timeout | undefined
        await Promise.race([
          coord.takeover.leave().catch((err: Error) => { log.warn({ err: err.message }, 'handing relocatable components over failed') }),
          new Promise((resolve) => { t = setTimeout(resolve, MESO_DEFAULTS.leaveBudgetMs) })
        ])
        clearTimeout(t)
      }
      try {
        if (coord !== undefined) for (const t of coord.registry.held()) coord.registry.release(t, 'aborted', { detail: 'agent shutting down' })
        coord?.reputation.flush()
      } catch (err) { log.warn({ err: (err as Error).message }, 'releasing claims failed') }
      await Promise.race([publishStatus(true), new Promise((r) => setTimeout(r, 300))])
      for (const u of unsubs.splice(0)) u()
      coordStarted = false
      coord?.stop()
      await mesh?.stop()
      mesh = undefined
    },
    async reload (next) {
      const c = ctx.config()
      const a = c.config.mesh; const b = next.config.mesh
      if (a.enabled !== b.enabled || JSON.stringify(a.listen) !== JSON.stringify(b.listen) || a.swarmKeyFile !== b.swarmKeyFile) {
        throw new Error('mesh.enabled, mesh.listen and mesh.swarmKeyFile cannot change while running (restart the agent)')
      }
      for (const addr of b.bootstrap) {
        if (!a.bootstrap.includes(addr)) mesh?.dial?.(addr).catch((err: Error) => log.warn({ addr, err: err.message }, 'dial of a new bootstrap peer failed'))
      }
    },
    ready: () => mesh !== undefined
  }
}
