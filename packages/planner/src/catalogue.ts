// The action catalogue: what each recovery action is, where it applies, and
// what we predict it costs before any outcome was observed. Predictions are
// priors: outcome statistics replace them as evidence arrives, and the shield
// uses an upper bound that starts wide around them.
import { ACTION_TRAITS, type ActionKind, type CostVector, type PlanRequest, type TargetKind } from '@homeostat/interface'
import type { CellPrior } from '@homeostat/learning'
import { normalGammaFromGuess } from '@homeostat/learning'
import { PlannerError } from './errors.ts'

export interface PreconditionContext {
  request: PlanRequest
  failureClass: string
  targetKind: TargetKind
  target: string
}

export interface CatalogueAction {
  kind: ActionKind
  description: string
  targetKinds: readonly TargetKind[]
  /** Failure classes (or prefixes ending in `*`) this action can address; omitted = any. */
  failureClasses?: readonly string[]
  /** Extra precondition; returns why the action does not apply, or undefined when it does. */
  precondition?: (ctx: PreconditionContext) => string | undefined
  /** Prior guess of the cost vector. */
  predictedCost: CostVector
  /** Prior guess of acted→verified time, ms. */
  predictedTtrMs: number
  /** Prior guess of P(verification passes). */
  priorSuccess: number
  /** 0 (harmless) … 1 (may make things worse); above the approval threshold an operator must approve (ACTION_TRAITS' values). */
  risk: number
  /** Can recovery undo it (rollback of a rollback, relocate back…)? */
  reversible: boolean
  /** Share of learning progress (training since checkpoint, warm caches) the action throws away, 0…1. */
  continuityLoss: number
}

const ALL: readonly TargetKind[] = ['process', 'service', 'device', 'training', 'node']
const WORKLOADS: readonly TargetKind[] = ['process', 'service', 'training']

/** Defaults for a small edge node; every figure is a prior, refined by outcomes. */
export const DEFAULT_CATALOGUE: readonly CatalogueAction[] = [
  {
    kind: 'reload', description: 'ask the workload to reload its configuration (SIGHUP / reload endpoint)',
    targetKinds: ['process', 'service'],
    predictedCost: { cpuSeconds: 0.5, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 1 },
    predictedTtrMs: 2000, priorSuccess: 0.35, risk: ACTION_TRAITS.reload.risk, reversible: true, continuityLoss: 0
  },
  {
    kind: 'restart', description: 'stop and start the workload under its supervisor',
    targetKinds: WORKLOADS,
    predictedCost: { cpuSeconds: 2, memoryMb: 50, bandwidthKb: 0, disruptionSeconds: 5 },
    predictedTtrMs: 5000, priorSuccess: 0.7, risk: ACTION_TRAITS.restart.risk, reversible: true, continuityLoss: 0.2
  },
  {
    kind: 'kill', description: 'SIGKILL a hung workload and let the supervisor respawn it',
    targetKinds: WORKLOADS,
    // For a process that is alive and not serving; an exited one needs a start (restart), not a kill.
    failureClasses: ['hang', 'unhealthy', 'unknown'],
    predictedCost: { cpuSeconds: 1, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 4 },
    predictedTtrMs: 4000, priorSuccess: 0.55, risk: ACTION_TRAITS.kill.risk, reversible: false, continuityLoss: 0.3
  },
  {
    kind: 'throttle', description: 'lower the workload\'s CPU / power share (cgroup, nvpmodel)',
    targetKinds: ALL,
    // Only where the target's own CPU or power use is the problem. Throttling a hung, crashed or
    // leaking workload slows the victim further (it was the planner's first pick for a hang in the
    // demo, ~5 s lost per incident until outcomes taught it otherwise); a workload already held by
    // its cgroup quota (cpu_throttling) needs more CPU, not less.
    failureClasses: ['cpu_limit', 'cpu_hog', 'cpu_saturation', 'overload', 'thermal', 'throttling', 'power*'],
    predictedCost: { cpuSeconds: 0.2, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 },
    predictedTtrMs: 5000, priorSuccess: 0.4, risk: ACTION_TRAITS.throttle.risk, reversible: true, continuityLoss: 0.05
  },
  {
    kind: 'degrade', description: 'switch the workload to a degraded mode (smaller model, lower rate)',
    targetKinds: ['service', 'training', 'device'],
    predictedCost: { cpuSeconds: 0.5, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 1 },
    predictedTtrMs: 3000, priorSuccess: 0.45, risk: ACTION_TRAITS.degrade.risk, reversible: true, continuityLoss: 0.1
  },
  {
    kind: 'free_disk', description: 'delete rotated logs, caches and old checkpoints',
    targetKinds: ALL, failureClasses: ['disk_fill', 'disk*'],
    predictedCost: { cpuSeconds: 5, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 },
    predictedTtrMs: 10_000, priorSuccess: 0.7, risk: ACTION_TRAITS.free_disk.risk, reversible: false, continuityLoss: 0.05
  },
  {
    kind: 'rollback', description: 'redeploy the previous artifact (binary, model, config)',
    targetKinds: WORKLOADS,
    predictedCost: { cpuSeconds: 10, memoryMb: 200, bandwidthKb: 50_000, disruptionSeconds: 20 },
    predictedTtrMs: 20_000, priorSuccess: 0.6, risk: ACTION_TRAITS.rollback.risk, reversible: true, continuityLoss: 0.3
  },
  {
    kind: 'relocate', description: 'move the workload to another node of the mesh',
    targetKinds: ['service', 'training', 'process'],
    predictedCost: { cpuSeconds: 30, memoryMb: 500, bandwidthKb: 200_000, disruptionSeconds: 60 },
    predictedTtrMs: 60_000, priorSuccess: 0.8, risk: ACTION_TRAITS.relocate.risk, reversible: true, continuityLoss: 0.2
  },
  {
    kind: 'quarantine', description: 'stop the component and keep it stopped until a human looks',
    targetKinds: ALL,
    predictedCost: { cpuSeconds: 0.5, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 },
    predictedTtrMs: 1000, priorSuccess: 0.95, risk: ACTION_TRAITS.quarantine.risk, reversible: true, continuityLoss: 0
  }
]

/** Checks a catalogue; throws PlannerError ERR_BAD_OPTIONS naming the bad entry. */
export function validateCatalogue (list: readonly CatalogueAction[]): void {
  const seen = new Set<string>()
  for (const a of list) {
    const bad = (why: string): never => { throw new PlannerError('ERR_BAD_OPTIONS', `catalogue action ${a.kind}: ${why}`) }
    if (a.kind === 'escalate' || a.kind === 'none') bad('escalate/none are decisions, not catalogue actions')
    if (seen.has(a.kind)) bad('listed twice')
    seen.add(a.kind)
    if (!(a.risk >= 0 && a.risk <= 1)) bad(`risk must be in [0,1], got ${a.risk}`)
    if (!(a.priorSuccess > 0 && a.priorSuccess < 1)) bad(`priorSuccess must be in (0,1), got ${a.priorSuccess}`)
    if (!(a.continuityLoss >= 0 && a.continuityLoss <= 1)) bad(`continuityLoss must be in [0,1], got ${a.continuityLoss}`)
    if (!(a.predictedTtrMs >= 0 && Number.isFinite(a.predictedTtrMs))) bad('predictedTtrMs must be finite and ≥ 0')
    for (const [d, v] of Object.entries(a.predictedCost)) if (!(Number.isFinite(v) && v >= 0)) bad(`predictedCost.${d} must be finite and ≥ 0`)
    if (a.targetKinds.length === 0) bad('targetKinds is empty')
  }
}

export function matchesClass (patterns: readonly string[] | undefined, failureClass: string): boolean {
  if (patterns === undefined) return true
  return patterns.some((p) => p.endsWith('*') ? failureClass.startsWith(p.slice(0, -1)) : p === failureClass)
}

/** Why `a` does not apply here, or undefined when it does. */
export function inapplicable (a: CatalogueAction, ctx: PreconditionContext): string | undefined {
  if (!a.targetKinds.includes(ctx.targetKind)) return `not for target kind ${ctx.targetKind}`
  if (!matchesClass(a.failureClasses, ctx.failureClass)) return `not for failure class ${ctx.failureClass}`
  if (!ctx.request.available.includes(a.kind)) return 'not available on this target'
  return a.precondition?.(ctx)
}

/**
 * Prior statistics for a (class, action) cell from the catalogue: success
 * worth 2 pseudo-observations, costs and time with a standard deviation of
 * half the guess worth 1 observation (a wide, conservative start).
 */
export function catalogueDefaultPrior (catalogue: readonly CatalogueAction[]): (failureClass: string, action: string) => CellPrior {
  const byKind = new Map(catalogue.map((a) => [a.kind as string, a]))
  return (_failureClass, action) => {
    const a = byKind.get(action)
    const p = a?.priorSuccess ?? 0.5
    const c = a?.predictedCost ?? { cpuSeconds: 10, memoryMb: 100, bandwidthKb: 1000, disruptionSeconds: 30 }
    const ttr = a?.predictedTtrMs ?? 30_000
    const g = (x: number) => normalGammaFromGuess(x, Math.max(x * 0.5, 1e-3), 1)
    return {
      success: { a: 2 * p, b: 2 * (1 - p) },
      ttrMs: g(ttr),
      cost: { cpuSeconds: g(c.cpuSeconds), memoryMb: g(c.memoryMb), bandwidthKb: g(c.bandwidthKb), disruptionSeconds: g(c.disruptionSeconds) }
    }
  }
}
