// Outcome statistics per (failure class, action): a Beta posterior on the
// probability that the action fixes the failure, and Normal–Gamma posteriors
// on its time to recover and on each dimension of its cost vector.
// Supports Thompson sampling (draws) and conservative upper bounds (the
// planner's shield uses those, never the draws).
import { COST_DIMENSIONS, zeroCost, type CostVector, type Outcome } from '@homeostat/interface'
import {
  type BetaPrior, type NormalGammaPrior, type ScalarEvidence,
  betaMean, betaPosterior, betaVariance, emptyEvidence, normalGammaPosterior,
  observe, predictiveUpper, sampleMean
} from './posterior.ts'
import type { Rng } from './prng.ts'
import { LearningError } from './errors.ts'

// The cost vector's dimensions and zero live with the vector (@homeostat/interface).
export { COST_DIMENSIONS, zeroCost } from '@homeostat/interface'
export type CostDimension = typeof COST_DIMENSIONS[number]


export interface CellPrior {
  success: BetaPrior
  ttrMs: NormalGammaPrior
  cost: Record<CostDimension, NormalGammaPrior>
}

export interface CellState {
  failureClass: string
  action: string
  prior: CellPrior
  /** Where the prior came from: the catalogue default or an imported (fleet) prior. */
  priorSource: 'default' | 'imported'
  successW: number
  failureW: number
  ttrMs: ScalarEvidence
  cost: Record<CostDimension, ScalarEvidence>
  /** Raw observation count (never decays). */
  n: number
  lastAtMs: number
}

export interface CellView {
  failureClass: string
  action: string
  n: number
  priorSource: 'default' | 'imported'
  successMean: number
  successSd: number
  ttrMeanMs: number
  costMean: CostVector
  /** Largest cost ever observed per dimension (0 when never observed). */
  costMax: CostVector
}

export interface OutcomeDraw {
  success: number
  ttrMs: number
  cost: CostVector
}

export interface OutcomeStatsOptions {
  /** Prior for a cell never seen (the planner passes its catalogue's predictions). */
  defaultPrior: (failureClass: string, action: string) => CellPrior
  /** Half-life of local evidence, ms. Infinity = never forget. */
  halfLifeMs?: number
  /** Hard cap on (class, action) cells kept. */
  maxCells?: number
}

export const OUTCOME_STATS_DEFAULTS = {
  /** Failure behaviour drifts slowly (new releases, hardware ageing): a week's half-life forgets old evidence without thrashing. */
  halfLifeMs: 7 * 24 * 3600_000,
  /** ~20 classes × ~12 actions fit 20 times over; beyond that a hostile or buggy caller is inventing classes. */
  maxCells: 4096
} as const

export interface OutcomeStats {
  record: (outcome: Outcome, atMs: number) => void
  view: (failureClass: string, action: string) => CellView
  /** Posterior draw for Thompson sampling. */
  sample: (failureClass: string, action: string, rng: Rng) => OutcomeDraw
  /** Per-dimension upper bound of one action's cost: max(predictive t-quantile at `z`, largest cost seen). */
  costUpper: (failureClass: string, action: string, z: number) => CostVector
  /** Posterior (prior ⊕ evidence) of a cell as a prior, for export. */
  posterior: (failureClass: string, action: string) => CellPrior
  /** Replaces a cell's prior (import), keeping local evidence. */
  setPrior: (failureClass: string, action: string, prior: CellPrior) => void
  cells: () => CellState[]
  snapshot: () => CellState[]
  restore: (cells: CellState[]) => void
  stats: () => { cells: number, observations: number, rejected: number }
}

const key = (c: string, a: string): string => `${c}\u0000${a}`

function decayFactor (fromMs: number, toMs: number, halfLifeMs: number): number {
  if (!Number.isFinite(halfLifeMs) || toMs <= fromMs) return 1
  return Math.pow(0.5, (toMs - fromMs) / halfLifeMs)
}

export function createOutcomeStats (options: OutcomeStatsOptions): OutcomeStats {
  const halfLifeMs = options.halfLifeMs ?? OUTCOME_STATS_DEFAULTS.halfLifeMs
  const maxCells = options.maxCells ?? OUTCOME_STATS_DEFAULTS.maxCells
  const cells = new Map<string, CellState>()
  let observations = 0
  let rejected = 0

  const fresh = (failureClass: string, action: string): CellState => ({
    failureClass,
    action,
    prior: options.defaultPrior(failureClass, action),
    priorSource: 'default',
    successW: 0,
    failureW: 0,
    ttrMs: emptyEvidence(),
    cost: { cpuSeconds: emptyEvidence(), memoryMb: emptyEvidence(), bandwidthKb: emptyEvidence(), disruptionSeconds: emptyEvidence() },
    n: 0,
    lastAtMs: 0
  })
  const peek = (c: string, a: string): CellState => cells.get(key(c, a)) ?? fresh(c, a)
  const obtain = (c: string, a: string): CellState => {
    let cell = cells.get(key(c, a))
    if (cell === undefined) {
      if (cells.size >= maxCells) throw new LearningError('ERR_TOO_MANY_CELLS', `outcome statistics hold ${cells.size} cells, the limit`)
      cell = fresh(c, a)
      cells.set(key(c, a), cell)
    }
    return cell
  }
  const post = (cell: CellState): CellPrior => ({
    success: betaPosterior(cell.prior.success, cell.successW, cell.failureW),
    ttrMs: normalGammaPosterior(cell.prior.ttrMs, cell.ttrMs),
    cost: {
      cpuSeconds: normalGammaPosterior(cell.prior.cost.cpuSeconds, cell.cost.cpuSeconds),
      memoryMb: normalGammaPosterior(cell.prior.cost.memoryMb, cell.cost.memoryMb),
      bandwidthKb: normalGammaPosterior(cell.prior.cost.bandwidthKb, cell.cost.bandwidthKb),
      disruptionSeconds: normalGammaPosterior(cell.prior.cost.disruptionSeconds, cell.cost.disruptionSeconds)
    }
  })

  return {
    record (o, atMs) {
      const finite = Number.isFinite(o.durationMs) && o.durationMs >= 0 &&
        COST_DIMENSIONS.every((d) => Number.isFinite(o.cost[d]) && o.cost[d] >= 0)
      if (!finite || o.failureClass === '' || o.action === 'escalate' || o.action === 'none') {
        rejected++
        return
      }
      if (!cells.has(key(o.failureClass, o.action)) && cells.size >= maxCells) {
        rejected++ // a flood of invented classes must not grow memory or throw into the loop
        return
      }
      const cell = obtain(o.failureClass, o.action)
      const f = cell.n === 0 ? 1 : decayFactor(cell.lastAtMs, atMs, halfLifeMs)
      cell.successW = cell.successW * f + (o.success ? 1 : 0)
      cell.failureW = cell.failureW * f + (o.success ? 0 : 1)
      cell.ttrMs = observe(cell.ttrMs, o.durationMs, f)
      for (const d of COST_DIMENSIONS) cell.cost[d] = observe(cell.cost[d], o.cost[d], f)
      cell.n++
      cell.lastAtMs = Math.max(cell.lastAtMs, atMs)
      observations++
    },
    view (c, a) {
      const cell = peek(c, a)
      const p = post(cell)
      const costMean = zeroCost()
      const costMax = zeroCost()
      for (const d of COST_DIMENSIONS) {
        costMean[d] = Math.max(0, p.cost[d].mu)
        costMax[d] = cell.cost[d].n > 0 ? cell.cost[d].max : 0
      }
      return {
        failureClass: c,
        action: a,
        n: cell.n,
        priorSource: cell.priorSource,
        successMean: betaMean(p.success),
        successSd: Math.sqrt(betaVariance(p.success)),
        ttrMeanMs: Math.max(0, p.ttrMs.mu),
        costMean,
        costMax
      }
    },
    sample (c, a, rng) {
      const p = post(peek(c, a))
      const cost = zeroCost()
      for (const d of COST_DIMENSIONS) cost[d] = Math.max(0, sampleMean(p.cost[d], rng))
      return {
        success: rng.beta(p.success.a, p.success.b),
        ttrMs: Math.max(0, sampleMean(p.ttrMs, rng)),
        cost
      }
    },
    costUpper (c, a, z) {
      const cell = peek(c, a)
      const p = post(cell)
      const out = zeroCost()
      for (const d of COST_DIMENSIONS) {
        const seen = cell.cost[d].n > 0 ? cell.cost[d].max : 0
        out[d] = Math.max(0, predictiveUpper(p.cost[d], z), seen)
      }
      return out
    },
    posterior: (c, a) => post(peek(c, a)),
    setPrior (c, a, prior) {
      const cell = obtain(c, a)
      cell.prior = prior
      cell.priorSource = 'imported'
    },
    cells: () => [...cells.values()],
    snapshot: () => structuredClone([...cells.values()]),
    restore (list) {
      cells.clear()
      for (const c of list.slice(0, maxCells)) cells.set(key(c.failureClass, c.action), structuredClone(c))
      observations = list.reduce((s, c) => s + c.n, 0)
    },
    stats: () => ({ cells: cells.size, observations, rejected })
  }
}

