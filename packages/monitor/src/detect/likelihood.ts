// Anomaly likelihood, after Numenta's (Ahmad et al. 2017): a raw score is
// judged against its own history. The raw scores' short moving average is
// compared with a normal distribution fitted (exponentially forgetting) to the
// past moving averages; the tail probability becomes a likelihood, and the
// likelihood is put on a log scale so that the top of [0,1] has resolution:
// 0.5 ≈ a 1-in-10^5 event, 1.0 ≈ 1-in-10^10.

/** Upper tail probability of the standard normal (Abramowitz & Stegun 26.2.17). */
export function normalTail (z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z))
  const d = 0.3989423 * Math.exp(-z * z / 2)
  const p = d * t * (0.3193815 + t * (-0.3565638 + t * (1.781478 + t * (-1.821256 + t * 1.330274))))
  return z > 0 ? p : 1 - p
}

/** log(1 − likelihood) scaled so that likelihood 1 − 10^−10 maps to 1. */
export function logLikelihood (likelihood: number): number {
  const s = Math.log(1.0000000001 - likelihood) / Math.log(1 - 0.9999999999)
  return Math.min(1, Math.max(0, s))
}

export interface LikelihoodOptions {
  averagingWindow: number
  learningSamples: number
  forgetting: number
  minStd: number
}

export class AnomalyLikelihood {
  private readonly ring: Float64Array
  private ringSum = 0
  private seen = 0
  private sum = 0
  private sum2 = 0
  private weight = 0

  constructor (private readonly o: LikelihoodOptions) {
    this.ring = new Float64Array(o.averagingWindow)
  }

  get bytes (): number { return this.ring.byteLength + 6 * 8 }

  /** Feed one raw score in [0,1]; returns the log-likelihood score in [0,1]. */
  push (raw: number): number {
    if (!(raw >= 0)) raw = 0 // NaN or negative: never poison the running sums
    else if (raw > 1) raw = 1
    const w = this.o.averagingWindow
    const slot = this.seen % w
    this.ringSum += raw - this.ring[slot]
    this.ring[slot] = raw
    this.seen++
    const avg = this.ringSum / Math.min(this.seen, w)
    let score = 0
    if (this.weight > this.o.learningSamples) {
      const mu = this.sum / this.weight
      const sd = Math.sqrt(Math.max(0, this.sum2 / this.weight - mu * mu))
      score = logLikelihood(1 - normalTail((avg - mu) / Math.max(sd, this.o.minStd)))
    }
    const f = this.o.forgetting
    this.sum = this.sum * f + avg
    this.sum2 = this.sum2 * f + avg * avg
    this.weight = this.weight * f + 1
    return score
  }
}
