// One Yjs document replicated over the mesh:
// - local changes are gossiped as incremental updates;
// - a peer that joins or comes back after a partition, or that gossips a digest
//   (state vector) showing something we lack is pulled from over a direct
//   request/response stream (state-vector catch-up);
// - a heal is noticed by the data path before liveness catches up: peers
//   believed dead are probed with catch-up requests (heal-probe.ts), and a
//   gossip message from a peer believed dead probes it at once;
// - every catch-up is push-pull: a request to a peer that was cut off carries
//   what we learnt since we last saw it alive (sync-request.ts), and the server
//   pulls back when the requester's state vector still shows something it lacks;
// - what a replica learns through a pull (not through gossip) is news to its
//   neighbours too: it gossips that news (a relay, checked like a catch-up
//   response; too large a relay becomes a state-vector announce that whoever
//   is behind pulls on), so one reconnected pair brings both sides of a
//   partition up to date over connections that never broke;
// - periodic pulls from a random peer make a lost gossip update recoverable (anti-entropy);
// - every update we hold is persisted, so a restarted agent knows what it knew;
// - remote input is size-checked, rate-limited per sender and authorised
//   (see validate-update.ts); rejections are counted and reported.
import * as Y from 'yjs'
import { docSyncProtocol, docTopic, shuffle, WIRE_LIMITS } from '@homeostat/interface'
import type { LivenessEvent, Mesh } from '@homeostat/mesh'
import { RejectedUpdateError, type RejectReason } from './errors.ts'
import type { UpdatePersistence } from './persistence.ts'
import { createRateLimiter } from './rate-limit.ts'
import { createHealProber, HEAL_PROBE_DEFAULTS, type HealProbeTuning } from './heal-probe.ts'
import { every, realTimers, type Timers } from './timers.ts'
import { bindingsFromDoc, checkUpdate } from './validate-update.ts'
import { encodeSyncRequest, splitSyncRequest } from './sync-request.ts'

export const REPLICATED_DOC_DEFAULTS = {
  /** A single gossiped update: registry/reputation edits are < 1 KiB; 64 KiB caps a hostile peer well under the mesh's bulk limit. */
  maxUpdateBytes: 64 * 1024,
  /** A catch-up response may carry the whole document. */
  maxSyncBytes: WIRE_LIMITS.syncBytes,
  /** Burst of updates accepted from one sender before rate limiting. */
  floodBurst: 60,
  /** Sustained updates per second per sender: an agent writes a few per second at most. */
  floodPerSec: 20,
  /** Rate-limit buckets kept (one per sender). */
  maxTrackedPeers: 4096,
  /** Anti-entropy pull period while the document is changing: a lost update is recovered within a few seconds. */
  antiEntropyActiveMs: 1000,
  /** Anti-entropy pull period when idle: one small request (our state vector) per period keeps idle traffic low. */
  antiEntropyIdleMs: 5000,
  /** Heal probes of peers believed dead: see heal-probe.ts for the schedule and its defaults. */
  healProbe: HEAL_PROBE_DEFAULTS as HealProbeTuning,
  /** Pulled news is relayed (or our state vector announced) at most this often: one message per burst. */
  announceMinIntervalMs: 200,
  /** News is relayed only when it came from a peer that was cut off from us within this window (or is
   * still believed gone): that is a healed partition, whose news our neighbours lack too. News from
   * long-connected peers is ordinary gossip loss, repaired by each replica's own pulls; relaying it
   * would cost every loss N messages. */
  relayWindowMs: 10_000,
  /** Timer resolution of the anti-entropy schedule. */
  tickMs: 250,
  /** How long after the last change the fast anti-entropy period lasts. */
  activeWindowMs: 10_000,
  /** Catch-up request timeout. */
  syncTimeoutMs: 3000,
  /** Peers pulled from on start and after a heal (one up-to-date peer is enough; three tolerates stale ones). */
  syncFanout: 3,
  /** Alive-events are batched this long before pulling, so a heal of 100 peers costs 1 + `syncFanout` pulls, not 100
   * (the first peer back from the dead is pulled from at once, the batch picks `syncFanout` of the rest). */
  healBatchMs: 50,
  /** Concurrent pulls at most (bounded fan-out). */
  maxConcurrentPulls: 256,
  /** Start waits at most this long for an initial catch-up before declaring the replica ready. */
  startupSyncMs: 2000,
  /** Remote updates are applied in batches at most this old (ms). */
  batchMs: 10,
  /** A batch is applied at once when it reaches this many updates. */
  maxBatchUpdates: 256,
  /** Persisted updates before the log is compacted into one. */
  compactAfterUpdates: 500
} as const

export type ReplicatedDocOptions = Partial<Omit<typeof REPLICATED_DOC_DEFAULTS, 'healProbe'>> & {
  healProbe?: Partial<HealProbeTuning>
  mesh: Mesh
  /** Document name: topic `homeostat/coord/<name>/1`, protocol `/homeostat/coord/<name>/sync/1`. */
  name: string
  /** Allowed top-level Y.Map names. */
  roots: readonly string[]
  persistence?: UpdatePersistence
  timers?: Timers
  /** Physical clock, ms. */
  now?: () => number
  /** Seeded randomness for jitter (tests); Math.random otherwise. */
  random?: () => number
  /** Called for every rejected remote input. */
  onReject?: (peer: string, reason: RejectReason, detail: string) => void
  /** Relays (gossiped news pulled by a neighbour) are applied only from peers this accepts (default: all). */
  acceptRelayFrom?: (peer: string) => boolean
  /** Diagnostic hook: every catch-up exchange (pull we made or request we served). */
  onSync?: (e: SyncTrace) => void
}

/** One catch-up exchange, for tracing (see ReplicatedDocOptions.onSync). */
export interface SyncTrace {
  /** 'relay-out': we gossiped news we pulled; 'relay-in': a neighbour's relay arrived (peer = relayer). */
  kind: 'pull' | 'serve' | 'relay-out' | 'relay-in'
  peer: string
  /** Why the pull ran: 'start', 'heal', 'anti-entropy', 'probe', 'gap', 'digest', 'claim', 'push-back', … */
  why?: string
  ok: boolean
  /** The pull advanced our state vector. */
  news?: boolean
  /** After the pull: structs waiting for a missing dependency (client → first missing clock). */
  pendingMissing?: Record<string, number>
  /** After the pull: bytes of deletions waiting for their targets. */
  pendingDsBytes?: number
  /** Bytes of the diff received (pull) or sent (serve). */
  bytes: number
  ms: number
  error?: string
}

export interface ReplicatedDocStats {
  updatesSent: number
  updatesApplied: number
  antiEntropyPulls: number
  pulls: number
  pullFailures: number
  pendingDeferred: number
  /** Pulls started because a gossiped update arrived with a gap before it. */
  gapPulls: number
  /** Pulls tried from peers believed dead (heal probes). */
  healProbes: number
  /** Heal probes that were answered (the peer was reachable again). */
  healProbesAnswered: number
  /** Catch-up requests we sent with a push (our news for a peer that was cut off), and requests that brought one. */
  pushesSent: number
  pushesReceived: number
  /** Pulls we made because a peer we served had something we lacked (push-pull). */
  pushBacks: number
  /** Pulled news we gossiped on to our neighbours (relays), and relays we received. */
  relaysSent: number
  relaysReceived: number
  /** State-vector digests we gossiped because the news was too large to relay. */
  announces: number
  /** Catch-up traffic on direct streams (requests + responses, both directions), bytes. */
  syncBytesSent: number
  syncBytesReceived: number
  rejected: Record<string, number>
  rejectedBySender: Record<string, number>
}

export interface ReplicatedDoc {
  readonly doc: Y.Doc
  readonly name: string
  map: <V = unknown>(root: string) => Y.Map<V>
  /** Loads persisted updates, subscribes, serves catch-up and pulls from a few peers. Resolves when ready. */
  start: () => Promise<void>
  stop: () => void
  /** Pulls what `peer` has and we lack; false on timeout/refusal/rejection. */
  pullFrom: (peer: string, timeoutMs?: number, why?: string) => Promise<boolean>
  /** Pulls from several peers at once (bounded); returns how many succeeded. */
  pullFromMany: (peers: readonly string[], why?: string) => Promise<number>
  /** Applies queued remote updates now. */
  flush: () => void
  /** Alive peers in the mesh's view. */
  alivePeers: () => string[]
  isAlive: (peer: string) => boolean
  /** The mesh believes `peer` dead (or has never seen it); a suspect peer is not dead yet. */
  isDead: (peer: string) => boolean
  /** Physical ms of the last sign that a cut healed: a peer we had seen dead is alive again, a peer we believe dead answered or sent a request, or a neighbour relayed news it pulled from the other side. */
  lastHealSignMs: () => number
  /** Subscribes to changes (local or remote); returns an unsubscribe function. */
  onChange: (fn: (origin: 'local' | 'remote') => void) => () => void
  onLiveness: (fn: (e: LivenessEvent) => void) => () => void
  stats: () => ReplicatedDocStats
}

const REMOTE = Symbol('remote')
const LOADED = Symbol('loaded')

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
const b64 = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))


export function createReplicatedDoc (options: ReplicatedDocOptions): ReplicatedDoc {
  const o = { ...REPLICATED_DOC_DEFAULTS, ...options, healProbe: { ...HEAL_PROBE_DEFAULTS, ...options.healProbe } }
  const { mesh, name } = options
  const timers = options.timers ?? realTimers
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const roots = new Set(options.roots)
  const doc = new Y.Doc({ gc: true })
  for (const r of roots) doc.getMap(r)
  const topic = docTopic(name)
  const protocol = docSyncProtocol(name)
  const bindings = new Map<number, string>()
  const limiter = createRateLimiter({ now, capacity: o.floodBurst, perSec: o.floodPerSec, maxPeers: o.maxTrackedPeers })
  const changeHandlers = new Set<(origin: 'local' | 'remote') => void>()
  const livenessHandlers = new Set<(e: LivenessEvent) => void>()
  const stats: ReplicatedDocStats = { updatesSent: 0, updatesApplied: 0, antiEntropyPulls: 0, pulls: 0, pullFailures: 0, pendingDeferred: 0, gapPulls: 0, healProbes: 0, healProbesAnswered: 0, pushesSent: 0, pushesReceived: 0, pushBacks: 0, relaysSent: 0, relaysReceived: 0, announces: 0, syncBytesSent: 0, syncBytesReceived: 0, rejected: {}, rejectedBySender: {} }
  const cleanups: Array<() => void> = []
  /** One pull per peer at a time; later callers share it unless it predates the peer's last sign of contact. */
  const inFlight = new Map<string, { run: Promise<boolean>, startedMs: number }>()
  /** Physical ms of the last direct sign that a peer is reachable (alive event, a request it sent us). */
  const contactMs = new Map<string, number>()
  let pullsRunning = 0
  let healSignMs = -Infinity
  /** Physical ms of the last liveness event saying a peer was not alive. */
  const goneAtMs = new Map<string, number>()
  /** Peers declared dead and not seen alive since: one coming back alive is a heal sign (a suspect
   * that answers again is not — under load peers flap suspect → alive without any cut). Bounded. */
  const deadNow = new Set<string>()
  /** Our state vector when each peer was last seen leaving alive: a catch-up request to it pushes what we learnt since. */
  const svAtGone = new Map<string, Uint8Array>()
  const cutOffRecently = (peer: string): boolean => !alive().has(peer) || now() - (goneAtMs.get(peer) ?? -Infinity) < o.relayWindowMs
  const touch = (peer: string): void => {
    if (!contactMs.has(peer) && contactMs.size >= o.maxTrackedPeers) contactMs.clear()
    contactMs.set(peer, now())
  }
  let persistedSinceCompact = 0
  let lastChangeMs = -Infinity
  let started = false
  let persistChain: Promise<void> = Promise.resolve()

  const reject = (peer: string, reason: RejectReason, detail: string): void => {
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1
    stats.rejectedBySender[peer] = (stats.rejectedBySender[peer] ?? 0) + 1
    options.onReject?.(peer, reason, detail)
  }

  const persist = (update: Uint8Array): void => {
    const p = options.persistence
    if (p == null) return
    persistedSinceCompact++
    const compact = persistedSinceCompact >= o.compactAfterUpdates
    if (compact) persistedSinceCompact = 0
    persistChain = persistChain.then(async () => {
      if (compact) await p.replace(Y.encodeStateAsUpdate(doc))
      else await p.append(update)
    }).catch(() => { stats.rejected.persist = (stats.rejected.persist ?? 0) + 1 })
  }

  let ourSv: Map<number, number> | undefined
  let aliveCache: Set<string> | undefined
  let deadCache: string[] | undefined
  let deadSetCache: Set<string> | undefined
  let knownPeers = 0
  let suspectCache: Set<string> | undefined
  /** Peers the mesh believes dead (not merely suspect: their connection still exists). */
  const deadPeers = (): string[] => {
    if (deadCache == null) {
      // Not peers known to be no agent (a monitoring tool holding the key): they never sync a document.
      // Peers not identified yet count (their kind comes in milliseconds and is not a liveness event).
      const all = mesh.peers().filter((p) => p.kind !== 'other')
      knownPeers = all.length
      deadCache = all.filter((p) => p.state === 'dead').map((p) => p.peer)
    }
    return deadCache
  }
  /** O(1) form of `deadPeers().includes(peer)` (asked for every gossip message and catch-up exchange). */
  const believedDead = (peer: string): boolean => {
    deadSetCache ??= new Set(deadPeers())
    return deadSetCache.has(peer)
  }
  const alive = (): Set<string> => {
    aliveCache ??= new Set(mesh.peers().filter((p) => p.state === 'alive' && p.kind !== 'other').map((p) => p.peer))
    return aliveCache
  }
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    ourSv = undefined
    if (origin === LOADED) return
    lastChangeMs = now()
    persist(update)
    const kind = origin === REMOTE ? 'remote' : 'local'
    if (kind === 'local' && started) {
      stats.updatesSent++
      mesh.publish(topic, 'coord.update', { u: b64(update) }).catch(() => { stats.rejected.publish = (stats.rejected.publish ?? 0) + 1 })
    }
    for (const h of [...changeHandlers]) h(kind)
  })

  // Validated remote updates wait here and are applied together: every Yjs
  // transaction costs O(clients), so a burst of 200 updates is one transaction, not 200.
  let queue: Array<{ update: Uint8Array, bind: Map<number, string>, peer: string, gossip: boolean }> = []
  type Mode = 'gossip' | 'relay' | 'sync'
  let flushTimer: unknown
  const flush = (): void => {
    if (flushTimer != null) { timers.clearTimeout(flushTimer); flushTimer = undefined }
    if (queue.length === 0) return
    const batch = queue
    queue = []
    const apply = (u: Uint8Array): boolean => {
      try { Y.applyUpdate(doc, u, REMOTE); return true } catch { return false }
    }
    let merged: Uint8Array | undefined
    if (batch.length > 1) { try { merged = Y.mergeUpdates(batch.map((b) => b.update)) } catch { merged = undefined } }
    if (merged == null || !apply(merged)) for (const b of batch) if (!apply(b.update)) stats.rejected.malformed = (stats.rejected.malformed ?? 0) + 1
    for (const b of batch) for (const [c, p] of b.bind) if (!bindings.has(c)) bindings.set(c, p)
    stats.updatesApplied += batch.length
    // Yjs integrates a client's structs in clock order: after a lost gossip
    // update every later one from that client waits. Fill the gap now by
    // pulling from the senders instead of waiting for the next anti-entropy round.
    const store = doc.store as unknown as { pendingStructs: unknown, pendingDs: unknown }
    if (store.pendingStructs != null || store.pendingDs != null) {
      stats.gapPulls++
      for (const peer of new Set(batch.filter((b) => b.gossip).map((b) => b.peer))) void pullFrom(peer, undefined, 'gap')
    }
  }

  /** Validates a remote update and queues it for the next batch. */
  const applyRemote = (peer: string, update: Uint8Array, mode: Mode): boolean => {
    // Gossiped updates: the signed sender must own every key. Relays and catch-up
    // responses carry others' items: client ids are checked against their owners.
    const gossip = mode === 'gossip'
    const limit = mode === 'sync' ? o.maxSyncBytes : o.maxUpdateBytes
    if (update.byteLength > limit) { reject(peer, 'oversized', `update of ${update.byteLength} bytes over ${limit}`); return false }
    const pendingBinds = (): { get: (c: number) => string | undefined } => ({
      get: (c) => {
        const b = bindings.get(c)
        if (b != null) return b
        for (const q of queue) { const x = q.bind.get(c); if (x != null) return x }
        return undefined
      }
    })
    let r = checkUpdate(doc, update, gossip ? peer : null, roots, queue.length > 0 ? pendingBinds() : bindings)
    if (r.ok === 'pending' && queue.length > 0) {
      flush() // it may build on an update still waiting in the batch
      r = checkUpdate(doc, update, gossip ? peer : null, roots, bindings)
    }
    if (r.ok === 'pending') { stats.pendingDeferred++; void pullFrom(peer, undefined, 'pending'); return false }
    if (r.ok === false) { reject(peer, r.reason, r.detail); return false }
    queue.push({ update, bind: r.bind, peer, gossip: mode !== 'sync' })
    if (queue.length >= o.maxBatchUpdates) flush()
    else flushTimer ??= timers.setTimeout(() => { flushTimer = undefined; flush() }, o.batchMs)
    return true
  }

  // Relay: gossip what a pull brought (merged per burst, at most one message per
  // announceMinIntervalMs). Neighbours apply it without a request of their own; one
  // too large for gossip becomes a state-vector announce that the behind pull on.
  let relayTimer: unknown
  let relayParts: Uint8Array[] = []
  let relayBytes = 0
  let lastRelayMs = -Infinity
  const sendRelay = (): void => {
    relayTimer = undefined
    const parts = relayParts
    const total = relayBytes
    relayParts = []
    relayBytes = 0
    if (!started || parts.length === 0) return
    lastRelayMs = now()
    let merged: Uint8Array | undefined
    if (total <= o.maxUpdateBytes) { try { merged = parts.length === 1 ? parts[0] : Y.mergeUpdates(parts) } catch { merged = undefined } }
    const fail = (): void => { stats.rejected.publish = (stats.rejected.publish ?? 0) + 1 }
    if (merged != null && merged.byteLength <= o.maxUpdateBytes) {
      stats.relaysSent++
      mesh.publish(topic, 'coord.relay', { r: b64(merged) }).catch(fail)
      options.onSync?.({ kind: 'relay-out', peer: mesh.peerId, ok: true, bytes: merged.byteLength, ms: 0 })
    } else {
      stats.announces++
      mesh.publish(topic, 'coord.digest', { sv: b64(Y.encodeStateVector(doc)) }).catch(fail)
    }
  }
  const relaySoon = (update: Uint8Array): void => {
    if (!started) return
    if (relayBytes <= o.maxUpdateBytes) { relayParts.push(update); relayBytes += update.byteLength }
    if (relayTimer != null) return
    const wait = lastRelayMs + o.announceMinIntervalMs - now()
    // The first news of a burst goes out now: a timer would wait for the next timers phase, which
    // an agent saturated by a heal's reconnections reaches hundreds of ms later. What follows
    // within announceMinIntervalMs is merged into one message.
    if (wait <= 0) sendRelay()
    else relayTimer = timers.setTimeout(sendRelay, wait)
  }

  /**
   * Applies a catch-up response or a pushed update (one batch: now, not after batchMs). `news`: it
   * advanced our state vector past `before` — a response carrying only the server's pending
   * deletions, which Yjs always includes, is no news.
   */
  const applyNow = (peer: string, update: Uint8Array, before: Uint8Array = Y.encodeStateVector(doc)): { ok: boolean, news: boolean } => {
    const ok = applyRemote(peer, update, 'sync')
    if (ok) flush()
    return { ok, news: ok && !sameBytes(before, Y.encodeStateVector(doc)) }
  }

  /** What we learnt since `peer` was last seen alive, to push with a request to it (none when nothing, or too large to push: the server pulls that back). */
  const pushFor = (peer: string): Uint8Array | undefined => {
    const base = svAtGone.get(peer)
    if (base == null || sameBytes(base, Y.encodeStateVector(doc))) return undefined
    const diff = Y.encodeStateAsUpdate(doc, base)
    return diff.byteLength <= o.maxUpdateBytes ? diff : undefined
  }

  const pullFrom = async (peer: string, timeoutMs: number = o.syncTimeoutMs, why = 'other'): Promise<boolean> => {
    // A pull started before the peer's last sign of contact (e.g. a probe whose dial went out
    // while we were cut off, or a request queued on a connection stuck in TCP backoff) may hang
    // until its timeout although a working connection exists now: start a fresh one instead.
    const existing = inFlight.get(peer)
    if (existing != null && existing.startedMs >= (contactMs.get(peer) ?? -Infinity)) return await existing.run
    if (pullsRunning >= o.maxConcurrentPulls) return false
    pullsRunning++
    const entry = { run: Promise.resolve(false), startedMs: now() }
    inFlight.set(peer, entry)
    entry.run = (async () => {
      stats.pulls++
      const t0 = now()
      let bytes = 0
      let error: string | undefined
      let ok = false
      let news = false
      try {
        const sv = Y.encodeStateVector(doc)
        const push = pushFor(peer)
        const request = encodeSyncRequest(sv, push)
        stats.syncBytesSent += request.byteLength
        const resp = await mesh.request(peer, protocol, request, { timeoutMs, maxBytes: o.maxSyncBytes })
        if (push != null) { stats.pushesSent++; svAtGone.delete(peer) } // the peer has it now
        stats.syncBytesReceived += resp.byteLength
        bytes = resp.byteLength
        if (believedDead(peer)) healSignMs = now() // a peer we believe dead answered
        if (!started) return false
        if (resp.byteLength <= 2) { ok = true; return true } // empty diff
        // News against our state now, not when we asked: what reached us meanwhile (typically a
        // neighbour's relay during a heal) reached our neighbours too and is not relayed again.
        const applied = applyNow(peer, resp)
        ok = applied.ok
        news = applied.news
        // News learnt off the gossip path is news to our neighbours too (a digest pull
        // follows someone's announce, which reached the same neighbours already).
        if (news && why !== 'digest' && (why === 'probe' || cutOffRecently(peer))) relaySoon(resp)
        return ok
      } catch (err) {
        stats.pullFailures++
        error = (err as { code?: string }).code ?? (err as Error).name
        return false
      } finally {
        pullsRunning--
        if (inFlight.get(peer) === entry) inFlight.delete(peer)
        if (options.onSync != null) {
          const store = doc.store as unknown as { pendingStructs: { missing: Map<number, number> } | null, pendingDs: Uint8Array | null }
          options.onSync({ kind: 'pull', peer, why, ok, news, bytes, ms: now() - t0, ...(error != null ? { error } : {}), ...(store.pendingStructs != null ? { pendingMissing: Object.fromEntries(store.pendingStructs.missing) } : {}), ...(store.pendingDs != null ? { pendingDsBytes: store.pendingDs.byteLength } : {}) })
        }
      }
    })()
    return await entry.run
  }

  const pullFromMany = async (peers: readonly string[], why = 'other'): Promise<number> => {
    const rs = await Promise.all(peers.slice(0, o.maxConcurrentPulls).map(async (p) => await pullFrom(p, undefined, why)))
    flush()
    return rs.filter(Boolean).length
  }

  const prober = createHealProber(o.healProbe, async (peer) => {
    stats.healProbes++
    const ok = await pullFrom(peer, o.healProbe.timeoutMs, 'probe')
    if (ok) stats.healProbesAnswered++ // pullFrom noted the heal sign (a dead peer answered)
    return ok
  }, random, now)

  const alivePeers = (): string[] => [...alive()]
  const pick = (xs: string[], n: number): string[] => shuffle([...xs], random).slice(0, n)

  /** True when `sv` (a peer's state vector) has something ours lacks. */
  const behind = (sv: Uint8Array): boolean => {
    let theirs: Map<number, number>
    try { theirs = Y.decodeStateVector(sv) } catch { return false }
    ourSv ??= Y.decodeStateVector(Y.encodeStateVector(doc))
    const ours = ourSv
    for (const [client, clock] of theirs) if ((ours.get(client) ?? 0) < clock) return true
    return false
  }

  let healBatch: string[] = []
  let healTimer: unknown

  return {
    doc,
    name,
    map: <V>(root: string) => {
      if (!roots.has(root)) throw new RejectedUpdateError('shape', mesh.peerId, `unknown root ${root}`)
      return doc.getMap<V>(root)
    },
    async start () {
      if (started) return
      if (options.persistence != null) {
        const updates = await options.persistence.load()
        // What earlier runs appended counts towards the next compaction: restarts must not grow the log for ever.
        persistedSinceCompact = updates.length
        doc.transact(() => {
          for (const u of updates) {
            try { Y.applyUpdate(doc, u, LOADED) } catch { stats.rejected.persist = (stats.rejected.persist ?? 0) + 1 }
          }
        }, LOADED)
        bindingsFromDoc(doc, bindings)
      }
      started = true
      cleanups.push(mesh.subscribe(topic, (msg) => {
        const from = msg.envelope.from
        const body = msg.envelope.body
        // A message from a peer we believe dead: the partition may be over; probe it now.
        if (believedDead(from)) { prober.poke(from); prober.tick(deadPeers(), now(), knownPeers) }
        if ('u' in body) {
          if (!limiter.allow(from)) { reject(from, 'flood', 'update rate over the per-sender limit'); return }
          let u: Uint8Array
          try { u = unb64(body.u) } catch { reject(from, 'malformed', 'bad base64'); return }
          applyRemote(from, u, 'gossip')
        } else if ('r' in body) {
          if (!limiter.allow(from)) { reject(from, 'flood', 'relay rate over the per-sender limit'); return }
          if (options.acceptRelayFrom != null && !options.acceptRelayFrom(from)) { reject(from, 'unauthorized', 'relay from a peer we do not trust'); return }
          let u: Uint8Array
          try { u = unb64(body.r) } catch { reject(from, 'malformed', 'bad base64'); return }
          stats.relaysReceived++
          const before = options.onSync != null ? Y.encodeStateVector(doc) : undefined
          const ok = applyRemote(from, u, 'relay')
          if (ok) {
            // A neighbour pulled news from a peer that was cut off: a heal sign for us too, although
            // none of our own probes or liveness events has seen the other side yet.
            healSignMs = now()
            // Applied now: a relay is one batch already (like a catch-up response), and the batch
            // timer would wait for the next timers phase, late on an agent busy with a heal.
            flush()
          }
          if (options.onSync != null) {
            const store = doc.store as unknown as { pendingStructs: { missing: Map<number, number> } | null }
            options.onSync({ kind: 'relay-in', peer: from, ok, news: ok && !sameBytes(before as Uint8Array, Y.encodeStateVector(doc)), bytes: u.byteLength, ms: 0, ...(store.pendingStructs != null ? { pendingMissing: Object.fromEntries(store.pendingStructs.missing) } : {}) })
          }
        } else {
          let sv: Uint8Array
          try { sv = unb64(body.sv) } catch { reject(from, 'malformed', 'bad base64'); return }
          if (behind(sv)) void pullFrom(from, undefined, 'digest')
        }
      }))
      mesh.handle(protocol, async (from, request) => {
        if (!limiter.allow(from)) { reject(from, 'flood', 'sync rate over the per-sender limit'); throw new RejectedUpdateError('flood', from, 'rate limited') }
        let sv: Uint8Array
        let push: Uint8Array
        try { ({ sv, push } = splitSyncRequest(request)); Y.decodeStateVector(sv) } catch { reject(from, 'malformed', 'bad state vector'); throw new RejectedUpdateError('malformed', from, 'bad state vector') }
        stats.syncBytesReceived += request.byteLength
        if (push.byteLength > 0) {
          // The requester's news (it was cut off from us): apply it as a catch-up response, and
          // pass it on to our neighbours like news we pulled ourselves.
          stats.pushesReceived++
          if (push.byteLength > o.maxUpdateBytes) reject(from, 'oversized', `pushed update of ${push.byteLength} bytes over ${o.maxUpdateBytes}`)
          else if (applyNow(from, push).news && cutOffRecently(from)) relaySoon(push)
        }
        svAtGone.delete(from) // the response brings it everything we have
        const diff = Y.encodeStateAsUpdate(doc, sv)
        stats.syncBytesSent += diff.byteLength
        // Push-pull: the requester has something we lack (typically the other side of a
        // healed partition): pull it back at once instead of waiting for our own schedule.
        touch(from)
        // A request from a peer we believe dead crossed the cut: it healed.
        if (believedDead(from)) healSignMs = now()
        if (behind(sv)) { stats.pushBacks++; void pullFrom(from, o.healProbe.timeoutMs, 'push-back') }
        options.onSync?.({ kind: 'serve', peer: from, ok: true, bytes: diff.byteLength, ms: 0 })
        return diff
      }, { maxBytes: o.maxSyncBytes })
      const startHealBatch = (): void => {
        healTimer = timers.setTimeout(() => {
          healTimer = undefined
          const batch = [...new Set(healBatch)]
          healBatch = []
          if (batch.length > 0) void pullFromMany(pick(batch, o.syncFanout), 'heal')
        }, o.healBatchMs)
      }
      cleanups.push(mesh.onLiveness((e) => {
        aliveCache = undefined
        deadCache = undefined
        deadSetCache = undefined
        suspectCache = undefined
        for (const h of [...livenessHandlers]) h(e)
        if (e.state !== 'alive') {
          if (!goneAtMs.has(e.peer) && goneAtMs.size >= o.maxTrackedPeers) goneAtMs.clear()
          goneAtMs.set(e.peer, now())
          if (!svAtGone.has(e.peer)) {
            if (svAtGone.size >= o.maxTrackedPeers) svAtGone.clear()
            svAtGone.set(e.peer, Y.encodeStateVector(doc))
          }
          if (e.state === 'dead') {
            if (deadNow.size >= o.maxTrackedPeers) deadNow.clear()
            deadNow.add(e.peer)
          }
        }
        const backFromDead = e.state === 'alive' && deadNow.delete(e.peer)
        if (e.state !== 'alive' || !started) return
        touch(e.peer)
        if (backFromDead) healSignMs = now()
        prober.forget(e.peer)
        if (backFromDead && healTimer == null) {
          // The first peer back from the dead starts a heal: pull from it now (with our push) instead of
          // after the batch, whose timer a host busy reconnecting runs late. The batch then takes
          // syncFanout pulls from whoever else comes back within healBatchMs.
          void pullFrom(e.peer, undefined, 'heal')
          startHealBatch()
          return
        }
        healBatch.push(e.peer)
        if (healTimer == null) startHealBatch()
      }))
      // Anti-entropy: pull from one random alive peer per period (fast while the
      // document changes, slow when idle). Cost per node is constant in the mesh
      // size, and a lost gossip update reaches everyone in O(log N) periods.
      let nextSyncMs = now() + o.antiEntropyActiveMs * random()
      cleanups.push(every(timers, o.tickMs, () => {
        const t = now()
        if (t < nextSyncMs) return
        const active = t - lastChangeMs < o.activeWindowMs
        nextSyncMs = t + (active ? o.antiEntropyActiveMs : o.antiEntropyIdleMs) * (0.75 + 0.5 * random())
        const peer = pick(alivePeers(), 1)[0]
        if (peer != null) { stats.antiEntropyPulls++; void pullFrom(peer, undefined, 'anti-entropy') }
      }))
      // Heal probes run on their own schedule (heal-probe.ts): one bounded dial per period while any peer is dead.
      cleanups.push(every(timers, Math.max(10, Math.min(o.tickMs, o.healProbe.intervalMs)), () => { deadCache = undefined; deadSetCache = undefined; prober.tick(deadPeers(), now(), knownPeers) }))
      // Ready once we caught up with someone (or nobody answered in startupSyncMs):
      // a restarted agent must not act on what it knew before it hears what changed.
      const deadline = now() + o.startupSyncMs
      await new Promise<void>((resolve) => {
        const attempt = (): void => {
          const first = pick(alivePeers(), o.syncFanout)
          if (first.length > 0) {
            void pullFromMany(first, 'start').then((n) => { if (n > 0 || now() >= deadline) resolve(); else timers.setTimeout(attempt, 100) })
          } else if (now() >= deadline) resolve()
          else timers.setTimeout(attempt, 50)
        }
        attempt()
      })
    },
    stop () {
      flush()
      started = false
      for (const c of cleanups.splice(0)) c()
      if (healTimer != null) timers.clearTimeout(healTimer)
      if (relayTimer != null) { timers.clearTimeout(relayTimer); relayTimer = undefined }
    },
    pullFrom,
    pullFromMany,
    flush,
    alivePeers,
    isAlive: (peer) => peer === mesh.peerId || alive().has(peer),
    lastHealSignMs: () => healSignMs,
    isDead: (peer) => {
      if (peer === mesh.peerId || alive().has(peer)) return false
      suspectCache ??= new Set(mesh.peers().filter((p) => p.state === 'suspect' && p.kind !== 'other').map((p) => p.peer))
      return !suspectCache.has(peer)
    },
    onChange (fn) { changeHandlers.add(fn); return () => { changeHandlers.delete(fn) } },
    onLiveness (fn) { livenessHandlers.add(fn); return () => { livenessHandlers.delete(fn) } },
    stats: () => ({ ...stats, rejected: { ...stats.rejected }, rejectedBySender: { ...stats.rejectedBySender } })
  }
}
