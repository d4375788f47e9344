// Token bucket per sender: a flooding peer is refused (and counted) instead of
// making every replica apply thousands of updates.

export interface TokenBucket { tokens: number, lastMs: number }

/** Pure: refills `b` up to `capacity` at `perSec`, then takes one token if it can. */
export function takeToken (b: TokenBucket, nowMs: number, capacity: number, perSec: number): boolean {
  const elapsedMs = Math.max(0, nowMs - b.lastMs)
  b.tokens = Math.min(capacity, b.tokens + elapsedMs * perSec / 1000)
  b.lastMs = nowMs
  if (b.tokens < 1) return false
  b.tokens -= 1
  return true
}

export interface RateLimiter {
  allow: (peer: string) => boolean
}

/** One bucket per peer; at most `maxPeers` buckets (oldest evicted) so a Sybil swarm cannot grow memory. */
export function createRateLimiter (options: { now: () => number, capacity: number, perSec: number, maxPeers: number }): RateLimiter {
  const buckets = new Map<string, TokenBucket>()
  return {
    allow (peer) {
      let b = buckets.get(peer)
      if (b == null) {
        if (buckets.size >= options.maxPeers) buckets.delete(buckets.keys().next().value!)
        b = { tokens: options.capacity, lastMs: options.now() }
        buckets.set(peer, b)
      }
      return takeToken(b, options.now(), options.capacity, options.perSec)
    }
  }
}
