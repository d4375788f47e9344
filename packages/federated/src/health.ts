// Training health: semantic telemetry for the micro loop. Each round's loss
// and update norm are checked for NaN/Inf, divergence, exploding updates and a
// stalled run; an adaptive learning-rate controller backs off on trouble and
// creeps back up while training is healthy.
import type { Tunable } from './tunable.ts'


export const TRAINING_HEALTH_DEFAULTS = {
  /** Loss after a round above this multiple of the loss it started from (or, without one, of the best recent loss) is divergence: SGD noise stays well under 2×. */
  divergenceFactor: 2.5,
  /** An update norm above this multiple of the median of recent norms is exploding. */
  explodingNormFactor: 8,
  /** Rounds of history for the medians. */
  windowRounds: 8,
  /** No relative loss improvement of at least `stallMinImprovement` for this many rounds is a stall. */
  stallRounds: 12,
  stallMinImprovement: 0.002
} as const

export type TrainingSignal = 'non_finite' | 'divergence' | 'exploding_update' | 'stalled'

export interface RoundObservation {
  round: number
  /** Loss after the round's training. */
  loss: number
  /** Loss of the model the round started from, on the same data; when given, divergence is judged against it. */
  baseLoss?: number
  updateNorm: number
}

export interface TrainingHealth {
  /** Returns the signals this round raises; an unhealthy round is not added to the history. */
  observe: (o: RoundObservation) => TrainingSignal[]
  /** True while the last observed round was healthy. */
  healthy: () => boolean
  reset: () => void
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function createTrainingHealth (options: Tunable<typeof TRAINING_HEALTH_DEFAULTS> = {}): TrainingHealth {
  const o = { ...TRAINING_HEALTH_DEFAULTS, ...options }
  let losses: number[] = []
  let norms: number[] = []
  let best = Infinity
  let lastImprovementRound = -1
  let ok = true
  return {
    observe ({ round, loss, baseLoss, updateNorm }) {
      const signals: TrainingSignal[] = []
      if (!Number.isFinite(loss) || !Number.isFinite(updateNorm)) signals.push('non_finite')
      else {
        const reference = baseLoss !== undefined && Number.isFinite(baseLoss) ? baseLoss : (losses.length >= 2 ? Math.min(...losses.slice(-o.windowRounds)) : Infinity)
        if (loss > o.divergenceFactor * reference) signals.push('divergence')
        if (norms.length >= 3 && updateNorm > o.explodingNormFactor * median(norms.slice(-o.windowRounds))) signals.push('exploding_update')
      }
      ok = signals.length === 0
      if (!ok) return signals
      losses.push(loss)
      norms.push(updateNorm)
      if (losses.length > o.windowRounds * 4) { losses = losses.slice(-o.windowRounds * 2); norms = norms.slice(-o.windowRounds * 2) }
      if (lastImprovementRound < 0 || loss < best * (1 - o.stallMinImprovement)) { best = Math.min(best, loss); lastImprovementRound = round }
      if (round - lastImprovementRound >= o.stallRounds) signals.push('stalled')
      return signals
    },
    healthy: () => ok,
    reset () { losses = []; norms = []; best = Infinity; lastImprovementRound = -1; ok = true }
  }
}

export const LR_CONTROLLER_DEFAULTS = {
  /** Halve on trouble: the classic back-off that stops divergence without stalling. */
  backoffFactor: 0.5,
  /** Recover 10 % per healthy round towards the configured rate. */
  recoverFactor: 1.1,
  /** Never below 1/64 of the configured rate: training must continue. */
  minFraction: 1 / 64
} as const

export interface LrController {
  current: () => number
  /** Trouble: back off. Returns the new rate. */
  backoff: () => number
  /** A healthy round: move back towards the configured rate. */
  healthy: () => number
}

export function createLrController (initial: number, options: Tunable<typeof LR_CONTROLLER_DEFAULTS> = {}): LrController {
  const o = { ...LR_CONTROLLER_DEFAULTS, ...options }
  let lr = initial
  return {
    current: () => lr,
    backoff: () => { lr = Math.max(initial * o.minFraction, lr * o.backoffFactor); return lr },
    healthy: () => { lr = Math.min(initial, lr * o.recoverFactor); return lr }
  }
}
