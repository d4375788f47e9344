// Time-of-day profile: per bin of the (UTC + offset) day, an exponentially
// weighted mean and mean absolute deviation of the values seen in that bin on
// earlier days. Operational metrics follow the clock (traffic, batch jobs,
// backups); a value that is normal at 03:00 may be an anomaly at 15:00.
//
// Memory is expressed in days, whatever the sampling rate: with s samples
// landing in a bin per day (s = bin width / sampling interval, at least 1),
// each sample gets weight 1 − (1 − alphaPerDay)^(1/s), so that one day's
// worth of samples weighs alphaPerDay; a bin is trusted after minDays · s
// samples. The sampling interval is estimated online from the timestamps.

export interface SeasonalOptions {
  bins: number
  /** Weight of one day's samples in a bin's mean and deviation. */
  alphaPerDay: number
  minDays: number
  utcOffsetMs: number
}

const DAY_MS = 86_400_000

/** Per-sample EWMA weight giving `alphaPerDay` per day when `samplesPerDay` samples fall in a bin each day. */
export function perSampleAlpha (alphaPerDay: number, samplesPerDay: number): number {
  return 1 - Math.pow(1 - alphaPerDay, 1 / Math.max(1, samplesPerDay))
}

export class TimeOfDayProfile {
  private readonly mean: Float64Array
  private readonly dev: Float64Array
  private readonly count: Uint32Array
  private readonly binMs: number
  private lastTMs = Number.NaN
  private intervalMs = Number.NaN
  private perBin = 1
  private alpha: number

  constructor (private readonly o: SeasonalOptions) {
    this.mean = new Float64Array(o.bins)
    this.dev = new Float64Array(o.bins)
    this.count = new Uint32Array(o.bins)
    this.binMs = DAY_MS / o.bins
    this.alpha = o.alphaPerDay
  }

  get bytes (): number { return this.mean.byteLength + this.dev.byteLength + this.count.byteLength + 5 * 8 }

  bin (tMs: number): number {
    const t = ((tMs + this.o.utcOffsetMs) % DAY_MS + DAY_MS) % DAY_MS
    return Math.min(this.o.bins - 1, Math.floor(t / this.binMs))
  }

  /** Samples per bin per day implied by the sampling interval seen so far (≥ 1). */
  samplesPerBin (): number { return this.perBin }

  /** Learn the sampling interval from successive timestamps (EWMA of positive gaps). */
  observeTime (tMs: number): void {
    const dt = tMs - this.lastTMs
    if (dt > 0) {
      this.intervalMs = Number.isNaN(this.intervalMs) ? dt : this.intervalMs + 0.05 * (dt - this.intervalMs)
      this.perBin = Math.max(1, this.binMs / this.intervalMs)
      this.alpha = perSampleAlpha(this.o.alphaPerDay, this.perBin)
    }
    if (!(tMs <= this.lastTMs)) this.lastTMs = tMs
  }

  /** Expected value and typical deviation for this bin, or null while it is still learning. */
  expected (bin: number): { mean: number, dev: number } | null {
    if (this.count[bin] < this.o.minDays * this.perBin) return null
    return { mean: this.mean[bin], dev: this.dev[bin] }
  }

  update (bin: number, x: number): void {
    const c = this.count[bin]
    if (c === 0) {
      this.mean[bin] = x
      this.dev[bin] = 0
    } else {
      const a = Math.max(this.alpha, 1 / (c + 1))
      this.dev[bin] += a * (Math.abs(x - this.mean[bin]) - this.dev[bin])
      this.mean[bin] += a * (x - this.mean[bin])
    }
    if (c < 0xffffffff) this.count[bin] = c + 1
  }
}
