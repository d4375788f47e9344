// Cost-vector arithmetic, pure. The budget is per dimension: an action fits
// only if it fits in every dimension. The vector, its dimensions and its
// sums live with the record (@homeostat/interface); the budget's maths is here.
import { addCost, COST_DIMENSIONS, isCostVector, scaleCost, subCost, zeroCost, type CostVector } from '@homeostat/interface'

export { addCost, COST_DIMENSIONS, isCostVector, scaleCost, subCost, zeroCost }

/** (1−w)·a + w·b per dimension. */
export function mixCost (a: CostVector, b: CostVector, w: number): CostVector {
  return addCost(scaleCost(a, 1 - w), scaleCost(b, w))
}

/**
 * max over dimensions of used/beta: the share of the tightest dimension's
 * budget. A dimension with β = 0 counts as 0 when unused and ∞ when used.
 */
export function utilisation (used: CostVector, beta: CostVector): number {
  let u = 0
  for (const d of COST_DIMENSIONS) {
    const b = beta[d]
    const x = used[d]
    const r = b > 0 ? x / b : (x > 1e-12 ? Infinity : 0)
    if (r > u) u = r
  }
  return u
}

/** Does `add` fit on top of `used` within `beta` in every dimension? */
export function fits (used: CostVector, add: CostVector, beta: CostVector): boolean {
  const eps = 1e-9
  return COST_DIMENSIONS.every((d) => used[d] + add[d] <= beta[d] + eps)
}

/** Dimensions in which `add` would not fit, for the decision's `why`. */
export function overflowing (used: CostVector, add: CostVector, beta: CostVector): string[] {
  return COST_DIMENSIONS.filter((d) => used[d] + add[d] > beta[d] + 1e-9)
}


export const round = (x: number, digits = 4): number => {
  if (!Number.isFinite(x)) return x
  const k = 10 ** digits
  return Math.round(x * k) / k
}

export function roundCost (c: CostVector, digits = 4): CostVector {
  return { cpuSeconds: round(c.cpuSeconds, digits), memoryMb: round(c.memoryMb, digits), bandwidthKb: round(c.bandwidthKb, digits), disruptionSeconds: round(c.disruptionSeconds, digits) }
}
