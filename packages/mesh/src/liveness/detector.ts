// The failure detector: per peer alive → suspect → dead, SWIM-style with a
// suspicion step, phi-accrual timeouts, Lifeguard local health, redial
// confirmation on connection close, and reconnection with capped backoff.
//
// Probing: for each pair one side pings (isPinger) and the other side hears
// those pings as heartbeats, so both sides have fresh evidence from two small
// frames per interval. The pinger times each ping against the peer's RTT
// distribution; the pinged side times the gaps between pings against their
// inter-arrival distribution. Either way the peer becomes suspect when late
// and dead when still silent after the suspicion timeout; any answer refutes.
//
// Peers that are not agents (kind.ts) do not speak the probe: the detector
// learns each peer's kind (identify, probe negotiation, probe frames) and pings
// a non-agent itself with libp2p ping (ping-probe.ts) at otherPingIntervalMs,
// always from this side of the pair, on the same RTT-based timeouts. A peer
// that answers neither is alive while connected (connection events only).
// Agents are probed exactly as before kinds existed; a peer not identified yet
// is probed as an agent.
//
// Transport-agnostic: the libp2p probe (probe.ts) feeds it connection events,
// pings and pongs; tests drive `tick()` with an injected clock.
import { LIVENESS_REASONS } from '@homeostat/interface'
import type { LivenessEvent, Liveness, PeerKind, PeerState } from '../types.ts'
import type { LivenessTuning } from '../defaults.ts'
import { summarise, pingTimeoutMs, heartbeatTimeoutMs, suspicionTimeoutMs, pingIntervalFor, isPinger, type RttSummary } from './timing.ts'
import { nextKind, probeMethod, type KindEvidence, type ProbeMethod } from './kind.ts'
import { createLocalHealth } from './local-health.ts'
import { createReconnector } from './reconnect.ts'

export interface ProbeTransport {
  /** Send ping `seq` to `peer` (queue it if the probe stream is still opening): over the agent probe
   * (`probe`), or with libp2p ping (`ping`) to a peer that is not an agent. */
  sendPing: (peer: string, seq: number, method: Exclude<ProbeMethod, 'none'>) => void
  /** Abort every connection to a peer declared dead. */
  closePeer: (peer: string) => void
  /** Redial once after a connection closed: connected again, refused (nothing listens: dead), or timed out (maybe busy: stay suspect). */
  /** `refused`: the host answered, nothing listens (the agent is down); `unreachable`: no route to the host (down, or cut off); `timeout`: maybe only busy. */
  confirm: (peer: string) => Promise<'connected' | 'refused' | 'unreachable' | 'timeout'>
  /** A reconnect attempt; resolves true when connected. */
  reconnect: (peer: string) => Promise<boolean>
  /** Whether `peer` serves the agent probe (one negotiation), for a connected peer whose kind is still
   * unknown after classifyAfterMs; `undefined`: could not tell. Without it such a peer stays unknown. */
  classify?: (peer: string) => Promise<boolean | undefined>
}

export interface FailureDetectorOptions {
  /** Our own id: decides which side of each pair pings. */
  selfId: string
  tuning: LivenessTuning
  now: () => number
  random: () => number
  transport: ProbeTransport
  onEvent: (event: LivenessEvent) => void
}

export interface LivenessStats {
  pingsSent: number
  pongsReceived: number
  pingsHeard: number
  suspected: number
  declaredDead: number
  refuted: number
  localHealth: number
  stalledMs: number
  reconnectsPending: number
  /** Current per-peer ping interval (ms) after the maxPingsPerSecond budget. */
  pingIntervalMs: number
  /** Of pingsSent / pongsReceived: libp2p pings to peers that are not agents, and their answers. */
  otherPingsSent: number
  otherPongsReceived: number
}

interface PeerEntry {
  state: Liveness
  sinceMs: number
  connected: boolean
  confirming: boolean
  /** Whether we ping this peer: the pair rule for agents (and unknown peers), always for others. */
  pinger: boolean
  /** The pair rule (isPinger of both ids). */
  pairPinger: boolean
  kind: PeerKind
  /** The peer refused libp2p ping (an `other` peer we cannot probe: connection events only). */
  pingRefused: boolean
  /** Physical ms of the last connection, and whether its kind check (classifyAfterMs) ran. */
  connectedAtMs: number
  classifyTried: boolean
  /** Pinger side: RTT samples. Pinged side: gaps between heard pings. */
  samples: number[]
  /** When each sample was taken (same order), for rttMaxAgeMs. */
  sampleAtMs: number[]
  summary: RttSummary
  outstanding: Map<number, number>
  seq: number
  lastPingMs: number
  lastHeardMs: number
  /** The next heard gap spans a reconnect or our own stall: not a sample. */
  skipGap: boolean
  /** The peer's own local health as it last reported: a starved peer gets the same patience we give ourselves. */
  remoteHealth: number
  suspectSinceMs: number
  /** The last timeout computed from `summary` at local health `timeoutHealth` (the phi point is a
   * 60-step bisection: worth computing once per new sample, not once per peer per tick). */
  timeoutFor?: RttSummary
  timeoutHealth: number
  timeoutMs: number
}

export interface FailureDetector {
  start: () => void
  stop: () => void
  /** One scheduler step at `now()`; `expectedMs` is when it was due (for stall detection). */
  tick: (expectedMs?: number) => void
  connected: (peer: string) => void
  disconnected: (peer: string) => void
  /** The peer answered our ping `seq` (over the agent probe unless `method` is `ping`), reporting its own local health score. */
  pong: (peer: string, seq: number, remoteHealth?: number, method?: Exclude<ProbeMethod, 'none'>) => void
  /** The peer pinged us over the agent probe (heartbeat evidence), reporting its own local health score. */
  heard: (peer: string, remoteHealth?: number) => void
  /** Something was learnt about the peer's protocols (kind.ts). May come before the peer's connection event. */
  learn: (peer: string, evidence: KindEvidence) => void
  /** The peer refused libp2p ping: a non-agent we cannot probe (its liveness follows its connection). */
  pingUnsupported: (peer: string) => void
  /** Our local health score (sent to peers in probe frames). */
  localHealth: () => number
  peers: () => PeerState[]
  /** peers() of kind `agent`. */
  members: () => PeerState[]
  state: (peer: string) => Liveness | undefined
  kind: (peer: string) => PeerKind | undefined
  stats: () => LivenessStats
}

/** Kinds learnt for peers the detector does not track yet (identify may finish before peer:connect). */
const MAX_KIND_HINTS = 1024

export function createFailureDetector (o: FailureDetectorOptions): FailureDetector {
  const t = o.tuning
  const entries = new Map<string, PeerEntry>()
  const health = createLocalHealth(t, o.now())
  const counters = { pingsSent: 0, pongsReceived: 0, pingsHeard: 0, suspected: 0, declaredDead: 0, refuted: 0, otherPingsSent: 0, otherPongsReceived: 0 }
  const hints = new Map<string, PeerKind>()
  // A non-agent is pinged every otherPingIntervalMs instead of every pingIntervalMs: it weighs that
  // fraction of a peer in the maxPingsPerSecond budget.
  const otherWeight = Math.min(1, t.pingIntervalMs / Math.max(1, t.otherPingIntervalMs))
  let running = false
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastTickMs = o.now()
  let intervalMs = t.pingIntervalMs

  const reconnector = createReconnector(t, async (peer) => await o.transport.reconnect(peer), o.random, o.now)

  const transition = (peer: string, e: PeerEntry, state: Liveness, reason: string): void => {
    if (e.state === state) return
    const atMs = o.now()
    if (state === 'suspect') counters.suspected++
    if (state === 'dead') counters.declaredDead++
    if (state === 'alive' && e.state === 'suspect') counters.refuted++
    e.state = state
    e.sinceMs = atMs
    if (stopped) return
    try { o.onEvent({ peer, state, atMs, reason, kind: e.kind }) } catch { /* a listener's bug must not stop detection */ }
  }

  const entry = (peer: string): PeerEntry => {
    let e = entries.get(peer)
    if (e == null) {
      const pairPinger = isPinger(o.selfId, peer)
      const kind = hints.get(peer) ?? 'unknown'
      hints.delete(peer)
      e = {
        state: 'dead', sinceMs: o.now(), connected: false, confirming: false, pinger: kind === 'other' || pairPinger, pairPinger, kind, pingRefused: false, connectedAtMs: o.now(), classifyTried: false,
        samples: [], sampleAtMs: [], summary: summarise([]), outstanding: new Map(), seq: 0, lastPingMs: 0, lastHeardMs: o.now(), skipGap: true, remoteHealth: 0, suspectSinceMs: 0, timeoutHealth: 0, timeoutMs: 0
      }
      entries.set(peer, e)
    }
    return e
  }

  /** The peer's kind changed: when that changes how it is probed, its evidence so far is void. */
  const setKind = (e: PeerEntry, kind: PeerKind): void => {
    if (e.kind === kind) return
    const methodChanged = (e.kind === 'other') !== (kind === 'other')
    e.kind = kind
    if (!methodChanged) return
    const now = o.now()
    e.pinger = kind === 'other' || e.pairPinger
    e.samples = []
    e.sampleAtMs = []
    e.summary = summarise([])
    e.outstanding.clear()
    e.lastPingMs = 0
    e.lastHeardMs = now
    e.skipGap = true
    // A suspicion raised under the wrong probe (heartbeats a non-agent never sends) starts over.
    if (e.state === 'suspect') e.suspectSinceMs = now
  }

  const learn = (peer: string, evidence: KindEvidence): void => {
    const e = entries.get(peer)
    if (e == null) {
      if (hints.size >= MAX_KIND_HINTS) hints.delete(hints.keys().next().value as string)
      hints.set(peer, nextKind(hints.get(peer) ?? 'unknown', evidence))
      return
    }
    setKind(e, nextKind(e.kind, evidence))
    // A refused negotiation is an answer from a non-agent: its process is there. (An agent refusing is
    // one that is stopping: its connection events decide, as before kinds existed.)
    if (evidence === 'probe:unsupported' && e.connected && e.kind === 'other') answered(peer, e)
  }

  const sample = (e: PeerEntry, ms: number): void => {
    const now = o.now()
    e.samples.push(Math.max(0, ms))
    e.sampleAtMs.push(now)
    // Oldest out first: beyond the window, or older than rttMaxAgeMs (but keep minRttSamples so a
    // peer heard from rarely keeps its model).
    while (e.samples.length > t.rttWindow || (e.samples.length > t.minRttSamples && now - e.sampleAtMs[0]! > t.rttMaxAgeMs)) {
      e.samples.shift()
      e.sampleAtMs.shift()
    }
    e.summary = summarise(e.samples)
  }

  const timeoutOf = (e: PeerEntry, lh: number): number => {
    if (e.timeoutFor !== e.summary || e.timeoutHealth !== lh) {
      e.timeoutMs = e.pinger ? pingTimeoutMs(e.summary, lh, t) : heartbeatTimeoutMs(e.summary, t.pingIntervalMs * 4, lh, t)
      e.timeoutFor = e.summary
      e.timeoutHealth = lh
    }
    return e.timeoutMs
  }

  const answered = (peer: string, e: PeerEntry): void => {
    e.lastHeardMs = o.now()
    if (e.state === 'suspect' && !e.confirming) transition(peer, e, 'alive', LIVENESS_REASONS.pingOk)
  }

  const declareDead = (peer: string, e: PeerEntry, reason: string): void => {
    e.connected = false
    e.outstanding.clear()
    transition(peer, e, 'dead', reason)
    o.transport.closePeer(peer)
    // One side of each pair redials (the pinger): after a network cut heals, every pair
    // reconnecting from both ends doubled the handshakes of an already CPU-bound storm (and could
    // leave two connections per pair). The other side waits for the inbound connection and only
    // dials itself after the capped delay.
    reconnector.schedule(peer, o.now(), !e.pinger)
  }

  const view = (peer: string, e: PeerEntry): PeerState => ({
    peer,
    state: e.state,
    kind: e.kind,
    sinceMs: e.sinceMs,
    ...(e.pinger && e.summary.samples > 0 ? { rttMs: Math.round(e.summary.meanMs * 100) / 100 } : {})
  })

  const tick = (expectedMs?: number): void => {
    const now = o.now()
    const stall = health.tick(expectedMs ?? now, now)
    if (stall > 0) {
      // We were not running: nobody can be blamed for what we did not read.
      for (const e of entries.values()) {
        for (const [seq, sent] of e.outstanding) e.outstanding.set(seq, sent + stall)
        e.lastHeardMs += stall
        e.skipGap = true
        if (e.state === 'suspect') e.suspectSinceMs += stall
      }
    }
    const ownHealth = health.score()
    let pinged = 0
    for (const e of entries.values()) {
      if (!e.connected || !e.pinger) continue
      if (e.kind !== 'other') pinged++
      else if (!e.pingRefused) pinged += otherWeight
    }
    intervalMs = pingIntervalFor(pinged, t)
    const otherIntervalMs = Math.max(intervalMs, t.otherPingIntervalMs)
    for (const [peer, e] of entries) {
      if (!e.connected) {
        // Lost its connection, redial timed out: reconnects run; dead when the suspicion window ends.
        if (e.state === 'suspect' && !e.confirming && now - e.suspectSinceMs >= suspicionTimeoutMs(ownHealth, t)) declareDead(peer, e, LIVENESS_REASONS.suspicionTimeout)
        continue
      }
      const method = probeMethod(e.kind, e.pingRefused)
      // Answers neither the probe nor ping: alive while connected, as its connection events say.
      if (method === 'none') continue
      if (e.kind === 'unknown' && !e.pinger && !e.classifyTried && o.transport.classify != null && now - e.connectedAtMs >= t.classifyAfterMs) classify(peer, e)
      const lh = Math.max(ownHealth, e.remoteHealth)
      let late: boolean
      if (e.pinger) {
        if (now - e.lastPingMs >= (method === 'ping' ? otherIntervalMs : intervalMs)) {
          e.seq = (e.seq + 1) >>> 0
          e.outstanding.set(e.seq, now)
          if (e.outstanding.size > t.maxOutstandingPings) {
            const oldest = e.outstanding.keys().next().value
            if (oldest !== undefined) e.outstanding.delete(oldest)
          }
          e.lastPingMs = now
          counters.pingsSent++
          if (method === 'ping') counters.otherPingsSent++
          o.transport.sendPing(peer, e.seq, method)
        }
        let oldest = Number.POSITIVE_INFINITY
        for (const sent of e.outstanding.values()) oldest = Math.min(oldest, sent)
        late = now - oldest >= timeoutOf(e, lh)
      } else {
        late = now - e.lastHeardMs >= timeoutOf(e, lh)
      }
      if (e.state === 'alive' && late) {
        e.suspectSinceMs = now
        transition(peer, e, 'suspect', LIVENESS_REASONS.pingTimeout)
      } else if (e.state === 'suspect' && !e.confirming && now - e.suspectSinceMs >= suspicionTimeoutMs(lh, t)) {
        declareDead(peer, e, LIVENESS_REASONS.suspicionTimeout)
      }
    }
    for (const peer of reconnector.tick(now)) entries.delete(peer)
    lastTickMs = now
  }

  const classify = (peer: string, e: PeerEntry): void => {
    e.classifyTried = true
    void o.transport.classify?.(peer).then((speaks) => {
      if (stopped || entries.get(peer) !== e || speaks === undefined) return
      learn(peer, speaks ? 'probe:negotiated' : 'probe:unsupported')
    }, () => {})
  }

  const loop = (): void => {
    if (!running) return
    const expected = lastTickMs + t.tickMs
    tick(expected)
    timer = setTimeout(loop, t.tickMs)
    timer.unref?.()
  }

  return {
    start () {
      if (running) return
      running = true
      lastTickMs = o.now()
      timer = setTimeout(loop, t.tickMs)
      timer.unref?.()
    },
    stop () {
      running = false
      stopped = true
      if (timer != null) clearTimeout(timer)
      reconnector.clear()
    },
    tick,
    connected (peer) {
      const e = entry(peer)
      reconnector.cancel(peer)
      if (e.connected && e.state === 'alive') return
      e.connected = true
      e.connectedAtMs = o.now()
      e.classifyTried = false
      e.outstanding.clear()
      e.lastPingMs = 0
      e.lastHeardMs = o.now()
      e.skipGap = true
      transition(peer, e, 'alive', e.state === 'suspect' ? LIVENESS_REASONS.reconnected : LIVENESS_REASONS.connectionOpen)
    },
    disconnected (peer) {
      const e = entries.get(peer)
      if (e == null || e.state === 'dead' || !e.connected) return
      e.connected = false
      e.outstanding.clear()
      e.confirming = true
      e.suspectSinceMs = o.now()
      transition(peer, e, 'suspect', LIVENESS_REASONS.connectionClose)
      void o.transport.confirm(peer).catch(() => 'refused' as const).then((result) => {
        e.confirming = false
        if (stopped || entries.get(peer) !== e) return
        if (result === 'connected' || e.connected) {
          e.connected = true
          e.lastHeardMs = o.now()
          e.skipGap = true
          transition(peer, e, 'alive', LIVENESS_REASONS.reconnected)
        } else if (e.state !== 'dead') {
          if (result === 'refused') declareDead(peer, e, LIVENESS_REASONS.connectionLost)
          else if (result === 'unreachable') declareDead(peer, e, LIVENESS_REASONS.hostUnreachable)
          else {
            e.suspectSinceMs = o.now() // a full suspicion window while reconnects run
            reconnector.schedule(peer, o.now(), !e.pinger)
          }
        }
      })
    },
    pong (peer, seq, remoteHealth = 0, method = 'probe') {
      const e = entries.get(peer)
      if (e == null) return
      if (method === 'probe') setKind(e, nextKind(e.kind, 'probe:frames'))
      if (!e.connected) return
      // A libp2p ping answered after the peer turned out to be an agent belongs to the old probe.
      if (method === 'ping' && e.kind !== 'other') return
      counters.pongsReceived++
      if (method === 'ping') counters.otherPongsReceived++
      e.remoteHealth = Math.min(t.maxLocalHealth, Math.max(0, remoteHealth))
      const sent = e.outstanding.get(seq)
      if (sent !== undefined) sample(e, o.now() - sent)
      // One ordered stream: answers to earlier pings will not come any more.
      for (const s of [...e.outstanding.keys()]) if (s <= seq) e.outstanding.delete(s)
      answered(peer, e)
    },
    heard (peer, remoteHealth = 0) {
      const e = entries.get(peer)
      if (e == null) return
      setKind(e, nextKind(e.kind, 'probe:frames'))
      if (!e.connected) return
      counters.pingsHeard++
      e.remoteHealth = Math.min(t.maxLocalHealth, Math.max(0, remoteHealth))
      if (!e.pinger) {
        if (!e.skipGap) sample(e, o.now() - e.lastHeardMs)
        e.skipGap = false
      }
      answered(peer, e)
    },
    learn,
    pingUnsupported (peer) {
      const e = entries.get(peer)
      if (e == null || e.kind !== 'other' || e.pingRefused) return
      e.pingRefused = true
      e.outstanding.clear()
      // The refusal is an answer, and from now on only the connection speaks for this peer.
      if (e.connected && !e.confirming) transition(peer, e, 'alive', LIVENESS_REASONS.pingOk)
    },
    peers () {
      return [...entries].map(([peer, e]) => view(peer, e))
    },
    members () {
      const out: PeerState[] = []
      for (const [peer, e] of entries) if (e.kind === 'agent') out.push(view(peer, e))
      return out
    },
    state: (peer) => entries.get(peer)?.state,
    kind: (peer) => entries.get(peer)?.kind ?? hints.get(peer),
    localHealth: () => health.score(),
    stats: () => ({ ...counters, localHealth: health.score(), stalledMs: health.stalledMsTotal(), reconnectsPending: reconnector.pending(), pingIntervalMs: intervalMs })
  }
}
