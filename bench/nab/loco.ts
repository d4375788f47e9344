// Strict leave-one-category-out of the daemon's detection configuration.
// A candidate is a whole configuration: the detector's options *and* the
// alarm's (threshold, confirmation, re-arm). For each category C, the
// candidate with the best NAB standard score on the other categories is
// chosen, and C's alerts are taken from that candidate. The "assembled"
// corpus (every category from its own held-out choice) is scored as NAB
// would: that is `nabLocoStandard`, the figure to expect on unseen data of
// this kind. The candidate chosen on every category at once is the one the
// defaults should be (the same procedure, all the evidence).
import type { AlarmOptions, DetectorOptions } from '@homeostat/monitor'
import type { DataFile } from './corpus.ts'
import { NAB_PROFILES, calcSweepScore, scoreAtThreshold, scoreCorpus } from './scorer.ts'
import type { ScoredFile } from './scorer.ts'

export interface Candidate {
  detector: Partial<DetectorOptions>
  alarm: Partial<AlarmOptions>
}

/** The detector knobs that moved the score most (each with the detector's suppression off: the alarm keeps one alert per event). */
export const DETECTOR_GRID: Array<Partial<DetectorOptions>> = []
for (const windowSamples of [125, 250, 500]) {
  for (const seasonalBins of [0, 96]) {
    for (const rangeTolerance of [0.025, 0.05, 0.1]) DETECTOR_GRID.push({ windowSamples, seasonalBins, rangeTolerance, suppressSamples: 0 })
  }
}

/** The alarm: threshold × confirmation (k of n) × re-arm. */
export const ALARM_GRID: Array<Partial<AlarmOptions>> = []
for (const threshold of [0.4, 0.5, 0.6, 0.7, 0.8]) {
  for (const [confirmSamples, confirmWindow] of [[1, 1], [2, 3], [4, 5]]) {
    for (const rearmSamples of [1, 5, 30, 120]) ALARM_GRID.push({ threshold, confirmSamples, confirmWindow, rearmSamples })
  }
}

export interface LocoFold {
  category: string
  chosen: Candidate
  /** The held-out category's raw standard score under the chosen candidate… */
  heldOutRaw: number
  /** …and under the daemon's defaults. */
  defaultsRaw: number
}

export interface LocoResult {
  folds: LocoFold[]
  /** NAB standard score of the corpus assembled from every category's held-out choice. */
  assembledStandard: number
  /** The candidate chosen on all categories at once, and its (in-sample) score. */
  chosenOnAll: Candidate
  chosenOnAllStandard: number
  /**
   * Per parameter, the value most folds chose (ties: the value chosen on all categories): the rule
   * the defaults follow, steadier than one in-sample choice. Its score here is in-sample.
   */
  consensus: Candidate
  consensusStandard: number
  /** False-positive rows of the assembled (held-out) alerts per category, and the most in one file. */
  fpBursts: Record<string, { fpRows: number, maxFpRowsInOneFile: number }>
  candidates: number
}

/** Per parameter the most frequent value among the folds' choices; ties go to `tie` (pure). */
export function consensusOf (chosen: readonly Candidate[], tie: Candidate): Candidate {
  const pick = <T extends Record<string, unknown>>(part: (c: Candidate) => T): T => {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(part(tie))) {
      const counts = new Map<string, number>()
      for (const c of chosen) { const v = JSON.stringify(part(c)[key]); counts.set(v, (counts.get(v) ?? 0) + 1) }
      const top = Math.max(...counts.values())
      const leaders = [...counts].filter(([, n]) => n === top).map(([v]) => v)
      const tieValue = JSON.stringify(part(tie)[key])
      out[key] = JSON.parse(leaders.includes(tieValue) ? tieValue : leaders[0]!)
    }
    return out as T
  }
  return { detector: pick((c) => c.detector as Record<string, unknown>) as Candidate['detector'], alarm: pick((c) => c.alarm as Record<string, unknown>) as Candidate['alarm'] }
}

/**
 * `alerts(c)` runs candidate c over every file and returns 0/1 alerts per row
 * (the daemon's output); `defaults` is the daemon's own configuration's output.
 * Each candidate's per-file raw score is computed once (at threshold 0.5 on the
 * 0/1 alerts); a category's training score is the sum over the other files.
 */
export function leaveOneCategoryOut (
  files: readonly DataFile[],
  candidates: readonly Candidate[],
  alerts: (c: Candidate) => number[][],
  defaults: number[][],
  progress: (done: number, of: number) => void = () => {}
): LocoResult {
  const cost = NAB_PROFILES.standard.CostMatrix
  const categories = [...new Set(files.map((f) => f.category))]
  const perFile = (out: number[][]): number[] => files.map((f, k) =>
    scoreAtThreshold(calcSweepScore(f.timestampsMs, out[k], f.windows, f.name, cost), cost, 0.5).score)
  const raw: number[][] = []
  for (let i = 0; i < candidates.length; i++) {
    raw.push(perFile(alerts(candidates[i])))
    progress(i + 1, candidates.length)
  }
  // Alerts are recomputed for the few candidates chosen (keeping every candidate's would cost GBs).
  const cache = new Map<number, number[][]>()
  const outputOf = (i: number): number[][] => {
    let o = cache.get(i)
    if (o === undefined) { o = alerts(candidates[i]); cache.set(i, o) }
    return o
  }
  const defaultRaw = perFile(defaults)
  // A category's raw score normalised as NAB does a corpus: 0 = the null detector, 1 = perfect
  // (a category without windows: its false positives against one window's span of the scale).
  const windowsOf = new Map<string, number>()
  for (const f of files) windowsOf.set(f.category, (windowsOf.get(f.category) ?? 0) + f.windows.length)
  const span = (c: string): number => Math.max(1, windowsOf.get(c)!) * (cost.tpWeight + cost.fnWeight)
  const nullOf = (c: string): number => -windowsOf.get(c)! * cost.fnWeight
  const best = (keep: (c: string) => boolean): number => {
    let bestScore = -Infinity
    let bestI = 0
    const used = categories.filter(keep)
    for (let i = 0; i < candidates.length; i++) {
      const byCat = new Map<string, number>()
      for (let k = 0; k < files.length; k++) byCat.set(files[k].category, (byCat.get(files[k].category) ?? 0) + raw[i][k])
      let s = 0
      for (const c of used) s += (byCat.get(c)! - nullOf(c)) / span(c)
      if (s > bestScore) { bestScore = s; bestI = i } // strict: on ties the earlier candidate (the grid's order) wins
    }
    return bestI
  }
  const asScored = (k: number, out: number[]): ScoredFile => ({ name: files[k].name, timestampsMs: files[k].timestampsMs, windows: files[k].windows, anomalyScores: out })
  const folds: LocoFold[] = []
  const assembled: ScoredFile[] = new Array(files.length)
  for (const c of categories) {
    const i = best((x) => x !== c)
    let heldOutRaw = 0
    let defaultsRaw = 0
    for (let k = 0; k < files.length; k++) {
      if (files[k].category !== c) continue
      heldOutRaw += raw[i][k]
      defaultsRaw += defaultRaw[k]
      assembled[k] = asScored(k, outputOf(i)[k])
    }
    folds.push({ category: c, chosen: candidates[i], heldOutRaw, defaultsRaw })
  }
  const all = best(() => true)
  const consensus = consensusOf(folds.map((f) => f.chosen), candidates[all])
  const consensusOut = alerts(consensus)
  const assembledResult = scoreCorpus(assembled, 'standard', cost)
  const fpBursts: LocoResult['fpBursts'] = {}
  files.forEach((f, k) => {
    const b = fpBursts[f.category] ?? { fpRows: 0, maxFpRowsInOneFile: 0 }
    b.fpRows += assembledResult.files[k].fp
    b.maxFpRowsInOneFile = Math.max(b.maxFpRowsInOneFile, assembledResult.files[k].fp)
    fpBursts[f.category] = b
  })
  return {
    folds,
    assembledStandard: assembledResult.normalized,
    chosenOnAll: candidates[all],
    chosenOnAllStandard: scoreCorpus(files.map((_, k) => asScored(k, outputOf(all)[k])), 'standard', cost).normalized,
    consensus,
    consensusStandard: scoreCorpus(files.map((_, k) => asScored(k, consensusOut[k])), 'standard', cost).normalized,
    fpBursts,
    candidates: candidates.length
  }
}
