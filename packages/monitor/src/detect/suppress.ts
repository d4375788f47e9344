// Alert suppression: one anomaly tends to produce a burst of high scores, and
// an operator (and NAB) wants one alert per event, as early as possible. After
// a score of at least `alertLevel`, later scores that are not higher than it
// are zeroed for `holdSamples` samples; a higher score passes (the event got
// worse) and restarts the hold.

export interface SuppressOptions {
  holdSamples: number
  alertLevel: number
}

export class AlertSuppressor {
  private sinceAlert = Number.POSITIVE_INFINITY
  private lastAlert = 0

  constructor (private readonly o: SuppressOptions) {}

  filter (score: number): number {
    this.sinceAlert++
    if (this.o.holdSamples <= 0) return score
    if (this.sinceAlert < this.o.holdSamples && score <= this.lastAlert) return 0
    if (score >= this.o.alertLevel) {
      this.sinceAlert = 0
      this.lastAlert = score
    }
    return score
  }
}
