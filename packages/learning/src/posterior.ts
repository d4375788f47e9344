// Conjugate posteriors, as pure functions over plain (JSON-able) records:
// - Beta for a success probability,
// - Normal–Gamma for a scalar with unknown mean and variance (a cost
//   dimension, a time-to-recover).
// Local evidence is kept as weighted sufficient statistics separate from the
// prior, so priors can be replaced (fleet priors from the macro loop) without
// losing what this node observed, and evidence can decay (forgetting).
import type { Rng } from './prng.ts'

export interface BetaPrior { a: number, b: number }

/** Normal–Gamma prior: mean `mu` seen `kappa` times; precision ~ Gamma(alpha, rate beta). */
export interface NormalGammaPrior { mu: number, kappa: number, alpha: number, beta: number }

/** Weighted sufficient statistics of local observations of one scalar. */
export interface ScalarEvidence {
  /** Total (decayed) weight. */
  w: number
  /** Weighted mean. */
  mean: number
  /** Weighted sum of squared deviations from the mean. */
  m2: number
  /** Largest value ever observed (never decays: it backs the shield). */
  max: number
  /** Raw number of observations (never decays). */
  n: number
}

export const emptyEvidence = (): ScalarEvidence => ({ w: 0, mean: 0, m2: 0, max: 0, n: 0 })

/** Adds one observation `x` with weight 1 after multiplying old weight by `decay` (1 = no forgetting). */
export function observe (e: ScalarEvidence, x: number, decay = 1): ScalarEvidence {
  const w0 = e.w * decay
  const m20 = e.m2 * decay
  const w = w0 + 1
  const delta = x - e.mean
  const mean = e.mean + delta / w
  const m2 = m20 + delta * (x - mean)
  return { w, mean, m2, max: e.n === 0 ? x : Math.max(e.max, x), n: e.n + 1 }
}

/** Posterior Normal–Gamma from a prior and weighted evidence. */
export function normalGammaPosterior (p: NormalGammaPrior, e: ScalarEvidence): NormalGammaPrior {
  if (e.w <= 0) return { ...p }
  const kappa = p.kappa + e.w
  const mu = (p.kappa * p.mu + e.w * e.mean) / kappa
  const alpha = p.alpha + e.w / 2
  const beta = p.beta + e.m2 / 2 + (p.kappa * e.w * (e.mean - p.mu) ** 2) / (2 * kappa)
  return { mu, kappa, alpha, beta }
}

/** Variance of the posterior predictive (Student-t) of one new observation. */
export function predictiveVariance (p: NormalGammaPrior): number {
  const df = 2 * p.alpha
  const scale2 = (p.beta * (p.kappa + 1)) / (p.alpha * p.kappa)
  return df > 2 ? scale2 * df / (df - 2) : scale2 * 3
}

/**
 * One-sided upper quantile of the posterior predictive: a Student-t with 2α
 * degrees of freedom (Cornish–Fisher expansion of the t quantile from z).
 */
export function predictiveUpper (p: NormalGammaPrior, z: number): number {
  const df = Math.max(2 * p.alpha, 1)
  const t = z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)
  const scale = Math.sqrt((p.beta * (p.kappa + 1)) / (p.alpha * p.kappa))
  return p.mu + t * scale
}

/** Draws a mean from the Normal–Gamma posterior (Thompson sampling). */
export function sampleMean (p: NormalGammaPrior, rng: Rng): number {
  const tau = rng.gamma(p.alpha) / p.beta
  return p.mu + rng.normal() / Math.sqrt(p.kappa * Math.max(tau, 1e-12))
}

/** Normal–Gamma prior centred on `mean` with a guessed standard deviation `sd` worth `strength` observations. */
export function normalGammaFromGuess (mean: number, sd: number, strength = 1): NormalGammaPrior {
  // E[σ²] = beta/(alpha-1) = sd² with alpha = 1 + strength/2 (≥ 1.5 so the variance is finite).
  const alpha = 1 + Math.max(strength, 1) / 2
  return { mu: mean, kappa: Math.max(strength, 1e-3), alpha, beta: Math.max(sd * sd, 1e-9) * (alpha - 1) }
}

/** Scales a Normal–Gamma's evidence by `w` (0 < w ≤ 1): same centre, less certainty. */
export function weakenNormalGamma (p: NormalGammaPrior, w: number): NormalGammaPrior {
  const alpha = Math.max(1.5, p.alpha * w)
  const ratio = p.beta / p.alpha
  return { mu: p.mu, kappa: Math.max(p.kappa * w, 1e-3), alpha, beta: ratio * alpha }
}

/** Beta posterior from a prior and (decayed) success / failure weights. */
export function betaPosterior (p: BetaPrior, successes: number, failures: number): BetaPrior {
  return { a: p.a + successes, b: p.b + failures }
}

export const betaMean = (p: BetaPrior): number => p.a / (p.a + p.b)

export function betaVariance (p: BetaPrior): number {
  const s = p.a + p.b
  return (p.a * p.b) / (s * s * (s + 1))
}

/** Scales a Beta's pseudo-counts by `w`, keeping its mean; never below 0.5 each. */
export function weakenBeta (p: BetaPrior, w: number): BetaPrior {
  const m = betaMean(p)
  const s = Math.max((p.a + p.b) * w, 1)
  return { a: Math.max(m * s, 0.05), b: Math.max((1 - m) * s, 0.05) }
}
