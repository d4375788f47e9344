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
// Transport-agnostic: the libp2p probe (probe.ts) feeds it connection events,
// pings and pongs; tests drive `tick()` with an injected clock.
import { LIVENESS_REASONS } from '@homeostat/interface'
import type { LivenessEvent, Liveness, PeerState } from '../types.ts'
import type { LivenessTuning } from '../defaults.ts'
import { summarise, pingTimeoutMs, heartbeatTimeoutMs, suspicionTimeoutMs, pingIntervalFor, isPinger, type RttSummary } from './timing.ts'
import { createLocalHealth } from './local-health.ts'
import { createReconnector } from './reconnect.ts'

export interface ProbeTransport {
  /** Send ping `seq` to `peer` (queue it if the probe stream is still opening). */
  sendPing: (peer: string, seq: number) => void
  /** Abort every connection to a peer declared dead. */
  closePeer: (peer: string) => void
  /** Redial once after a connection closed: connected again, refused (nothing listens: dead), or timed out (maybe busy: stay suspect). */
  /** `refused`: the host answered, nothing listens (the agent is down); `unreachable`: no route to the host (down, or cut off); `timeout`: maybe only busy. */
  confirm: (peer: string) => Promise<'connected' | 'refused' | 'unreachable' | 'timeout'>
  /** A reconnect attempt; resolves true when connected. */
  reconnect: (peer: string) => Promise<boolean>
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
}

interface PeerEntry {
  state: Liveness
  sinceMs: number
  connected: boolean
  confirming: boolean
  pinger: boolean
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
  /** The peer answered our ping `seq`, reporting its own local health score. */
  pong: (peer: string, seq: number, remoteHealth?: number) => void
  /** The peer pinged us (heartbeat evidence), reporting its own local health score. */
  heard: (peer: string, remoteHealth?: number) => void
  /** Our local health score (sent to peers in probe frames). */
  localHealth: () => number
  peers: () => PeerState[]
  state: (peer: string) => Liveness | undefined
  stats: () => LivenessStats
}

export function createFailureDetector (o: FailureDetectorOptions): FailureDetector {
  const t = o.tuning
  const entries = new Map<string, PeerEntry>()
  const health = createLocalHealth(t, o.now())
  const counters = { pingsSent: 0, pongsReceived: 0, pingsHeard: 0, suspected: 0, declaredDead: 0, refuted: 0 }
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
    try { o.onEvent({ peer, state, atMs, reason }) } catch { /* a listener's bug must not stop detection */ }
  }

  const entry = (peer: string): PeerEntry => {
    let e = entries.get(peer)
    if (e == null) {
      e = {
        state: 'dead', sinceMs: o.now(), connected: false, confirming: false, pinger: isPinger(o.selfId, peer),
        samples: [], sampleAtMs: [], summary: summarise([]), outstanding: new Map(), seq: 0, lastPingMs: 0, lastHeardMs: o.now(), skipGap: true, remoteHealth: 0, suspectSinceMs: 0, timeoutHealth: 0, timeoutMs: 0
      }
      entries.set(peer, e)
    }
    return e
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

  const evidence = (peer: string, e: PeerEntry): void => {
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
    for (const e of entries.values()) if (e.connected && e.pinger) pinged++
    intervalMs = pingIntervalFor(pinged, t)
    for (const [peer, e] of entries) {
      if (!e.connected) {
        // Lost its connection, redial timed out: reconnects run; dead when the suspicion window ends.
        if (e.state === 'suspect' && !e.confirming && now - e.suspectSinceMs >= suspicionTimeoutMs(ownHealth, t)) declareDead(peer, e, LIVENESS_REASONS.suspicionTimeout)
        continue
      }
      const lh = Math.max(ownHealth, e.remoteHealth)
      let late: boolean
      if (e.pinger) {
        if (now - e.lastPingMs >= intervalMs) {
          e.seq = (e.seq + 1) >>> 0
          e.outstanding.set(e.seq, now)
          if (e.outstanding.size > t.maxOutstandingPings) {
            const oldest = e.outstanding.keys().next().value
            if (oldest !== undefined) e.outstanding.delete(oldest)
          }
          e.lastPingMs = now
          counters.pingsSent++
          o.transport.sendPing(peer, e.seq)
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
    pong (peer, seq, remoteHealth = 0) {
      const e = entries.get(peer)
      if (e == null || !e.connected) return
      counters.pongsReceived++
      e.remoteHealth = Math.min(t.maxLocalHealth, Math.max(0, remoteHealth))
      const sent = e.outstanding.get(seq)
      if (sent !== undefined) sample(e, o.now() - sent)
      // One ordered stream: answers to earlier pings will not come any more.
      for (const s of [...e.outstanding.keys()]) if (s <= seq) e.outstanding.delete(s)
      evidence(peer, e)
    },
    heard (peer, remoteHealth = 0) {
      const e = entries.get(peer)
      if (e == null || !e.connected) return
      counters.pingsHeard++
      e.remoteHealth = Math.min(t.maxLocalHealth, Math.max(0, remoteHealth))
      if (!e.pinger) {
        if (!e.skipGap) sample(e, o.now() - e.lastHeardMs)
        e.skipGap = false
      }
      evidence(peer, e)
    },
    peers () {
      return [...entries].map(([peer, e]) => ({
        peer,
        state: e.state,
        sinceMs: e.sinceMs,
        ...(e.pinger && e.summary.samples > 0 ? { rttMs: Math.round(e.summary.meanMs * 100) / 100 } : {})
      }))
    },
    state: (peer) => entries.get(peer)?.state,
    localHealth: () => health.score(),
    stats: () => ({ ...counters, localHealth: health.score(), stalledMs: health.stalledMsTotal(), reconnectsPending: reconnector.pending(), pingIntervalMs: intervalMs })
  }
}
