// Leave-one-category-out check of the detector's defaults. For each category
// C: among a small grid of generic configurations, choose the one with the
// best NAB standard score on the other categories (threshold optimised there
// too), then score C with that configuration at that threshold. The
// "assembled" corpus takes every category's scores from its own held-out
// choice and is scored as NAB would. If the defaults were overfitted to the
// corpus, the assembled score falls well below the defaults' score.
import type { DetectorOptions } from '@homeostat/monitor'
import type { DataFile } from './corpus.ts'
import { NAB_PROFILES, optimizeThreshold, scoreCorpus } from './scorer.ts'
import type { ScoredFile } from './scorer.ts'

/** 36 configurations around the defaults: the knobs that moved the score most. */
export const LOCO_GRID: Array<Partial<DetectorOptions>> = []
for (const windowSamples of [125, 250, 500]) {
  for (const suppressSamples of [0, 30]) {
    for (const seasonalBins of [0, 96]) {
      for (const rangeTolerance of [0.025, 0.05, 0.1]) LOCO_GRID.push({ windowSamples, suppressSamples, seasonalBins, rangeTolerance })
    }
  }
}

export interface LocoFold {
  category: string
  chosen: Partial<DetectorOptions>
  heldOutRaw: number
  defaultsRaw: number
}

export function leaveOneCategoryOut (
  files: readonly DataFile[],
  run: (opts: Partial<DetectorOptions>) => number[][],
  grid = LOCO_GRID
): { folds: LocoFold[], assembledStandard: number } {
  const cost = NAB_PROFILES.standard.CostMatrix
  const categories = [...new Set(files.map((f) => f.category))]
  const asScored = (scores: number[][]): ScoredFile[] => files.map((f, k) => ({
    name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: scores[k]
  }))
  const runs = grid.map((opts) => asScored(run(opts)))
  const defaults = asScored(run({}))
  const folds: LocoFold[] = []
  const assembled: ScoredFile[] = []
  for (const c of categories) {
    let best = -Infinity
    let bestK = 0
    for (let k = 0; k < runs.length; k++) {
      const train = runs[k].filter((f) => !f.name.startsWith(c + '/'))
      const s = optimizeThreshold(train, cost).score
      if (s > best) { best = s; bestK = k }
    }
    const train = runs[bestK].filter((f) => !f.name.startsWith(c + '/'))
    const threshold = optimizeThreshold(train, cost).threshold
    const test = runs[bestK].filter((f) => f.name.startsWith(c + '/'))
    const heldOutRaw = scoreCorpus(test, 'standard', cost, { threshold }).score
    const dTrain = defaults.filter((f) => !f.name.startsWith(c + '/'))
    const dThreshold = optimizeThreshold(dTrain, cost).threshold
    const defaultsRaw = scoreCorpus(defaults.filter((f) => f.name.startsWith(c + '/')), 'standard', cost, { threshold: dThreshold }).score
    folds.push({ category: c, chosen: grid[bestK], heldOutRaw, defaultsRaw })
    assembled.push(...test)
  }
  const order = new Map(files.map((f, i) => [f.name, i]))
  assembled.sort((a, b) => order.get(a.name)! - order.get(b.name)!)
  return { folds, assembledStandard: scoreCorpus(assembled, 'standard', cost).normalized }
}
