// The safety budget β(t), per cost dimension, as pure functions of the mode's
// inputs (tested from a table):
//   static   β = 0.15 · C_available
//   dynamic  β(t) = α · C_available(t) + (1 − α) · C_historical(t),  α ∈ [0.3, 0.5]
//   adaptive β(t) = f(Γ_t, H_t) · C_available(t),  f clamped to [minFraction, maxFraction]
// C_available(t) is the capacity the node can give recovery per window
// (caller-supplied; `hostCapacity` derives one from the machine).
// C_historical(t) is what recovery historically needed per window: the mean
// spend of the last closed ledger windows (seeded with the static budget).
import { cpus } from 'node:os'
import type { BudgetMode, CostVector } from '@homeostat/interface'
import { addCost, scaleCost } from './cost.ts'
import { PlannerError } from './errors.ts'

/** The mission-critical fraction of the design (paper §3.1.2). */
export const STATIC_FRACTION = 0.15
export const DYNAMIC_ALPHA_MIN = 0.3
export const DYNAMIC_ALPHA_MAX = 0.5

export const staticBeta = (available: CostVector): CostVector => scaleCost(available, STATIC_FRACTION)

export function dynamicBeta (alpha: number, available: CostVector, historical: CostVector): CostVector {
  assertAlpha(alpha)
  return addCost(scaleCost(available, alpha), scaleCost(historical, 1 - alpha))
}

export function adaptiveBeta (fraction: number, available: CostVector, minFraction: number, maxFraction: number): CostVector {
  const f = Math.min(maxFraction, Math.max(minFraction, Number.isFinite(fraction) ? fraction : minFraction))
  return scaleCost(available, f)
}

export function assertAlpha (alpha: number): void {
  if (!(alpha >= DYNAMIC_ALPHA_MIN && alpha <= DYNAMIC_ALPHA_MAX)) {
    throw new PlannerError('ERR_BAD_OPTIONS', `dynamic budget alpha must be in [${DYNAMIC_ALPHA_MIN}, ${DYNAMIC_ALPHA_MAX}], got ${alpha}`)
  }
}

export function assertMode (mode: string): asserts mode is BudgetMode {
  if (mode !== 'static' && mode !== 'dynamic' && mode !== 'adaptive') {
    throw new PlannerError('ERR_BAD_OPTIONS', `budget mode must be static, dynamic or adaptive, got ${JSON.stringify(mode)}`)
  }
}

/** Mean of the closed windows' spend; `seed` while none closed yet. Pure. */
export function historicalSpend (closedWindows: readonly CostVector[], seed: CostVector): CostVector {
  if (closedWindows.length === 0) return seed
  let sum: CostVector = { cpuSeconds: 0, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 }
  for (const w of closedWindows) sum = addCost(sum, w)
  return scaleCost(sum, 1 / closedWindows.length)
}

export interface HostCapacityOptions {
  windowMs: number
  /** CPU cores recovery may use (default: all). */
  cores?: number
  /** Memory recovery may hold, MB. */
  memoryMb?: number
  /** Link capacity, KB/s. */
  bandwidthKbPerSecond?: number
}

/**
 * C_available for a window on this machine: cores × window seconds of CPU, a
 * memory allowance, link capacity × window, and the window itself as
 * disruption-seconds (the most a workload can be down in a window).
 */
export function hostCapacity (o: HostCapacityOptions): CostVector {
  const seconds = o.windowMs / 1000
  return {
    cpuSeconds: (o.cores ?? Math.max(1, cpus().length)) * seconds,
    memoryMb: o.memoryMb ?? 4096,
    bandwidthKb: (o.bandwidthKbPerSecond ?? 12_500) * seconds,
    disruptionSeconds: seconds
  }
}
