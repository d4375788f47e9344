// The learned f of the adaptive budget β(t) = f(Γ_t, H_t) · C_available(t).
// f is a logistic model of the budget *fraction* recoveries need in a state,
// squashed into hard bounds [minFraction, maxFraction]:
//   f(Γ,H) = min + (max − min) · σ(θ · φ(Γ,H))
// φ = [1, health deficit, normalised failure rate, recovery success rate,
//      normalised escalation rate]. θ is fitted online by quantile
// regression (pinball loss at `quantile`, through the logistic link): the
// planner reports, at each decision and outcome, the fraction that would have
// been needed to take the reward-best action, so f learns the high quantile
// of what recovery needs in a state — up quickly when the budget blocked the
// best action, down slowly when it was more than enough. Whatever θ learns,
// f stays inside the hard bounds.
import type { HistoryFeatures } from './history.ts'
import { LearningError } from './errors.ts'

export interface AdaptiveBudgetOptions {
  minFraction?: number
  maxFraction?: number
  initialFraction?: number
  learningRate?: number
  /** Cap on |θ_i| so a run of extreme feedback cannot saturate the model for good. */
  maxWeight?: number
  /** Quantile of the needed fraction f tracks (0.5 = median). */
  quantile?: number
}

export const ADAPTIVE_BUDGET_DEFAULTS = {
  /** Never starve recovery entirely: 5 % of capacity still pays for a few restarts. */
  minFraction: 0.05,
  /** Never let learning spend more than 30 % (twice the mission-critical 15 %). */
  maxFraction: 0.3,
  /** Start where the static mode sits. */
  initialFraction: 0.15,
  /** Small steps: one outcome should move f by at most a few percent of its range. */
  learningRate: 0.05,
  maxWeight: 8,
  /** The budget should cover 97 % of the states' needs: the rare expensive fix (a rollback) matters most. */
  quantile: 0.97
} as const

export const ADAPTIVE_FEATURE_NAMES = ['bias', 'healthDeficit', 'failureRate', 'recoverySuccess', 'escalationRate'] as const

/** φ(Γ, H): every component in [0, 1]. `health` is H_t summarised as availability in [0, 1]. */
export function adaptiveFeatures (gamma: HistoryFeatures, health: number): number[] {
  const h = Math.min(1, Math.max(0, Number.isFinite(health) ? health : 1))
  const r = Math.max(0, gamma.failureRatePerHour)
  const e = Math.max(0, gamma.escalationRatePerHour)
  return [1, 1 - h, r / (r + 6), gamma.recoverySuccessRate, e / (e + 1)]
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))
const logit = (p: number): number => Math.log(p / (1 - p))

export interface AdaptiveBudget {
  /** f(Γ, H) as a fraction of C_available, always within [minFraction, maxFraction]. */
  fraction: (gamma: HistoryFeatures, health: number) => number
  /** One learning step toward `neededFraction` (clamped into the bounds) in the state the decision was taken in. */
  learn: (gamma: HistoryFeatures, health: number, neededFraction: number, weight?: number) => void
  theta: () => number[]
  restore: (theta: number[]) => void
  bounds: () => { minFraction: number, maxFraction: number }
  updates: () => number
}

export function createAdaptiveBudget (options: AdaptiveBudgetOptions = {}): AdaptiveBudget {
  const o = { ...ADAPTIVE_BUDGET_DEFAULTS, ...options }
  if (!(o.minFraction > 0 && o.minFraction < o.maxFraction && o.maxFraction <= 1)) {
    throw new LearningError('ERR_BAD_OPTIONS', `adaptive budget bounds must satisfy 0 < min < max ≤ 1, got [${o.minFraction}, ${o.maxFraction}]`)
  }
  const init = Math.min(o.maxFraction - 1e-3, Math.max(o.minFraction + 1e-3, o.initialFraction))
  let theta = [logit((init - o.minFraction) / (o.maxFraction - o.minFraction)), 0, 0, 0, 0]
  let updates = 0
  const fractionOf = (phi: number[]): number => {
    const s = theta.reduce((acc, w, i) => acc + w * phi[i]!, 0)
    return o.minFraction + (o.maxFraction - o.minFraction) * sigmoid(s)
  }
  return {
    fraction: (g, h) => fractionOf(adaptiveFeatures(g, h)),
    learn (g, h, needed, weight = 1) {
      if (!Number.isFinite(needed) || !Number.isFinite(weight) || weight <= 0) return
      const phi = adaptiveFeatures(g, h)
      const target = Math.min(1, Math.max(0, (needed - o.minFraction) / (o.maxFraction - o.minFraction)))
      const current = (fractionOf(phi) - o.minFraction) / (o.maxFraction - o.minFraction)
      // Pinball-loss subgradient through the logistic link: up by τ, down by 1 − τ.
      const grad = target > current ? o.quantile : (target < current ? -(1 - o.quantile) : 0)
      const step = o.learningRate * Math.min(weight, 5) * grad
      theta = theta.map((w, i) => Math.max(-o.maxWeight, Math.min(o.maxWeight, w + step * phi[i]!)))
      updates++
    },
    theta: () => theta.slice(),
    restore (t) {
      if (t.length === theta.length && t.every(Number.isFinite)) theta = t.map((w) => Math.max(-o.maxWeight, Math.min(o.maxWeight, w)))
    },
    bounds: () => ({ minFraction: o.minFraction, maxFraction: o.maxFraction }),
    updates: () => updates
  }
}
