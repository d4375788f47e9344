// An in-memory mesh with virtual time and seeded faults. Every node exposes the
// same `Mesh` interface as the libp2p node, so coordination code runs unchanged
// with hundreds of agents in one process, reproducibly from a seed.
//
// Model: gossip is delivered to every reachable started node (a perfect
// gossipsub mesh) subject to drop / duplicate / delay / reorder faults; direct
// requests are reliable streams (no drop) that fail when the peer is not
// reachable. Liveness mimics the real mesh: a crash closes connections at once
// (`connection:close` → suspect) and, while the crashed node's host can be
// reached, the redial is refused (`connection:lost` → dead, a definitive death)
// one round trip later; a partition is only noticed by ping timeout, and a
// silent suspect is declared dead after the suspicion timeout.
//
// Peer kinds: a node added with `kind: 'other'` stands for a peer that holds
// the swarm key but is not an agent (a stock libp2p node). Everyone sees it
// with that kind at once (the libp2p mesh learns it from identify within
// milliseconds), alive while reachable, and never among `members()`. It still
// has a whole SimMesh (gossip, requests), as a stock gossipsub node has.
import { createHlc, decode as decodeHlc, encode as encodeHlc, HlcClockOffsetError, type Hlc, type HlcTimestamp } from '@homeostat/hlc'
import { decodeEnvelope, encodeEnvelope, LIMITS, LIVENESS_REASONS, parseWith, seededRandom, TooLargeError, type Envelope, type Timers } from '@homeostat/interface'
import type { Liveness, LivenessEvent, Mesh, MeshMessage, MeshStats, PeerKind, PeerState, RequestHandler, Topic } from '../types.ts'
import { createScheduler, type Scheduler } from './scheduler.ts'

export const SIM_DEFAULTS = {
  /** Virtual epoch: a realistic wall time so HLC encodings look like production. */
  startMs: 1_700_000_000_000,
  /** One-way latency range, ms: loopback-to-LAN. */
  minLatencyMs: 2,
  maxLatencyMs: 12,
  /** Extra delay of a reordered message, ms: long enough to overtake neighbours. */
  reorderDelayMs: 60,
  /** A cut-off peer is suspected after a missed ping: the libp2p mesh pings every 500–1000 ms. */
  suspectAfterMs: 750,
  /** Suspect → dead: the mesh's suspicion timeout. */
  deadAfterMs: 1000,
  /** Request timeout when the caller gives none (matches a direct stream's default). */
  requestTimeoutMs: 5000,
  /** Request/response size cap when none is given. */
  requestMaxBytes: LIMITS.bulkEnvelopeBytes,
  /** Liveness handlers and subscriptions per node: a leak must fail loudly. */
  maxHandlers: 1024
} as const

export interface SimFaults {
  /** Probability a gossip delivery to one recipient is lost. */
  dropRate: number
  /** Probability a gossip delivery is delivered twice. */
  duplicateRate: number
  /** Probability a delivery gets `reorderDelayMs` extra delay. */
  reorderRate: number
  minLatencyMs: number
  maxLatencyMs: number
  reorderDelayMs: number
}

export interface SimNetworkOptions extends Partial<SimFaults> {
  seed: number
  startMs?: number
  suspectAfterMs?: number
  deadAfterMs?: number
  /** HLC max offset for every node (see @homeostat/hlc). */
  maxOffsetMs?: number
}

export interface SimNodeOptions {
  id?: string
  /** Constant offset of this node's physical clock from virtual time, ms. */
  skewMs?: number
  /** Clock drift in parts per million (100 ppm = 0.36 s/h). */
  driftPpm?: number
  /** `other`: a peer that is not an agent (default `agent`); see the header. */
  kind?: Exclude<PeerKind, 'unknown'>
}

/** setTimeout/clearTimeout in virtual time, bound to one node incarnation: a crash cancels them. */
export type SimTimers = Timers

export interface SimNode {
  readonly id: string
  readonly mesh: SimMesh
  readonly hlc: Hlc
  /** This node's (skewed, drifting) physical clock. */
  readonly now: () => number
  readonly timers: SimTimers
  /** Incarnation number: bumps on every restart. */
  readonly incarnation: number
  isUp: () => boolean
}

export interface SimMesh extends Mesh {
  /** Test hook: gossips raw bytes on `topicName` as if they were an envelope (hostile peer). */
  injectRaw: (topicName: string, bytes: Uint8Array) => void
  /** The last application score set for each peer. */
  appScores: () => Record<string, number>
}

export interface SimNetworkStats {
  gossipSent: number
  gossipDelivered: number
  gossipDropped: number
  gossipDuplicated: number
  requests: number
  events: number
}

export interface SimulatedNetwork {
  readonly seed: number
  now: () => number
  /** The network's seeded PRNG; tests draw their own randomness from it so one seed replays everything. */
  random: () => number
  scheduler: Scheduler
  addNode: (options?: SimNodeOptions) => SimNode
  node: (id: string) => SimNode
  nodes: () => SimNode[]
  setFaults: (faults: Partial<SimFaults>) => void
  faults: () => SimFaults
  /** Nodes in different groups cannot talk; nodes not listed form one more group. */
  partition: (groups: string[][]) => void
  /** Cuts the one link between `a` and `b` (both still reach everyone else: a non-transitive cut, or a
   * node whose view lags a heal). heal() restores it with the rest. */
  cutLink: (a: string, b: string) => void
  heal: () => void
  reachable: (a: string, b: string) => boolean
  /** Kills a node's process: its mesh, handlers and timers die; peers see connection:close, then their
   * redial refused (connection:lost). `hostDown`: the whole machine went (power, kernel): the redial meets
   * silence and peers wait out the suspicion timeout, as for a cut. */
  crash: (id: string, options?: { hostDown?: boolean }) => void
  /** A new incarnation (new mesh, HLC and timers; not started) for a crashed or stopped node. */
  restart: (id: string) => SimNode
  setClock: (id: string, clock: { skewMs?: number, driftPpm?: number }) => void
  runFor: (ms: number) => Promise<void>
  runUntil: (pred: () => boolean, options?: { timeoutMs?: number, stepMs?: number }) => Promise<boolean>
  stats: () => SimNetworkStats
}

export class SimMeshError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
    this.name = 'SimMeshError'
  }
}

interface ViewEntry { state: Liveness, sinceMs: number, cancel?: () => void, rttMs?: number }

interface NodeRec {
  id: string
  incarnation: number
  up: boolean
  started: boolean
  /** Crashed with its machine: nothing answers a dial. */
  hostDown: boolean
  group: number
  skewMs: number
  driftPpm: number
  kind: Exclude<PeerKind, 'unknown'>
  hlc: Hlc
  subs: Map<string, Set<{ topic: Topic<unknown>, handler: (m: MeshMessage<unknown>) => void }>>
  handlers: Map<string, { handler: RequestHandler, maxBytes: number }>
  liveness: Set<(e: LivenessEvent) => void>
  view: Map<string, ViewEntry>
  stats: MeshStats
  appScores: Record<string, number>
  node: SimNode
}

export function createSimulatedNetwork (options: SimNetworkOptions): SimulatedNetwork {
  const seed = options.seed >>> 0
  const random = seededRandom(seed)
  const startMs = options.startMs ?? SIM_DEFAULTS.startMs
  const sched = createScheduler(startMs)
  const suspectAfterMs = options.suspectAfterMs ?? SIM_DEFAULTS.suspectAfterMs
  const deadAfterMs = options.deadAfterMs ?? SIM_DEFAULTS.deadAfterMs
  let faults: SimFaults = {
    dropRate: options.dropRate ?? 0,
    duplicateRate: options.duplicateRate ?? 0,
    reorderRate: options.reorderRate ?? 0,
    minLatencyMs: options.minLatencyMs ?? SIM_DEFAULTS.minLatencyMs,
    maxLatencyMs: options.maxLatencyMs ?? SIM_DEFAULTS.maxLatencyMs,
    reorderDelayMs: options.reorderDelayMs ?? SIM_DEFAULTS.reorderDelayMs
  }
  const nodes = new Map<string, NodeRec>()
  const netStats: SimNetworkStats = { gossipSent: 0, gossipDelivered: 0, gossipDropped: 0, gossipDuplicated: 0, requests: 0, events: 0 }
  // Decoded-envelope cache: every recipient of one publish gets the same bytes object.
  const decodeCache = new WeakMap<Uint8Array, Map<unknown, { env?: Envelope<unknown>, err?: Error }>>()

  const latency = (): number => {
    let d = faults.minLatencyMs + random() * (faults.maxLatencyMs - faults.minLatencyMs)
    if (faults.reorderRate > 0 && random() < faults.reorderRate) d += faults.reorderDelayMs * (0.5 + random())
    return d
  }
  const online = (r: NodeRec | undefined): r is NodeRec => r != null && r.up && r.started
  /** Links cut one by one (cutLink), as `a|b` with a < b. */
  const cutLinks = new Set<string>()
  const linkKey = (a: string, b: string): string => a < b ? `${a}|${b}` : `${b}|${a}`
  /** The network path between two hosts, whether or not their agents run: a dial to a crashed agent's host is refused. */
  const pathOpen = (a: string, b: string): boolean => {
    const ra = nodes.get(a); const rb = nodes.get(b)
    return ra != null && rb != null && !ra.hostDown && !rb.hostDown && ra.group === rb.group && (cutLinks.size === 0 || !cutLinks.has(linkKey(a, b)))
  }
  /** Both agents run and the path between their hosts is open. */
  const reachable = (a: string, b: string): boolean => online(nodes.get(a)) && online(nodes.get(b)) && pathOpen(a, b)

  // ---- liveness -------------------------------------------------------
  const emit = (obs: NodeRec, peer: string, state: Liveness, reason: string): void => {
    const v = obs.view.get(peer)
    const atMs = physical(obs)
    if (v == null) obs.view.set(peer, { state, sinceMs: atMs })
    else {
      v.state = state; v.sinceMs = atMs; v.cancel = undefined
      if (state === 'alive') (v as ViewEntry & { hidden?: boolean }).hidden = false
    }
    const ev: LivenessEvent = { peer, state, atMs, reason, kind: kindOf(peer) }
    for (const h of [...obs.liveness]) {
      try { h(ev) } catch { obs.stats.rejected.handler = (obs.stats.rejected.handler ?? 0) + 1 }
    }
  }
  /** Re-evaluates what `obs` should believe about `peer` and schedules the transition. */
  const reconcile = (obs: NodeRec, peerId: string, cause: 'crash' | 'partition' | 'connect'): void => {
    if (!online(obs) || obs.id === peerId) return
    const v = obs.view.get(peerId)
    const inc = obs.incarnation
    const guard = (fn: () => void) => () => { if (obs.incarnation === inc && online(obs)) fn() }
    if (reachable(obs.id, peerId)) {
      if (v != null && v.state === 'alive' && v.cancel == null) return
      v?.cancel?.()
      const cancel = sched.schedule(latency(), guard(() => {
        if (reachable(obs.id, peerId)) emit(obs, peerId, 'alive', v == null ? LIVENESS_REASONS.connectionOpen : LIVENESS_REASONS.pingOk)
      }))
      if (v != null) v.cancel = cancel
      else obs.view.set(peerId, { state: 'suspect', sinceMs: physical(obs), cancel })
      // A first contact is not a real suspicion: mark it specially so peers() hides it until alive.
      if (v == null) (obs.view.get(peerId) as ViewEntry & { hidden?: boolean }).hidden = true
      return
    }
    if (v == null || v.state === 'dead') { v?.cancel?.(); if (v != null) v.cancel = undefined; return }
    if (v.cancel != null && v.state !== 'alive') return // already on its way down
    v.cancel?.()
    // After a crash the real mesh redials: a refusal (the host is there, the agent is not) is a definitive
    // death one round trip later; silence (a cut) waits for the suspicion timeout.
    const toDead = (redial: boolean): void => {
      const refused = redial && pathOpen(obs.id, peerId)
      const c = sched.schedule(refused ? 2 * latency() : deadAfterMs, guard(() => {
        if (reachable(obs.id, peerId)) return
        if (refused && !pathOpen(obs.id, peerId)) { toDead(false); return } // cut while redialling: silence after all
        emit(obs, peerId, 'dead', refused ? LIVENESS_REASONS.connectionLost : LIVENESS_REASONS.suspicionTimeout)
      }))
      const e = obs.view.get(peerId)
      if (e != null) e.cancel = c
    }
    if (v.state === 'suspect') { toDead(cause === 'crash'); return }
    const delay = cause === 'crash' ? latency() : suspectAfterMs
    v.cancel = sched.schedule(delay, guard(() => {
      if (reachable(obs.id, peerId)) return
      emit(obs, peerId, 'suspect', cause === 'crash' ? LIVENESS_REASONS.connectionClose : LIVENESS_REASONS.pingTimeout)
      toDead(cause === 'crash')
    }))
  }
  const reconcileAll = (cause: 'crash' | 'partition' | 'connect', touched?: string): void => {
    for (const a of nodes.values()) {
      if (!online(a)) continue
      if (touched != null) {
        if (a.id === touched) { for (const b of nodes.values()) reconcile(a, b.id, cause) } else reconcile(a, touched, cause)
      } else {
        for (const b of nodes.values()) reconcile(a, b.id, cause)
      }
    }
  }

  const kindOf = (peer: string): Exclude<PeerKind, 'unknown'> => nodes.get(peer)?.kind ?? 'agent'

  const physical = (r: NodeRec): number => {
    const t = sched.now()
    return Math.floor(t + r.skewMs + (t - startMs) * r.driftPpm / 1e6)
  }

  // ---- delivery -------------------------------------------------------
  const reject = (r: NodeRec, reason: string, from: string): void => {
    r.stats.rejected[reason] = (r.stats.rejected[reason] ?? 0) + 1
    r.stats.rejectedBySender[from] = (r.stats.rejectedBySender[from] ?? 0) + 1
  }
  const deliver = (to: NodeRec, inc: number, topicName: string, bytes: Uint8Array, from: string): void => {
    if (to.incarnation !== inc || !online(to) || !reachable(from, to.id)) return
    netStats.gossipDelivered++
    to.stats.bytesReceived += bytes.byteLength
    const subs = to.subs.get(topicName)
    if (subs == null || subs.size === 0) return
    for (const s of [...subs]) {
      let byTopic = decodeCache.get(bytes)
      if (byTopic == null) { byTopic = new Map(); decodeCache.set(bytes, byTopic) }
      let d = byTopic.get(s.topic)
      if (d == null) {
        try {
          d = { env: decodeEnvelope(bytes, s.topic.body, s.topic.maxBytes ?? LIMITS.envelopeBytes) }
        } catch (err) { d = { err: err as Error } }
        byTopic.set(s.topic, d)
      }
      if (d.err != null || d.env == null) {
        reject(to, (d.err as { code?: string })?.code === 'ERR_TOO_LARGE' ? 'size' : (d.err?.message.includes('JSON') === true ? 'json' : 'schema'), from)
        continue
      }
      const env = d.env
      if (env.from !== from) { reject(to, 'forged', from); continue }
      let sentHlc: HlcTimestamp
      let receivedHlc: HlcTimestamp
      try {
        sentHlc = decodeHlc(env.hlc)
        if (sentHlc.node !== from) { reject(to, 'forged', from); continue }
        receivedHlc = to.hlc.receive(sentHlc)
      } catch (err) {
        reject(to, err instanceof HlcClockOffsetError ? 'clock' : 'schema', from)
        continue
      }
      to.stats.delivered++
      try {
        s.handler({ envelope: env, sentHlc, receivedHlc })
      } catch {
        to.stats.rejected.handler = (to.stats.rejected.handler ?? 0) + 1
      }
    }
  }
  const gossip = (from: NodeRec, topicName: string, bytes: Uint8Array): void => {
    from.stats.published++
    for (const to of nodes.values()) {
      if (to.id === from.id || !reachable(from.id, to.id)) continue
      netStats.gossipSent++
      from.stats.bytesSent += bytes.byteLength
      if (faults.dropRate > 0 && random() < faults.dropRate) { netStats.gossipDropped++; continue }
      const inc = to.incarnation
      sched.schedule(latency(), () => deliver(to, inc, topicName, bytes, from.id))
      if (faults.duplicateRate > 0 && random() < faults.duplicateRate) {
        netStats.gossipDuplicated++
        sched.schedule(latency(), () => deliver(to, inc, topicName, bytes, from.id))
      }
    }
  }

  // ---- nodes ----------------------------------------------------------
  const makeNode = (id: string, skewMs: number, driftPpm: number, incarnation: number, kind: Exclude<PeerKind, 'unknown'>): NodeRec => {
    const rec = {
      id,
      incarnation,
      up: true,
      started: false,
      hostDown: false,
      group: 0,
      skewMs,
      driftPpm,
      kind,
      subs: new Map(),
      handlers: new Map(),
      liveness: new Set(),
      view: new Map(),
      stats: { published: 0, delivered: 0, rejected: {}, rejectedBySender: {}, bytesSent: 0, bytesReceived: 0 },
      appScores: {}
    } as unknown as NodeRec
    rec.hlc = createHlc({ nodeId: id, now: () => physical(rec), maxOffsetMs: options.maxOffsetMs })
    const alive = (): boolean => rec.incarnation === incarnation && rec.up
    const assertUp = (): void => {
      if (!alive() || !rec.started) throw new SimMeshError('ERR_MESH_STOPPED', `sim node ${id} is not running`)
    }
    const timers: SimTimers = {
      setTimeout (fn, ms) {
        return sched.schedule(ms, () => { if (alive()) fn() })
      },
      clearTimeout (handle) { if (typeof handle === 'function') (handle as () => void)() }
    }
    const mesh: SimMesh = {
      peerId: id,
      async start () {
        if (!alive()) throw new SimMeshError('ERR_MESH_STOPPED', `sim node ${id} crashed; restart it first`)
        if (rec.started) return
        rec.started = true
        reconcileAll('connect', id)
      },
      async stop () {
        if (!alive() || !rec.started) return
        rec.started = false
        for (const v of rec.view.values()) v.cancel?.()
        rec.view.clear()
        reconcileAll('crash', id)
      },
      subscribe<B> (topic: Topic<B>, handler: (msg: MeshMessage<B>) => void) {
        let set = rec.subs.get(topic.name)
        if (set == null) { set = new Set(); rec.subs.set(topic.name, set) }
        if (set.size >= SIM_DEFAULTS.maxHandlers) throw new SimMeshError('ERR_MESH_LIMIT', `too many subscriptions on ${topic.name}`)
        const entry = { topic: topic as Topic<unknown>, handler: handler as (m: MeshMessage<unknown>) => void }
        set.add(entry)
        return () => { set.delete(entry) }
      },
      async publish<B> (topic: Topic<B>, type: string, body: B) {
        assertUp()
        parseWith(topic.body, body, `body of ${type}`) // throws ValidationError (ERR_VALIDATION)
        const env: Envelope<B> = { v: 1, type, from: id, hlc: encodeHlcNow(rec), body }
        const bytes = encodeEnvelope(env as Envelope)
        const limit = topic.maxBytes ?? LIMITS.envelopeBytes
        if (bytes.byteLength > limit) throw new TooLargeError(`envelope on ${topic.name}`, bytes.byteLength, limit)
        gossip(rec, topic.name, bytes)
      },
      peers () {
        const out: PeerState[] = []
        for (const [peer, v] of rec.view) {
          if ((v as ViewEntry & { hidden?: boolean }).hidden === true && v.state !== 'alive') continue
          out.push({ peer, state: v.state, kind: kindOf(peer), sinceMs: v.sinceMs, ...(v.state === 'alive' ? { rttMs: (faults.minLatencyMs + faults.maxLatencyMs) } : {}) })
        }
        return out
      },
      members () {
        return mesh.peers().filter((p) => p.kind === 'agent')
      },
      onLiveness (handler) {
        if (rec.liveness.size >= SIM_DEFAULTS.maxHandlers) throw new SimMeshError('ERR_MESH_LIMIT', 'too many liveness handlers')
        rec.liveness.add(handler)
        return () => { rec.liveness.delete(handler) }
      },
      handle (protocol, handler, opts = {}) {
        rec.handlers.set(protocol, { handler, maxBytes: opts.maxBytes ?? SIM_DEFAULTS.requestMaxBytes })
      },
      async request (peer, protocol, data, opts = {}) {
        assertUp()
        const timeoutMs = opts.timeoutMs ?? SIM_DEFAULTS.requestTimeoutMs
        const maxBytes = opts.maxBytes ?? SIM_DEFAULTS.requestMaxBytes
        if (data.byteLength > maxBytes) throw new TooLargeError(`request on ${protocol}`, data.byteLength, maxBytes)
        netStats.requests++
        let resolve!: (v: Uint8Array) => void
        let fail!: (e: Error) => void
        const promise = new Promise<Uint8Array>((res, rej) => { resolve = res; fail = rej })
        let done = false
        const finish = (err: Error | null, value?: Uint8Array): void => {
          if (done) return
          done = true
          cancelTimeout()
          if (err != null) fail(err); else resolve(value!)
        }
        const cancelTimeout = sched.schedule(timeoutMs, () => finish(new SimMeshError('ERR_MESH_TIMEOUT', `request ${protocol} to ${peer} timed out after ${timeoutMs} ms`)))
        if (!reachable(id, peer)) {
          sched.schedule(latency(), () => finish(new SimMeshError('ERR_MESH_UNREACHABLE', `peer ${peer} is not reachable`)))
          return await promise
        }
        rec.stats.bytesSent += data.byteLength
        sched.schedule(latency(), () => {
          const to = nodes.get(peer)
          if (to == null || !reachable(id, peer)) return // lost in flight: the caller times out
          const h = to.handlers.get(protocol)
          if (h == null) { sched.schedule(latency(), () => finish(new SimMeshError('ERR_MESH_PROTOCOL', `peer ${peer} does not serve ${protocol}`))); return }
          to.stats.bytesReceived += data.byteLength
          if (data.byteLength > h.maxBytes) {
            reject(to, 'size', id)
            sched.schedule(latency(), () => finish(new SimMeshError('ERR_MESH_REFUSED', `peer ${peer} refused an oversized request`)))
            return
          }
          const toInc = to.incarnation
          h.handler(id, data).then((resp) => {
            if (to.incarnation !== toInc || !online(to)) return
            to.stats.bytesSent += resp.byteLength
            sched.schedule(latency(), () => {
              if (!reachable(id, peer) || !alive()) return
              rec.stats.bytesReceived += resp.byteLength
              if (resp.byteLength > maxBytes) finish(new TooLargeError(`response on ${protocol}`, resp.byteLength, maxBytes))
              else finish(null, resp)
            })
          }, (err: unknown) => {
            sched.schedule(latency(), () => finish(new SimMeshError('ERR_MESH_REMOTE', `peer ${peer} failed ${protocol}: ${(err as Error)?.message ?? String(err)}`)))
          })
        })
        return await promise
      },
      setAppScore (peer, score) {
        if (Number.isFinite(score)) rec.appScores[peer] = score
      },
      stats: () => ({
        ...rec.stats,
        rejected: { ...rec.stats.rejected },
        rejectedBySender: { ...rec.stats.rejectedBySender }
      }),
      injectRaw (topicName, bytes) {
        assertUp()
        gossip(rec, topicName, bytes)
      },
      appScores: () => ({ ...rec.appScores })
    }
    rec.node = {
      id,
      mesh,
      hlc: rec.hlc,
      now: () => physical(rec),
      timers,
      incarnation,
      isUp: () => alive() && rec.started
    }
    return rec
  }
  const encodeHlcNow = (rec: NodeRec): string => encodeHlc(rec.hlc.now())

  const get = (id: string): NodeRec => {
    const r = nodes.get(id)
    if (r == null) throw new SimMeshError('ERR_SIM_UNKNOWN_NODE', `no sim node ${id}`)
    return r
  }

  return {
    seed,
    now: () => sched.now(),
    random,
    scheduler: sched,
    addNode (opts = {}) {
      const id = opts.id ?? `n${String(nodes.size).padStart(3, '0')}`
      if (nodes.has(id)) throw new SimMeshError('ERR_SIM_DUPLICATE_NODE', `sim node ${id} exists`)
      const rec = makeNode(id, opts.skewMs ?? 0, opts.driftPpm ?? 0, 0, opts.kind ?? 'agent')
      nodes.set(id, rec)
      return rec.node
    },
    node: (id) => get(id).node,
    nodes: () => [...nodes.values()].map((r) => r.node),
    setFaults (f) { faults = { ...faults, ...f } },
    faults: () => ({ ...faults }),
    partition (groups) {
      for (const r of nodes.values()) r.group = 0
      groups.forEach((g, i) => { for (const id of g) get(id).group = i + 1 })
      reconcileAll('partition')
    },
    cutLink (a, b) {
      get(a); get(b)
      cutLinks.add(linkKey(a, b))
      reconcileAll('partition')
    },
    heal () {
      for (const r of nodes.values()) r.group = 0
      cutLinks.clear()
      reconcileAll('connect')
    },
    reachable,
    crash (id, options) {
      const r = get(id)
      if (!r.up) return
      r.up = false
      r.hostDown = options?.hostDown === true
      for (const v of r.view.values()) v.cancel?.()
      reconcileAll('crash', id)
    },
    restart (id) {
      const old = get(id)
      if (old.up && old.started) throw new SimMeshError('ERR_SIM_RUNNING', `sim node ${id} is running; crash or stop it first`)
      old.up = false
      const rec = makeNode(id, old.skewMs, old.driftPpm, old.incarnation + 1, old.kind)
      rec.group = old.group
      nodes.set(id, rec)
      return rec.node
    },
    setClock (id, clock) {
      const r = get(id)
      if (clock.skewMs != null) r.skewMs = clock.skewMs
      if (clock.driftPpm != null) r.driftPpm = clock.driftPpm
    },
    runFor: sched.runFor,
    runUntil: sched.runUntil,
    stats: () => ({ ...netStats, events: sched.eventsRun() })
  }
}
