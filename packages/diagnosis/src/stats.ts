// Small, dependency-free statistics used by graph learning and ranking.
// Every function is pure; missing values are `null` or non-finite numbers and
// are skipped where noted.

/** Finite numbers of `xs` (drops null / NaN / ±Infinity). */
export function finiteValues (xs: ReadonlyArray<number | null | undefined>): number[] {
  const out: number[] = []
  for (const x of xs) if (typeof x === 'number' && Number.isFinite(x)) out.push(x)
  return out
}

export function mean (xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Median absolute deviation scaled to estimate σ of a normal distribution (×1.4826). */
export function robustSigma (xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const m = median(xs)
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)))
}

export function stdev (xs: readonly number[]): number {
  if (xs.length < 2) return 0
  const m = mean(xs)
  let s = 0
  for (const x of xs) s += (x - m) * (x - m)
  return Math.sqrt(s / (xs.length - 1))
}

/** Pearson correlation over the index pairs where both are finite; NaN with < 3 pairs or zero variance. */
export function pearson (x: ReadonlyArray<number | null>, y: ReadonlyArray<number | null>): number {
  const n = Math.min(x.length, y.length)
  let sx = 0; let sy = 0; let k = 0
  for (let i = 0; i < n; i++) {
    const a = x[i]; const b = y[i]
    if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b)) continue
    sx += a; sy += b; k++
  }
  if (k < 3) return Number.NaN
  const mx = sx / k; const my = sy / k
  let sxx = 0; let syy = 0; let sxy = 0
  for (let i = 0; i < n; i++) {
    const a = x[i]; const b = y[i]
    if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b)) continue
    sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my); sxy += (a - mx) * (b - my)
  }
  if (sxx <= 0 || syy <= 0) return Number.NaN
  return sxy / Math.sqrt(sxx * syy)
}

/** Number of index pairs where both series are finite. */
export function pairedCount (x: ReadonlyArray<number | null>, y: ReadonlyArray<number | null>): number {
  const n = Math.min(x.length, y.length)
  let k = 0
  for (let i = 0; i < n; i++) {
    const a = x[i]; const b = y[i]
    if (a != null && b != null && Number.isFinite(a) && Number.isFinite(b)) k++
  }
  return k
}

export interface LaggedCorrelation {
  /** Lag in rows at which |r| is largest: x[t] pairs with y[t + lag]. Positive lag: x leads y. */
  lag: number
  r: number
  /** Paired rows used at that lag. */
  n: number
}

/** Pearson correlation of x[i] with y[i + lag] (no copies); r = NaN with < 3 pairs. */
export function pearsonAtLag (x: ReadonlyArray<number | null>, y: ReadonlyArray<number | null>, lag: number): { r: number, n: number } {
  const start = Math.max(0, -lag)
  const end = Math.min(x.length, y.length - lag)
  let sx = 0; let sy = 0; let sxx = 0; let syy = 0; let sxy = 0; let k = 0
  for (let i = start; i < end; i++) {
    const a = x[i]; const b = y[i + lag]
    if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b)) continue
    sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b; k++
  }
  if (k < 3) return { r: Number.NaN, n: k }
  const vx = sxx - sx * sx / k; const vy = syy - sy * sy / k
  // Relative guard: one-pass variances of near-constant series are rounding noise.
  if (vx <= 1e-12 * Math.max(1, sxx) || vy <= 1e-12 * Math.max(1, syy)) return { r: Number.NaN, n: k }
  const r = (sxy - sx * sy / k) / Math.sqrt(vx * vy)
  return { r: Math.max(-1, Math.min(1, r)), n: k }
}

/** Cross-correlation of x and y for lags −maxLag…maxLag; the lag with the largest |r|. */
export function laggedCorrelation (x: ReadonlyArray<number | null>, y: ReadonlyArray<number | null>, maxLag: number): LaggedCorrelation {
  let best: LaggedCorrelation = { lag: 0, r: Number.NaN, n: 0 }
  // Lag 0 first, then ±1, ±2…: on ties the smaller |lag| wins, so simultaneous coupling reads as lag 0.
  for (let k = 0; k <= 2 * maxLag; k++) {
    const lag = k === 0 ? 0 : (k % 2 === 1 ? (k + 1) / 2 : -k / 2)
    const { r, n } = pearsonAtLag(x, y, lag)
    if (Number.isNaN(r)) continue
    if (Number.isNaN(best.r) || Math.abs(r) > Math.abs(best.r) + 1e-12) best = { lag, r, n }
  }
  return best
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7). */
export function normalCdf (z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2)
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2)
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y)
}

/**
 * Two-sided p-value that a (partial) correlation r over n rows with k
 * conditioning variables is zero (Fisher z test, as in the PC algorithm).
 */
export function fisherZPValue (r: number, n: number, k = 0): number {
  if (!Number.isFinite(r) || n - k - 3 <= 0) return 1
  const rc = Math.max(-0.999999, Math.min(0.999999, r))
  const z = 0.5 * Math.log((1 + rc) / (1 - rc)) * Math.sqrt(n - k - 3)
  return 2 * (1 - normalCdf(Math.abs(z)))
}

/** First-order partial correlation r_xy·z from the three pairwise correlations. */
export function partialCorrelation (rxy: number, rxz: number, ryz: number): number {
  const d = Math.sqrt(Math.max(0, (1 - rxz * rxz) * (1 - ryz * ryz)))
  if (d < 1e-12) return 0
  return (rxy - rxz * ryz) / d
}

export interface LinearFit {
  intercept: number
  coefficients: number[]
  /** Standard deviation of the in-sample residuals. */
  residualSigma: number
  n: number
}

/**
 * Ridge regression y ~ X (columns standardised internally, λ on the
 * standardised scale, intercept unpenalised). Rows with any non-finite value
 * are dropped. Returns null when fewer than `cols + 3` complete rows remain.
 */
export function ridgeFit (columns: ReadonlyArray<ReadonlyArray<number | null>>, y: ReadonlyArray<number | null>, lambda: number): LinearFit | null {
  const p = columns.length
  const rows: number[] = []
  for (let i = 0; i < y.length; i++) {
    const v = y[i]
    if (v == null || !Number.isFinite(v)) continue
    let ok = true
    for (const c of columns) { const x = c[i]; if (x == null || !Number.isFinite(x)) { ok = false; break } }
    if (ok) rows.push(i)
  }
  const n = rows.length
  if (n < p + 3) return null
  const ys = rows.map((i) => y[i] as number)
  const my = mean(ys)
  const mx: number[] = []; const sx: number[] = []
  const X: number[][] = rows.map(() => new Array<number>(p).fill(0))
  for (let j = 0; j < p; j++) {
    const col = rows.map((i) => columns[j][i] as number)
    const m = mean(col); const s = stdev(col) || 1
    mx.push(m); sx.push(s)
    for (let r = 0; r < n; r++) X[r][j] = (col[r] - m) / s
  }
  // Normal equations (XᵀX + λn I) b = Xᵀ(y − ȳ).
  const A: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0))
  const b: number[] = new Array<number>(p).fill(0)
  for (let r = 0; r < n; r++) {
    const yr = ys[r] - my
    for (let j = 0; j < p; j++) {
      b[j] += X[r][j] * yr
      for (let k = j; k < p; k++) A[j][k] += X[r][j] * X[r][k]
    }
  }
  for (let j = 0; j < p; j++) { for (let k = 0; k < j; k++) A[j][k] = A[k][j]; A[j][j] += lambda * n }
  const beta = solve(A, b)
  if (beta == null) return null
  const coefficients = beta.map((v, j) => v / sx[j])
  let intercept = my
  for (let j = 0; j < p; j++) intercept -= coefficients[j] * mx[j]
  const residuals: number[] = []
  for (let r = 0; r < n; r++) {
    let pred = intercept
    for (let j = 0; j < p; j++) pred += coefficients[j] * (columns[j][rows[r]] as number)
    residuals.push(ys[r] - pred)
  }
  return { intercept, coefficients, residualSigma: stdev(residuals), n }
}

/** Solves A x = b by Gaussian elimination with partial pivoting; null if singular. */
export function solve (A: readonly number[][], b: readonly number[]): number[] | null {
  const n = b.length
  const M = A.map((row, i) => [...row, b[i]])
  for (let c = 0; c < n; c++) {
    let piv = c
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r
    if (Math.abs(M[piv][c]) < 1e-12) return null
    if (piv !== c) { const t = M[c]; M[c] = M[piv]; M[piv] = t }
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c]
      if (f === 0) continue
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k]
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n]
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k]
    x[r] = s / M[r][r]
  }
  return x
}

/** Logistic squashing of a z-score: ½ at `center`, slope `1/width`. */
export function squash (z: number, center: number, width: number): number {
  if (!Number.isFinite(z)) return z > 0 ? 1 : 0
  return 1 / (1 + Math.exp(-(z - center) / width))
}

export function clamp01 (x: number): number {
  if (!Number.isFinite(x)) return 0
  return x < 0 ? 0 : x > 1 ? 1 : x
}

/** mulberry32, shared with every package (@homeostat/interface): reproducible tests and synthetic data. */
export { seededRandom } from '@homeostat/interface'

/** Standard normal deviate from a uniform source (Box–Muller). */
export function gaussian (rand: () => number): number {
  let u = 0
  while (u === 0) u = rand()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}
