// Predictive signals: a robust slope (Theil–Sen) of a resource over time and
// the time until it reaches its limit. Pure functions, tested from tables.

export interface Point { tMs: number, v: number }

export interface Trend {
  /** Median pairwise slope, units per ms. */
  slopePerMs: number
  /** Median intercept so that v ≈ slope·t + intercept. */
  intercept: number
  /** Fraction of point pairs whose slope has the sign of the trend (1 = monotone). */
  agreement: number
  /** Fitted value at the last point. */
  fitted: number
}

/** Median of a[0, n) (sorted in place: a typed array sorts numerically without a comparator call per pair). */
const median = (a: Float64Array, n: number): number => {
  const v = a.subarray(0, n).sort()
  const m = n >> 1
  return n % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2
}

/** Scratch for the pairwise slopes, reused between calls (1770 slopes for 60 points; this runs per sample per watched series). */
let scratch = new Float64Array(2048)

/** Theil–Sen estimator; O(n²) pairs, so callers keep n small (≤ 64). Undefined for < 2 distinct times. */
export function theilSen (points: readonly Point[]): Trend | undefined {
  const n = points.length
  if (n < 2) return undefined
  const pairs = (n * (n - 1)) / 2
  if (scratch.length < Math.max(pairs, n)) scratch = new Float64Array(Math.max(pairs, n))
  const slopes = scratch
  let k = 0
  for (let i = 0; i < n; i++) {
    const pi = points[i]!
    for (let j = i + 1; j < n; j++) {
      const pj = points[j]!
      const dt = pj.tMs - pi.tMs
      if (dt !== 0) slopes[k++] = (pj.v - pi.v) / dt
    }
  }
  if (k === 0) return undefined
  const s = median(slopes, k)
  const sign = Math.sign(s)
  let agreeing = 0
  if (sign !== 0) for (let i = 0; i < k; i++) if (Math.sign(slopes[i]!) === sign) agreeing++
  const total = k
  for (let i = 0; i < n; i++) slopes[i] = points[i]!.v - s * points[i]!.tMs
  const intercept = median(slopes, n)
  const last = points[n - 1]!
  return { slopePerMs: s, intercept, agreement: agreeing / total, fitted: s * last.tMs + intercept }
}

export interface Prediction {
  /** Time from the last point until the limit is reached, ms (0 if already at or over it). */
  timeToLimitMs: number
  /** Physical time the limit is predicted to be reached. */
  atMs: number
  slopePerS: number
  agreement: number
  current: number
}

/**
 * When will a growing series reach `limit`? Undefined if it is not growing,
 * growing slower than `minSlopePerS`, or the growth is not consistent
 * (fewer than `minAgreement` of point pairs agree). The current level is the
 * larger of the fitted and the last observed value (conservative).
 */
export function predictLimit (points: readonly Point[], limit: number, minAgreement = 0.7, minSlopePerS = 0): Prediction | undefined {
  const tr = theilSen(points)
  if (tr === undefined || !(tr.slopePerMs > 0)) return undefined
  const slopePerS = tr.slopePerMs * 1000
  if (slopePerS < minSlopePerS || tr.agreement < minAgreement) return undefined
  const last = points[points.length - 1]!
  const current = Math.max(tr.fitted, last.v)
  const ttl = Math.max(0, (limit - current) / tr.slopePerMs)
  return { timeToLimitMs: ttl, atMs: last.tMs + ttl, slopePerS, agreement: tr.agreement, current }
}

/**
 * The earliest credible time to the limit, over the whole window and its recent suffixes (the last
 * minPoints, 2·minPoints, 4·minPoints … points) — pure. A leak that began inside the window is a
 * minority of its points: the whole window's median slope stays near zero until most of it is
 * growth, by which time a fast leak has hit its limit. A suffix counts only when it spans
 * `minSpanMs`, its points agree on growth (`minAgreement`) and its last value is above every
 * earlier value of the window (a new high: a sawtooth's rising phase returns to its old peaks, a
 * leak goes past them).
 */
export function predictMultiScale (points: readonly Point[], limit: number, o: { minPoints: number, minSpanMs: number, minAgreement: number, minSlopePerS: number }): Prediction | undefined {
  let best = predictLimit(points, limit, o.minAgreement, o.minSlopePerS)
  const n = points.length
  for (let k = Math.max(2, o.minPoints); k < n; k *= 2) {
    const suffix = points.slice(n - k)
    if (suffix[k - 1]!.tMs - suffix[0]!.tMs < o.minSpanMs) continue
    let peak = Number.NEGATIVE_INFINITY
    for (let i = 0; i < n - k; i++) if (points[i]!.v > peak) peak = points[i]!.v
    if (!(suffix[k - 1]!.v > peak)) continue
    const p = predictLimit(suffix, limit, o.minAgreement, o.minSlopePerS)
    if (p !== undefined && (best === undefined || p.timeToLimitMs < best.timeToLimitMs)) best = p
  }
  return best
}

/** A bounded window of points, spaced at least `minSpacingMs` apart, spanning at most `windowMs`. */
export class TrendWindow {
  private readonly pts: Point[] = []
  constructor (readonly maxPoints: number, readonly windowMs: number, readonly minSpacingMs = 0) {}
  push (tMs: number, v: number): void {
    if (!Number.isFinite(v) || !Number.isFinite(tMs)) return
    const last = this.pts[this.pts.length - 1]
    if (last !== undefined && tMs < last.tMs) this.pts.length = 0 // clock stepped back: start over
    else if (last !== undefined && tMs - last.tMs < this.minSpacingMs) return
    this.pts.push({ tMs, v })
    while (this.pts.length > this.maxPoints || (this.pts.length > 0 && tMs - this.pts[0]!.tMs > this.windowMs)) this.pts.shift()
  }
  points (): readonly Point[] { return this.pts }
  spanMs (): number { return this.pts.length < 2 ? 0 : this.pts[this.pts.length - 1]!.tMs - this.pts[0]!.tMs }
  clear (): void { this.pts.length = 0 }
}
