// A TypeScript port of the Numenta Anomaly Benchmark scorer (numenta/NAB,
// nab/sweeper.py + nab/optimizer.py + nab/scorer.py + Runner.normalize, MIT).
//
// The rules, as NAB implements them:
// - Probationary period: the first min(floor(0.15 · n), 0.15 · 5000) rows of a
//   file are not scored at all (neither counted nor weighted).
// - Each labelled window [start, end] (timestamps of rows) scores only its
//   best detection. A detection at row i of a window whose last row is R and
//   which holds W rows is worth scaledSigmoid(−(R − i + 1)/W) · tpWeight /
//   scaledSigmoid(−1): 1·tpWeight at the first row, falling to ~0 at the end,
//   so the best detection is always the earliest. A window without a
//   detection costs −fnWeight.
// - A detection outside every window costs fpWeight · scaledSigmoid(d/(W'−1))
//   where d is the distance to the end of the previous window (W' its width);
//   that is slightly less than fpWeight just after a window, and −fpWeight
//   beyond 3 window widths or when no window precedes it.
// - A detection is a row whose anomaly score is ≥ the threshold. The threshold
//   is optimised per detector and profile over the whole corpus by sweeping all
//   distinct scores (highest first, starting at 1.1 = "detect nothing") and
//   keeping the best total (on ties the highest threshold).
// - Normalised score = 100 · (raw − null) / (perfect − null), where null is the
//   raw score of a detector that always outputs 0 (its best threshold is 1.1,
//   so every window is a miss) and perfect = number of windows · tpWeight.

export interface CostMatrix {
  tpWeight: number
  fpWeight: number
  fnWeight: number
  tnWeight: number
}

export interface Profiles {
  [name: string]: { CostMatrix: CostMatrix }
}

/** NAB's three application profiles (identical to profiles.json in NAB). */
export const NAB_PROFILES: Profiles = {
  standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
  reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
  reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } }
}

/** Fraction of every file that is probationary (NAB: 0.15). */
export const PROBATIONARY_PERCENT = 0.15

export class NabInputError extends Error {
  readonly code = 'ERR_NAB_INPUT'
  constructor (message: string) {
    super(message)
    this.name = 'NabInputError'
  }
}

export function sigmoid (x: number): number {
  return 1 / (1 + Math.exp(-x))
}

/** NAB's scaled sigmoid: +0.9866 at −1 (window start), 0 at the window end, −1 beyond 3. */
export function scaledSigmoid (relativePosition: number): number {
  if (relativePosition > 3.0) return -1.0
  return 2 * sigmoid(-5 * relativePosition) - 1.0
}

/** Rows of a file of `numRows` rows that are probationary (not scored). */
export function probationaryLength (numRows: number, probationPercent = PROBATIONARY_PERCENT): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000)
}

/**
 * Parse a NAB timestamp ("2014-04-10 07:15:00" or with ".000000") as UTC ms.
 * Sub-millisecond digits are dropped. Throws NabInputError on anything else.
 */
export function parseTimestamp (s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$/.exec(s.trim())
  if (m == null) throw new NabInputError(`bad timestamp "${s}"`)
  const ms = m[7] == null ? 0 : Number((m[7] + '00').slice(0, 3))
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms)
}

/** Sentinel window name of rows in the probationary period. */
export const PROBATIONARY = '\u0000probationary'

export interface AnomalyPoint {
  timestampMs: number
  anomalyScore: number
  /** Weighted score this row would earn if detected. */
  sweepScore: number
  /** Window id ("file|start") when inside a window, PROBATIONARY, or null. */
  windowName: string | null
}

/**
 * Per-row potential scores of one file (NAB Sweeper.calcSweepScore).
 * `windows` are [startMs, endMs] pairs in time order.
 */
export function calcSweepScore (
  timestampsMs: readonly number[],
  anomalyScores: readonly number[],
  windows: ReadonlyArray<readonly [number, number]>,
  dataSetName: string,
  cost: CostMatrix,
  probationPercent = PROBATIONARY_PERCENT
): AnomalyPoint[] {
  if (timestampsMs.length !== anomalyScores.length) {
    throw new NabInputError(`${dataSetName}: ${timestampsMs.length} timestamps but ${anomalyScores.length} scores`)
  }
  const pending = windows.slice()
  const out: AnomalyPoint[] = []
  const maxTP = scaledSigmoid(-1.0)
  const probation = probationaryLength(timestampsMs.length, probationPercent)

  let curLimits: readonly [number, number] | null = null
  let curName: string | null = null
  let curWidth = 0
  let curRight = 0
  let prevWidth: number | null = null
  let prevRight: number | null = null

  for (let i = 0; i < timestampsMs.length; i++) {
    const t = timestampsMs[i]
    // Entering a window (NAB compares for equality; the windows of a NAB
    // corpus start exactly on a row, `>=` also copes with ones that do not).
    if (curLimits == null && pending.length > 0 && t >= pending[0][0]) {
      curLimits = pending.shift()!
      curName = `${dataSetName}|${curLimits[0]}`
      // NAB: timestamps.index(windowEnd); here the last row at or before the end.
      let r = i
      while (r + 1 < timestampsMs.length && timestampsMs[r + 1] <= curLimits[1]) r++
      curRight = r
      curWidth = curRight - i + 1
    }
    let weighted: number
    if (curLimits != null) {
      const position = -(curRight - i + 1) / curWidth
      weighted = scaledSigmoid(position) * cost.tpWeight / maxTP
    } else {
      let unweighted: number
      if (prevRight == null || prevWidth == null) {
        unweighted = -1.0
      } else {
        unweighted = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1))
      }
      weighted = unweighted * cost.fpWeight
    }
    out.push({
      timestampMs: t,
      anomalyScore: anomalyScores[i],
      sweepScore: weighted,
      windowName: i >= probation ? curName : PROBATIONARY
    })
    if (curLimits != null && i >= curRight) {
      prevRight = i
      prevWidth = curWidth
      curLimits = null
      curName = null
    }
  }
  return out
}

export interface ThresholdScore {
  threshold: number
  score: number
  tp: number
  tn: number
  fp: number
  fn: number
  total: number
}

/**
 * Score at every distinct threshold (NAB Sweeper.calcScoreByThreshold).
 * Rows are returned from threshold 1.1 (nothing detected) downwards; the row
 * for threshold θ counts every point whose anomaly score is ≥ θ as detected.
 */
export function calcScoreByThreshold (points: readonly AnomalyPoint[], cost: CostMatrix): ThresholdScore[] {
  const scorable = points.filter((p) => p.windowName !== PROBATIONARY)
  const sorted = scorable.slice().sort((a, b) => b.anomalyScore - a.anomalyScore)
  let tn = 0
  let fn = 0
  const windowScore = new Map<string, number>()
  for (const p of scorable) {
    if (p.windowName == null) tn++
    else {
      fn++
      windowScore.set(p.windowName, -cost.fnWeight)
    }
  }
  let windowTotal = -cost.fnWeight * windowScore.size
  let tp = 0
  let fp = 0
  let fpScore = 0
  let curThreshold = 1.1
  const out: ThresholdScore[] = []
  for (const p of sorted) {
    if (p.anomalyScore !== curThreshold) {
      out.push({ threshold: curThreshold, score: fpScore + windowTotal, tp, tn, fp, fn, total: tp + tn + fp + fn })
      curThreshold = p.anomalyScore
    }
    if (p.windowName != null) {
      tp++
      fn--
      const old = windowScore.get(p.windowName)!
      if (p.sweepScore > old) {
        windowScore.set(p.windowName, p.sweepScore)
        windowTotal += p.sweepScore - old
      }
    } else {
      fp++
      tn--
      fpScore += p.sweepScore
    }
  }
  out.push({ threshold: curThreshold, score: fpScore + windowTotal, tp, tn, fp, fn, total: tp + tn + fp + fn })
  return out
}

/** Score of one file's points at a fixed threshold (NAB Sweeper.scoreDataSet). */
export function scoreAtThreshold (points: readonly AnomalyPoint[], cost: CostMatrix, threshold: number): ThresholdScore {
  let tp = 0; let tn = 0; let fp = 0; let fn = 0; let fpScore = 0
  const windowScore = new Map<string, number>()
  for (const p of points) {
    if (p.windowName === PROBATIONARY) continue
    const detected = p.anomalyScore >= threshold
    if (p.windowName == null) {
      if (detected) { fp++; fpScore += p.sweepScore } else tn++
    } else {
      const old = windowScore.get(p.windowName) ?? -cost.fnWeight
      if (detected) {
        tp++
        windowScore.set(p.windowName, Math.max(old, p.sweepScore))
      } else {
        fn++
        windowScore.set(p.windowName, old)
      }
    }
  }
  let score = fpScore
  for (const v of windowScore.values()) score += v
  return { threshold, score, tp, tn, fp, fn, total: tp + tn + fp + fn }
}

/** One file of a detector's results, ready to score. */
export interface ScoredFile {
  /** "category/file.csv", the key in combined_windows.json. */
  name: string
  timestampsMs: number[]
  anomalyScores: number[]
  windows: Array<[number, number]>
}

export interface OptimizedThreshold {
  threshold: number
  score: number
}

/** Best corpus-wide threshold for a profile (NAB optimizer.optimizeThreshold). */
export function optimizeThreshold (files: readonly ScoredFile[], cost: CostMatrix, probationPercent = PROBATIONARY_PERCENT): OptimizedThreshold {
  const all: AnomalyPoint[] = []
  for (const f of files) {
    for (const p of calcSweepScore(f.timestampsMs, f.anomalyScores, f.windows, f.name, cost, probationPercent)) all.push(p)
  }
  const rows = calcScoreByThreshold(all, cost)
  let best = rows[0]
  for (const r of rows) if (r.score > best.score) best = r // strict: first (highest threshold) wins ties
  return { threshold: best.threshold, score: best.score }
}

export interface FileResult extends ThresholdScore {
  name: string
}

export interface ProfileResult {
  profile: string
  threshold: number
  /** Sum of per-file scores at the threshold (NAB's "Totals" row). */
  score: number
  nullScore: number
  perfectScore: number
  /** 100 · (score − null) / (perfect − null). */
  normalized: number
  files: FileResult[]
}

export function normalizeScore (score: number, nullScore: number, perfectScore: number): number {
  return 100 * (score - nullScore) / (perfectScore - nullScore)
}

/**
 * Full NAB scoring of one detector under one profile: optimise the threshold
 * (or use the given one), score each file at it, normalise with the null and
 * perfect detectors.
 */
export function scoreCorpus (
  files: readonly ScoredFile[],
  profile: string,
  cost: CostMatrix,
  opts: { threshold?: number, probationPercent?: number } = {}
): ProfileResult {
  const probationPercent = opts.probationPercent ?? PROBATIONARY_PERCENT
  const threshold = opts.threshold ?? optimizeThreshold(files, cost, probationPercent).threshold
  const results: FileResult[] = []
  let total = 0
  for (const f of files) {
    const pts = calcSweepScore(f.timestampsMs, f.anomalyScores, f.windows, f.name, cost, probationPercent)
    const r = scoreAtThreshold(pts, cost, threshold)
    results.push({ name: f.name, ...r })
    total += r.score
  }
  // The null detector outputs 0 everywhere; NAB runs and optimises it like any other.
  const nullFiles = files.map((f) => ({ ...f, anomalyScores: f.anomalyScores.map(() => 0) }))
  const nullScore = optimizeThreshold(nullFiles, cost, probationPercent).score
  let windowCount = 0
  for (const f of files) windowCount += f.windows.length
  const perfectScore = windowCount * cost.tpWeight
  return {
    profile,
    threshold,
    score: total,
    nullScore,
    perfectScore,
    normalized: normalizeScore(total, nullScore, perfectScore),
    files: results
  }
}
