// The constrained policy's arithmetic, pure. The CMDP
//   max E[Σ γ^t R]  s.t.  E[Σ γ^t C] ≤ β
// is relaxed with a Lagrange multiplier λ ≥ 0 on cost: each decision picks the
// admissible action maximising  Q_R − λ·Q_C , and λ follows dual ascent on the
// observed budget utilisation:  λ ← clamp(λ + η·(u − u*), 0, λ_max).
// When recovery stays below u* of β, λ decays to 0 and the planner chooses on
// reward alone; when spend approaches β, cheaper actions win.

export interface RewardWeights {
  /** Downtime charged to a failed attempt on top of its own time (the next attempt, or a human), seconds. */
  failurePenaltySeconds: number
  /** Seconds of downtime one full loss of learning continuity is worth. */
  continuityWeightSeconds: number
  /** Budget-fraction units of cost charged per unit of risk (risk exposure is part of C). */
  riskCostWeight: number
  /** Expected time until a human fixes an escalated incident, seconds: the value of giving up. */
  humanResponseSeconds: number
}

export const REWARD_DEFAULTS: RewardWeights = {
  /** A failed action costs at least another detection + attempt cycle, ~1 minute on an edge node. */
  failurePenaltySeconds: 60,
  /** Losing all learning progress since the last checkpoint ≈ 30 s of downtime (checkpoints are frequent on the edge). */
  continuityWeightSeconds: 30,
  /** A maximally risky action costs as much as 10 % of the budget. */
  riskCostWeight: 0.1,
  /** A paged on-call engineer typically acts within half an hour. */
  humanResponseSeconds: 1800
}

/** Q_R in seconds of expected downtime (negative: larger is better). */
export function expectedReward (pSuccess: number, ttrMs: number, continuityLoss: number, w: RewardWeights): number {
  return -((ttrMs / 1000) + (1 - pSuccess) * w.failurePenaltySeconds) - w.continuityWeightSeconds * continuityLoss
}

/** Q_C in budget units: the tightest dimension's share of β plus the risk charge. */
export function expectedCost (budgetShare: number, risk: number, w: RewardWeights): number {
  return budgetShare + w.riskCostWeight * risk
}

export const lagrangian = (qR: number, qC: number, lambda: number): number => qR - lambda * qC

export interface DualOptions {
  /** Seconds of reward per unit of over-use, per update. */
  stepSize: number
  /** u*: utilisation of β the planner aims to stay under. */
  targetUtilisation: number
  maxLambda: number
}

export const DUAL_DEFAULTS: DualOptions = {
  /** One fully over-used window raises λ by 50 s/β: enough to flip a choice between actions ~5 s apart after a few outcomes. */
  stepSize: 50,
  /** Aim at 80 % of β so that one more reservation rarely finds the shield closed. */
  targetUtilisation: 0.8,
  /** Past 2,000 s/β any cost difference dominates; more only slows recovery of λ. */
  maxLambda: 2000
}

export function dualAscent (lambda: number, utilisation: number, o: DualOptions): number {
  const u = Number.isFinite(utilisation) ? utilisation : 2
  return Math.min(o.maxLambda, Math.max(0, lambda + o.stepSize * (u - o.targetUtilisation)))
}

/**
 * Is trying an action before escalating worth it? Trying costs its time and,
 * if it fails, still ends with the human: ttr + (1 − p)·H < H  ⟺  ttr < p·H.
 */
export const worthTrying = (pSuccess: number, ttrMs: number, w: RewardWeights): boolean => ttrMs / 1000 < pSuccess * w.humanResponseSeconds
