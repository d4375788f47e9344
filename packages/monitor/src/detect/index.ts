// Online anomaly detector for one metric: sees each value once, in order,
// never looks ahead, and returns a score in [0,1] per value.
//
// Pipeline per value x at time t:
//  1. three raw scores in [0,1], each a robust distance squashed by 1 − e^(−z/k):
//     - level:    |x − median| / MAD over the last `windowSamples` values;
//     - change:   the same for the first difference x − x_prev (jumps, drops);
//     - seasonal: |x − profile(time of day)| / typical deviation of that bin.
//  2. each raw score goes through its own anomaly likelihood (how unusual is
//     this raw score for this metric?), the maximum of the three is taken;
//  3. range novelty: a value beyond everything seen so far (by more than
//     `rangeTolerance` of the range) scores 1;
//  4. suppression keeps one alert per burst.
// Judged on the Numenta Anomaly Benchmark (bench/nab); see the README.
import { RollingRobust } from './robust.ts'
import { AnomalyLikelihood } from './likelihood.ts'
import { TimeOfDayProfile } from './seasonal.ts'
import { AlertSuppressor } from './suppress.ts'

export { RollingRobust } from './robust.ts'
export { AnomalyLikelihood, normalTail, logLikelihood } from './likelihood.ts'
export { TimeOfDayProfile, perSampleAlpha } from './seasonal.ts'
export { AlertSuppressor } from './suppress.ts'
export { SeriesAlarm, ALARM_DEFAULTS, AlarmConfigError, validateAlarmOptions, alarmSeries } from './alarm.ts'
export type { AlarmOptions, AlarmStep } from './alarm.ts'

export interface DetectorOptions {
  windowSamples: number
  minScaleFraction: number
  levelSoftness: number
  changeSoftness: number
  seasonalSoftness: number
  seasonalBins: number
  seasonalAlpha: number
  seasonalMinDays: number
  utcOffsetMs: number
  averagingWindow: number
  learningSamples: number
  likelihoodForgetting: number
  rangeTolerance: number
  rangeWarmupSamples: number
  suppressSamples: number
  alertLevel: number
}

/**
 * One configuration for every metric (chosen on the NAB corpus as a whole,
 * never per file; see packages/monitor/README.md for what was tuned).
 */
export const DETECTOR_DEFAULTS: Readonly<DetectorOptions> = Object.freeze({
  // Rolling window of the level and change statistics: 125 samples (~10 h at
  // 5 min, ~2 min at 1 Hz) follows slow drift without forgetting what
  // "normal" looked like a moment ago. The per-parameter consensus of the
  // leave-one-category-out folds (bench/nab --loco; 3 of 5 chose 125, 2 chose
  // 250); 125–500 score within 0.6 NAB points of each other.
  windowSamples: 125,
  // Floor of the robust scale, as a fraction of the range seen so far: a
  // metric that sits on one value (MAD 0) must not turn every tiny wiggle into
  // an infinite z-score.
  minScaleFraction: 0.01,
  // z at which the level score reaches 1 − 1/e; larger = gentler.
  levelSoftness: 4,
  // Same for the first difference.
  changeSoftness: 4,
  // Same for the time-of-day residual (seasonal deviations are noisier).
  seasonalSoftness: 8,
  // 96 bins = 15-minute slots of the day.
  seasonalBins: 96,
  // Weight of one day's samples in a slot's profile (mean age ~3.7 days), so
  // the profile follows weekday/weekend and slow growth. At 5-min sampling it
  // is 0.1 per sample.
  seasonalAlpha: 0.271,
  // A slot is trusted after this many days' worth of samples (0.5–2 score
  // the same on NAB; the channel's own likelihood still learns afterwards).
  seasonalMinDays: 1,
  // Added to timestamps before taking the time of day (local time zone of the workload).
  utcOffsetMs: 0,
  // Raw scores are averaged over this many samples before the likelihood
  // (Numenta uses 10): a single noisy sample is not an event, a run is.
  averagingWindow: 10,
  // No likelihood (score 0) until this many samples fitted its distribution.
  learningSamples: 300,
  // Per-sample forgetting of the likelihood's distribution (memory ~2000
  // samples), so a metric whose behaviour changed for good is re-learnt.
  likelihoodForgetting: 0.9995,
  // A value beyond the range seen so far by more than 5 % of that range is an
  // anomaly outright (as in Numenta's NAB detector); 10 % misses real ones
  // (−4.5 NAB points), 2.5 % costs false alarms.
  rangeTolerance: 0.05,
  // The range is not trusted before this many samples: a young series
  // reaches new extremes all the time (up to 200 changes nothing on NAB).
  rangeWarmupSamples: 100,
  // After an alert, scores not above it are zeroed for this many samples
  // (2.5 h at 5 min, 30 s at 1 Hz): one alert per event, not a burst.
  suppressSamples: 30,
  // Scores from this level on count as an alert for the suppression (0.15–0.6
  // make no difference on NAB: alerts are far above it).
  alertLevel: 0.3
})

export class DetectorConfigError extends Error {
  readonly code = 'ERR_DETECTOR_CONFIG'
  constructor (readonly field: string, message: string) {
    super(`detector option ${field}: ${message}`)
    this.name = 'DetectorConfigError'
  }
}

export interface DetectorStats {
  /** Values scored. */
  samples: number
  /** Values rejected (NaN, ±Infinity, non-number); they score 0 and leave the state untouched. */
  invalid: number
}

export interface Detector {
  /** Score the next value (its timestamp in ms); returns a score in [0,1]. */
  update: (value: number, tMs: number) => number
  /** Bytes of numeric state this detector holds (typed arrays + scalars). */
  stateBytes: () => number
  stats: () => DetectorStats
  readonly options: Readonly<DetectorOptions>
}

const RULES: Array<[keyof DetectorOptions, (v: number) => boolean, string]> = [
  ['windowSamples', (v) => Number.isInteger(v) && v >= 8 && v <= 100_000, 'an integer in [8, 100000]'],
  ['minScaleFraction', (v) => v >= 0 && v < 1, 'in [0, 1)'],
  ['levelSoftness', (v) => v > 0, '> 0'],
  ['changeSoftness', (v) => v > 0, '> 0'],
  ['seasonalSoftness', (v) => v > 0, '> 0'],
  ['seasonalBins', (v) => Number.isInteger(v) && v >= 0 && v <= 1440, 'an integer in [0, 1440] (0 disables)'],
  ['seasonalAlpha', (v) => v > 0 && v < 1, 'in (0, 1)'],
  ['seasonalMinDays', (v) => v > 0 && v <= 1000, 'in (0, 1000]'],
  ['utcOffsetMs', (v) => Math.abs(v) <= 86_400_000, 'within ±1 day'],
  ['averagingWindow', (v) => Number.isInteger(v) && v >= 1 && v <= 10_000, 'an integer in [1, 10000]'],
  ['learningSamples', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1'],
  ['likelihoodForgetting', (v) => v > 0 && v <= 1, 'in (0, 1]'],
  ['rangeTolerance', (v) => v >= 0, '≥ 0 (Infinity disables)'],
  ['rangeWarmupSamples', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0'],
  ['suppressSamples', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0 (0 disables)'],
  ['alertLevel', (v) => v >= 0 && v <= 1, 'in [0, 1]']
]

export function validateDetectorOptions (init: Partial<DetectorOptions> = {}): DetectorOptions {
  const o = { ...DETECTOR_DEFAULTS, ...init }
  for (const key of Object.keys(init)) {
    if (!(key in DETECTOR_DEFAULTS)) throw new DetectorConfigError(key, 'unknown option')
  }
  for (const [key, ok, want] of RULES) {
    const v = o[key]
    if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) throw new DetectorConfigError(key, `must be ${want}, got ${String(v)}`)
  }
  return o
}

/** Squash a non-negative distance into [0,1]; NaN (∞/∞ on absurd inputs) counts as 0. */
export function squash (z: number, softness: number): number {
  if (Number.isNaN(z)) return 0
  return 1 - Math.exp(-z / softness)
}

const MIN_WINDOW_FOR_STATS = 20

export function createDetector (init: Partial<DetectorOptions> = {}): Detector {
  const o = validateDetectorOptions(init)
  const level = new RollingRobust(o.windowSamples)
  const change = new RollingRobust(o.windowSamples)
  const profile = o.seasonalBins > 0
    ? new TimeOfDayProfile({ bins: o.seasonalBins, alphaPerDay: o.seasonalAlpha, minDays: o.seasonalMinDays, utcOffsetMs: o.utcOffsetMs })
    : null
  const lik = { averagingWindow: o.averagingWindow, learningSamples: o.learningSamples, forgetting: o.likelihoodForgetting, minStd: 1e-3 }
  const levelLik = new AnomalyLikelihood(lik)
  const changeLik = new AnomalyLikelihood(lik)
  const seasonalLik = profile != null ? new AnomalyLikelihood(lik) : null
  const suppressor = new AlertSuppressor({ holdSamples: o.suppressSamples, alertLevel: o.alertLevel })
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let prev = Number.NaN
  let samples = 0
  let invalid = 0

  function update (x: number, tMs: number): number {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      invalid++
      return 0
    }
    samples++
    const range = max > min ? max - min : 1
    const floor = Math.max(range * o.minScaleFraction, 1e-9)

    // A channel's likelihood only learns from samples where the channel is
    // active; otherwise its switching on would look like a burst of anomalies.
    let sLevel = 0
    let sChange = 0
    let sSeasonal = 0
    let med = 0
    let mad = 0
    if (level.size >= MIN_WINDOW_FOR_STATS) {
      med = level.median()
      mad = level.mad(med) * 1.4826
      sLevel = levelLik.push(squash(Math.abs(x - med) / Math.max(mad, floor), o.levelSoftness))
    }

    const d = Number.isNaN(prev) ? 0 : x - prev
    if (change.size >= MIN_WINDOW_FOR_STATS) {
      const dm = change.median()
      const dmad = change.mad(dm) * 1.4826
      sChange = changeLik.push(squash(Math.abs(d - dm) / Math.max(dmad, floor), o.changeSoftness))
    }

    let bin = -1
    if (profile != null && seasonalLik != null && Number.isFinite(tMs)) {
      profile.observeTime(tMs)
      bin = profile.bin(tMs)
      const e = profile.expected(bin)
      if (e != null) {
        const scale = Math.max(e.dev * 1.25, floor, mad * 0.5)
        sSeasonal = seasonalLik.push(squash(Math.abs(x - e.mean) / scale, o.seasonalSoftness))
      }
      profile.update(bin, x)
    }

    level.push(x)
    if (!Number.isNaN(prev)) change.push(d)
    prev = x

    let score = Math.max(sLevel, sChange, sSeasonal)

    if (max > min && samples > o.rangeWarmupSamples) {
      const tol = (max - min) * o.rangeTolerance
      if (x > max + tol || x < min - tol) score = 1
    }
    if (x < min) min = x
    if (x > max) max = x

    return suppressor.filter(score)
  }

  function stateBytes (): number {
    const scalars = 16 * 8
    return level.bytes + change.bytes + (profile?.bytes ?? 0) + levelLik.bytes + changeLik.bytes + (seasonalLik?.bytes ?? 0) + scalars
  }

  return {
    update,
    stateBytes,
    stats: () => ({ samples, invalid }),
    options: Object.freeze({ ...o })
  }
}
