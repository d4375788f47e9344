// Pure timer maths of the failure detector. No clocks, no I/O: every function
// here is tested from a table of cases (test/liveness-timing.test.ts).
import type { LivenessTuning } from '../defaults.ts'

/** Mean and standard deviation of a bounded window of RTT samples. */
export interface RttSummary { meanMs: number, stdMs: number, samples: number }

export function summarise (samplesMs: readonly number[]): RttSummary {
  const n = samplesMs.length
  if (n === 0) return { meanMs: 0, stdMs: 0, samples: 0 }
  let sum = 0
  for (const s of samplesMs) sum += s
  const mean = sum / n
  let sq = 0
  for (const s of samplesMs) sq += (s - mean) * (s - mean)
  return { meanMs: mean, stdMs: Math.sqrt(sq / n), samples: n }
}

/**
 * Phi of the accrual failure detector (Hayashibara et al. 2004) for an answer
 * that has been awaited `elapsedMs`, given the peer's RTT distribution, using
 * the logistic approximation of the normal CDF (as Akka/Cassandra do):
 * phi = −log10(1 − F(elapsed)). phi 1 ≈ 10 % chance a healthy peer is this
 * slow, phi 8 ≈ 1e−8.
 */
export function phi (elapsedMs: number, meanMs: number, stdMs: number): number {
  const std = Math.max(stdMs, 1e-6)
  const y = (elapsedMs - meanMs) / std
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  const p = elapsedMs > meanMs ? e / (1 + e) : 1 - 1 / (1 + e)
  if (p <= 0) return Number.POSITIVE_INFINITY
  return -Math.log10(p)
}

/** The elapsed time at which phi reaches `threshold` (bisection; phi is monotonic in elapsed). */
export function elapsedForPhi (threshold: number, meanMs: number, stdMs: number): number {
  let lo = meanMs
  let hi = meanMs + Math.max(stdMs, 1e-6) * 64
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (phi(mid, meanMs, stdMs) < threshold) lo = mid
    else hi = mid
  }
  return hi
}

/** Lifeguard's local health multiplier: our own timeouts stretch while our event loop stalls. */
export function healthMultiplier (localHealth: number, t: Pick<LivenessTuning, 'maxLocalHealth' | 'localHealthFactor'>): number {
  const score = Math.min(Math.max(localHealth, 0), t.maxLocalHealth)
  return 1 + score * t.localHealthFactor
}

/**
 * How long to wait for a ping's answer: the phi-threshold point of the peer's
 * RTT distribution, clamped to [min, max]; `maxPingTimeoutMs` until enough
 * samples exist; stretched by local health.
 */
export function pingTimeoutMs (rtt: RttSummary, localHealth: number, t: Pick<LivenessTuning,
'minPingTimeoutMs' | 'maxPingTimeoutMs' | 'phiThreshold' | 'minRttStdMs' | 'minRttSamples' | 'maxLocalHealth' | 'localHealthFactor'>): number {
  const base = rtt.samples < t.minRttSamples
    ? t.maxPingTimeoutMs
    : Math.min(t.maxPingTimeoutMs, Math.max(t.minPingTimeoutMs, elapsedForPhi(t.phiThreshold, rtt.meanMs, Math.max(rtt.stdMs, t.minRttStdMs))))
  return Math.round(base * healthMultiplier(localHealth, t))
}

/** How long a suspect has to answer before it is declared dead. */
export function suspicionTimeoutMs (localHealth: number, t: Pick<LivenessTuning, 'suspicionTimeoutMs' | 'maxLocalHealth' | 'localHealthFactor'>): number {
  return Math.round(t.suspicionTimeoutMs * healthMultiplier(localHealth, t))
}

/** Delay before reconnect attempt `attempt` (0-based): base × 2^attempt, capped, spread by ±jitter using `random` ∈ [0,1). */
export function reconnectDelayMs (attempt: number, random: number, t: Pick<LivenessTuning, 'reconnectBaseMs' | 'reconnectMaxDelayMs' | 'reconnectJitter'>): number {
  const raw = Math.min(t.reconnectMaxDelayMs, t.reconnectBaseMs * 2 ** Math.min(Math.max(attempt, 0), 30))
  const spread = 1 + t.reconnectJitter * (2 * random - 1)
  return Math.max(0, Math.round(raw * spread))
}

/**
 * A scheduler tick expected at `expectedMs` ran at `actualMs`. Returns how much
 * of the delay was a stall of our own event loop (beyond the tolerance): that
 * long we could not have read any answer, so deadlines move by it.
 */
export function stallMs (expectedMs: number, actualMs: number, lagToleranceMs: number): number {
  const late = actualMs - expectedMs
  return late > lagToleranceMs ? late : 0
}

/** Local health after a tick: +1 on a stall, −1 per `localHealthRecoveryMs` of healthy ticks. */
export function nextLocalHealth (health: number, stalled: boolean, healthySinceMs: number, nowMs: number,
  t: Pick<LivenessTuning, 'maxLocalHealth' | 'localHealthRecoveryMs'>): { health: number, healthySinceMs: number } {
  if (stalled) return { health: Math.min(t.maxLocalHealth, health + 1), healthySinceMs: nowMs }
  if (health > 0 && nowMs - healthySinceMs >= t.localHealthRecoveryMs) return { health: health - 1, healthySinceMs: nowMs }
  return { health, healthySinceMs }
}

/**
 * For the side of a pair that is pinged rather than pinging: how long since
 * the last ping heard before suspecting. Phi point of the inter-arrival
 * distribution, with the slack beyond the mean clamped to [minPingTimeoutMs,
 * maxPingTimeoutMs] and stretched by local health; before enough samples,
 * the mean is assumed to be `assumedIntervalMs`.
 */
export function heartbeatTimeoutMs (arrivals: RttSummary, assumedIntervalMs: number, localHealth: number, t: Pick<LivenessTuning,
'minPingTimeoutMs' | 'maxPingTimeoutMs' | 'phiThreshold' | 'minRttStdMs' | 'minRttSamples' | 'maxLocalHealth' | 'localHealthFactor'>): number {
  const mult = healthMultiplier(localHealth, t)
  if (arrivals.samples < t.minRttSamples) return Math.round(assumedIntervalMs + t.maxPingTimeoutMs * mult)
  const slack = elapsedForPhi(t.phiThreshold, arrivals.meanMs, Math.max(arrivals.stdMs, t.minRttStdMs)) - arrivals.meanMs
  return Math.round(arrivals.meanMs + Math.min(t.maxPingTimeoutMs, Math.max(t.minPingTimeoutMs, slack)) * mult)
}

/** Per-peer ping interval that keeps a node's total ping rate within maxPingsPerSecond. */
export function pingIntervalFor (pingedPeers: number, t: Pick<LivenessTuning, 'pingIntervalMs' | 'maxPingsPerSecond'>): number {
  if (t.maxPingsPerSecond <= 0) return t.pingIntervalMs
  return Math.max(t.pingIntervalMs, Math.ceil(pingedPeers * 1000 / t.maxPingsPerSecond))
}

/** Which side of a pair pings: decided by a hash of both ids so each node pings about half its peers, and both sides agree. */
export function isPinger (self: string, peer: string): boolean {
  const [lo, hi] = self < peer ? [self, peer] : [peer, self]
  let h = 0x811c9dc5
  const s = `${lo}|${hi}`
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) }
  const loPings = ((h >>> 0) & 1) === 0
  return (self === lo) === loPings
}
