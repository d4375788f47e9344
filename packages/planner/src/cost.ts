// Cost-vector arithmetic, pure. The budget is per dimension: an action fits
// only if it fits in every dimension.
import type { CostVector } from '@homeostat/interface'
import { COST_DIMENSIONS, zeroCost } from '@homeostat/learning'

export { COST_DIMENSIONS, zeroCost }

export function addCost (a: CostVector, b: CostVector): CostVector {
  return { cpuSeconds: a.cpuSeconds + b.cpuSeconds, memoryMb: a.memoryMb + b.memoryMb, bandwidthKb: a.bandwidthKb + b.bandwidthKb, disruptionSeconds: a.disruptionSeconds + b.disruptionSeconds }
}

export function subCost (a: CostVector, b: CostVector): CostVector {
  return { cpuSeconds: a.cpuSeconds - b.cpuSeconds, memoryMb: a.memoryMb - b.memoryMb, bandwidthKb: a.bandwidthKb - b.bandwidthKb, disruptionSeconds: a.disruptionSeconds - b.disruptionSeconds }
}

export function scaleCost (a: CostVector, k: number): CostVector {
  return { cpuSeconds: a.cpuSeconds * k, memoryMb: a.memoryMb * k, bandwidthKb: a.bandwidthKb * k, disruptionSeconds: a.disruptionSeconds * k }
}

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

export function isCostVector (c: CostVector): boolean {
  return COST_DIMENSIONS.every((d) => Number.isFinite(c[d]) && c[d] >= 0)
}

export const round = (x: number, digits = 4): number => {
  if (!Number.isFinite(x)) return x
  const k = 10 ** digits
  return Math.round(x * k) / k
}

export function roundCost (c: CostVector, digits = 4): CostVector {
  return { cpuSeconds: round(c.cpuSeconds, digits), memoryMb: round(c.memoryMb, digits), bandwidthKb: round(c.bandwidthKb, digits), disruptionSeconds: round(c.disruptionSeconds, digits) }
}
