// Time-of-day profile: per bin of the (UTC + offset) day, an exponentially
// weighted mean and mean absolute deviation of the values seen in that bin on
// earlier days. Operational metrics follow the clock (traffic, batch jobs,
// backups); a value that is normal at 03:00 may be an anomaly at 15:00.

export interface SeasonalOptions {
  bins: number
  alpha: number
  minDays: number
  utcOffsetMs: number
}

const DAY_MS = 86_400_000

export class TimeOfDayProfile {
  private readonly mean: Float64Array
  private readonly dev: Float64Array
  private readonly count: Uint16Array
  private readonly binMs: number

  constructor (private readonly o: SeasonalOptions) {
    this.mean = new Float64Array(o.bins)
    this.dev = new Float64Array(o.bins)
    this.count = new Uint16Array(o.bins)
    this.binMs = DAY_MS / o.bins
  }

  get bytes (): number { return this.mean.byteLength + this.dev.byteLength + this.count.byteLength }

  bin (tMs: number): number {
    const t = ((tMs + this.o.utcOffsetMs) % DAY_MS + DAY_MS) % DAY_MS
    return Math.min(this.o.bins - 1, Math.floor(t / this.binMs))
  }

  /** Expected value and typical deviation for this bin, or null while it is still learning. */
  expected (bin: number): { mean: number, dev: number } | null {
    if (this.count[bin] < this.o.minDays) return null
    return { mean: this.mean[bin], dev: this.dev[bin] }
  }

  update (bin: number, x: number): void {
    const c = this.count[bin]
    if (c === 0) {
      this.mean[bin] = x
      this.dev[bin] = 0
    } else {
      const a = Math.max(this.o.alpha, 1 / (c + 1))
      this.dev[bin] += a * (Math.abs(x - this.mean[bin]) - this.dev[bin])
      this.mean[bin] += a * (x - this.mean[bin])
    }
    if (c < 0xffff) this.count[bin] = c + 1
  }
}
