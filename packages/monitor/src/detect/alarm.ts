// From a detector's scores to alerts: the one stage the daemon's watch runs
// and bench/nab scores, so that the figure measured is the figure shipped.
//
// Per series, after `warmupSamples` scored values:
//  - confirmation: the score reached `threshold` in at least `confirmSamples`
//    of the last `confirmWindow` values, the newest included (a lone spike is
//    host noise; a fault persists);
//  - one alert per event: the first confirmed value alerts; the event lasts
//    while values keep confirming and ends once `rearmSamples` values in a row
//    did not; only then may the series alert again. The hold is the event's
//    own length, not a fixed count, so a long anomaly (a level shift, a slow
//    drift into a new range) alerts once, not once per hold period.
// Pure and injectable: no clock, no timers; the caller supplies scores.

export interface AlarmOptions {
  /** Score from which a value counts towards confirmation. */
  threshold: number
  /** Values of the window that must reach the threshold. */
  confirmSamples: number
  /** Values the confirmation looks back over (≤ 30). */
  confirmWindow: number
  /** Scored values ignored at the start of a series. */
  warmupSamples: number
  /** Unconfirmed values in a row that end an event (re-arm the series). */
  rearmSamples: number
}

/**
 * Chosen by the strict leave-one-category-out procedure of bench/nab (`--loco`): for each NAB
 * category the whole configuration (these values and the detector's windowSamples, seasonalBins,
 * rangeTolerance) is chosen on the other four; the defaults are, per parameter, the value most of
 * the five folds chose. Held-out figure and in-sample figure: packages/monitor/README.md.
 */
export const ALARM_DEFAULTS: Readonly<AlarmOptions> = Object.freeze({
  // The detector's likelihood puts 0.5 at a 1-in-10^5 event (1.0 at 1-in-10^10). Four folds of
  // five chose 0.5 (one 0.8); 0.4 lets normal noise through (alerts on the anomaly-free series).
  threshold: 0.5,
  // No confirmation beyond the detector's own (its likelihood already averages 10 raw scores):
  // every fold chose 1 of 1. Confirming 2 of 3 misses short real anomalies (hourly series lose
  // nearly all of theirs). A lone metric anomaly is observation-only in the daemon: it never acts.
  confirmSamples: 1,
  confirmWindow: 1,
  // A young series reaches new extremes all the time: 5 min at 1 Hz (inside NAB's probation).
  warmupSamples: 300,
  // An event ends after 5 quiet values (three folds of five; others 1 and 120): a flickering
  // anomaly is one event, a new one after a pause alerts again.
  rearmSamples: 5
})

export class AlarmConfigError extends Error {
  readonly code = 'ERR_ALARM_CONFIG'
  constructor (readonly field: string, message: string) {
    super(`alarm option ${field}: ${message}`)
    this.name = 'AlarmConfigError'
  }
}

export function validateAlarmOptions (init: Partial<AlarmOptions> = {}): AlarmOptions {
  const o = { ...ALARM_DEFAULTS, ...init }
  for (const key of Object.keys(init)) {
    if (!(key in ALARM_DEFAULTS)) throw new AlarmConfigError(key, 'unknown option')
  }
  const int = (k: keyof AlarmOptions, lo: number, hi: number): void => {
    const v = o[k]
    if (!Number.isInteger(v) || v < lo || v > hi) throw new AlarmConfigError(k, `must be a whole number from ${lo} to ${hi}, got ${String(v)}`)
  }
  if (!(typeof o.threshold === 'number' && o.threshold > 0 && o.threshold <= 1)) throw new AlarmConfigError('threshold', `must be in (0, 1], got ${String(o.threshold)}`)
  int('confirmWindow', 1, 30)
  int('confirmSamples', 1, o.confirmWindow)
  int('warmupSamples', 0, 10_000_000)
  int('rearmSamples', 1, 10_000_000)
  return o
}

export interface AlarmStep {
  /** This value starts an event: report it. */
  alert: boolean
  /** This value is confirmed (an event is under way). */
  confirmed: boolean
  /** When confirmed: how many values ago the first value of the window that reached the threshold was (its onset). */
  onsetAgo: number
}

function popcount (x: number): number {
  let n = 0
  for (let v = x; v !== 0; v &= v - 1) n++
  return n
}

export class SeriesAlarm {
  readonly options: Readonly<AlarmOptions>
  private hits = 0
  private readonly mask: number
  private seen = 0
  private inEvent = false
  private quiet = 0

  constructor (init: Partial<AlarmOptions> = {}) {
    this.options = Object.freeze(validateAlarmOptions(init))
    this.mask = (1 << this.options.confirmWindow) - 1
  }

  push (score: number): AlarmStep {
    const o = this.options
    this.seen++
    if (this.seen <= o.warmupSamples) return { alert: false, confirmed: false, onsetAgo: 0 }
    this.hits = ((this.hits << 1) | (score >= o.threshold ? 1 : 0)) & this.mask
    const confirmed = (this.hits & 1) === 1 && popcount(this.hits) >= o.confirmSamples
    let alert = false
    if (confirmed) {
      this.quiet = 0
      if (!this.inEvent) { this.inEvent = true; alert = true }
    } else if (this.inEvent && ++this.quiet >= o.rearmSamples) {
      this.inEvent = false
      this.quiet = 0
    }
    return { alert, confirmed, onsetAgo: confirmed ? 31 - Math.clz32(this.hits) : 0 }
  }
}

/** A whole series through one alarm: 1 where it alerts, 0 elsewhere (bench/nab writes this as the anomaly score). */
export function alarmSeries (scores: ArrayLike<number>, init: Partial<AlarmOptions> = {}): number[] {
  const a = new SeriesAlarm(init)
  const out = new Array<number>(scores.length)
  for (let i = 0; i < scores.length; i++) out[i] = a.push(scores[i]).alert ? 1 : 0
  return out
}
