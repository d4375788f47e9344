// The recovery planner: a RecoveryPolicy that chooses, for each incident, the
// admissible catalogue action maximising Q_R − λ·Q_C (Thompson-sampled Q_R
// from learned outcome statistics), behind a hard shield that masks any
// action whose cost upper bound does not fit in what is left of β(t). Risky
// actions wait at the approval gate; every decision, approval and outcome goes
// into the hash-chained audit log. Escalation never loops: failed actions are
// never proposed again for the same incident; after `maxAttempts` failures the
// component is quarantined and a human is asked; with no admissible action
// the planner escalates and never acts.
import type {
  ActionKind, AlternativeAction, BudgetMode, BudgetView, CostVector, Outcome, PendingApproval,
  PlanRequest, PlannedAction, RecoveryPolicy, TargetKind
} from '@homeostat/interface'
import { CRASH_LOOP_DEFAULTS, RESTART_LOOP_CLASSES } from '@homeostat/interface'
import {
  type HistoryFeatures, type JsonStore, type Learning, type LoadResult, type Rng,
  PATTERN_DEFAULTS, createLearning, createRng, findCrashLoops
} from '@homeostat/learning'
import { type CatalogueAction, DEFAULT_CATALOGUE, catalogueDefaultPrior, inapplicable, validateCatalogue } from './catalogue.ts'
import { adaptiveBeta, assertAlpha, assertMode, dynamicBeta, historicalSpend, hostCapacity, staticBeta } from './budget.ts'
import { type BudgetLedger, createBudgetLedger } from './ledger.ts'
import { type AuditLog, type AuditStore, type VerifyResult, createAuditLog } from './audit.ts'
import { type ApprovalGate, type ApprovalResolution, createApprovalGate } from './approval.ts'
import { type PlannerClock, systemClock } from './clock.ts'
import {
  type DualOptions, type RewardWeights, DUAL_DEFAULTS, REWARD_DEFAULTS,
  dualAscent, expectedCost, expectedReward, lagrangian, worthTrying
} from './lagrangian.ts'
import { addCost, fits, isCostVector, overflowing, round, roundCost, subCost, utilisation, zeroCost } from './cost.ts'
import { PlannerError } from './errors.ts'

export interface ApprovalOptions {
  /** Actions with risk strictly above this wait for an operator. */
  riskThreshold?: number
  timeoutMs?: number
  maxPending?: number
  /** `wait`: plan() waits at the gate (default). `flag`: plan() returns at once with requiresApproval = true and the caller gates. */
  mode?: 'wait' | 'flag'
  onRequest?: (p: PendingApproval) => void
}

export interface PlannerOptions {
  mode: BudgetMode
  nodeId?: string
  clock?: PlannerClock
  /** Seed of the planner's PRNG (Thompson draws). */
  seed?: number
  /** C_available(t): capacity recovery may draw on per window. Default: this host (`hostCapacity`). */
  capacity?: (nowMs: number) => CostVector
  windowMs?: number
  /** Dynamic mode's α ∈ [0.3, 0.5]. */
  alpha?: number
  /** Adaptive mode's hard bounds and learning rate (fractions of C_available). */
  adaptive?: { minFraction?: number, maxFraction?: number, initialFraction?: number, learningRate?: number }
  catalogue?: readonly CatalogueAction[]
  /** A learning instance to share (else one is created, persisted through `store`). */
  learning?: Learning
  store?: JsonStore
  auditStore?: AuditStore
  /** H_t summarised as availability in [0, 1]. */
  health?: () => number
  /** Ω_t: named context features (load, link quality…), recorded with each decision. */
  context?: () => Record<string, number>
  approval?: ApprovalOptions
  /** Thompson sampling on Q_R (default true); false = posterior means. */
  thompson?: boolean
  /** z of the one-sided cost upper bound the shield uses (2.33 ≈ 99 %). */
  shieldZ?: number
  reward?: Partial<RewardWeights>
  dual?: Partial<DualOptions>
  /** Failed actions per incident before quarantine. */
  maxAttempts?: number
  /** Incidents of one component within crashLoopWindowMs that make a crash loop (quarantine instead of another restart). */
  crashLoopMaxFailures?: number
  crashLoopWindowMs?: number
  /** Below this diagnosis confidence the planner acts on the incident's own component. */
  minDiagnosisConfidence?: number
  /** Incidents whose context (tried actions, decision state) is remembered. */
  maxIncidents?: number
}

export const PLANNER_DEFAULTS = {
  /** Ten minutes: long enough to see a restart storm, short enough that one bad hour does not starve the next. */
  windowMs: 600_000,
  /** Middle of the design's [0.3, 0.5]. */
  alpha: 0.4,
  /** Mid-scale: rollback (0.4) runs alone, relocate (0.5) needs a human. */
  riskThreshold: 0.45,
  /** Five minutes for an operator; after that the safest admissible action runs. */
  approvalTimeoutMs: 300_000,
  /** More open approvals than this means nobody is watching; new ones are refused (safest action). */
  maxPendingApprovals: 32,
  /** 99 % one-sided bound on cost. */
  shieldZ: 2.33,
  /** Four different failed actions, then quarantine: beyond that the planner is guessing (each action is tried once anyway). */
  maxAttempts: 4,
  /** Incidents of one component within the window that make a crash loop, as the playbook counts them
   * (CRASH_LOOP_DEFAULTS): each restart "worked" for a moment, so no single incident runs out of actions. */
  crashLoopMaxFailures: CRASH_LOOP_DEFAULTS.maxRestarts,
  crashLoopWindowMs: CRASH_LOOP_DEFAULTS.windowMs,
  minDiagnosisConfidence: 0.3,
  maxIncidents: 1024
} as const

interface IncidentContext {
  tried: Set<ActionKind>
  decisions: number
  component: string
  gamma: HistoryFeatures
  health: number
  /** Capacity fraction that would have admitted the reward-best (masked) action. */
  blockedNeededFraction?: number
  reservations: Map<ActionKind, string>
}

interface Candidate {
  a: CatalogueAction
  qR: number
  qRMean: number
  qC: number
  score: number
  meanCost: CostVector
  upperCost: CostVector
  admissible: boolean
  why: string
}

export interface PlannerStats {
  decisions: number
  /** Capacity / health / context providers that threw or returned invalid values. */
  providerErrors: number
  escalations: number
  quarantines: number
  shieldMasked: number
  outcomes: number
  rejectedOutcomes: number
  approvals: ReturnType<ApprovalGate['stats']>
  audit: ReturnType<AuditLog['stats']>
}

export interface Planner extends RecoveryPolicy {
  /** Loads persisted learning state and the audit chain. */
  start: () => Promise<{ learning: LoadResult, audit: VerifyResult }>
  /** Times out pending approvals, flushes the audit log and saves learning. */
  stop: () => Promise<void>
  /**
   * The caller did not run a planned action (flag-mode approval refused, lease
   * lost, target gone): releases its budget reservation and records why.
   * Returns false when nothing was reserved for (incident, action).
   */
  cancel: (incidentId: string, action: ActionKind, reason?: string) => boolean
  approve: (id: string, by?: string) => boolean
  deny: (id: string, by?: string, reason?: string) => boolean
  pending: () => PendingApproval[]
  /** The budget ledger over the sliding window: entries, spent, reserved, β, remaining, λ. */
  budget: () => BudgetView
  readonly ledger: BudgetLedger
  readonly audit: AuditLog
  readonly learning: Learning
  readonly catalogue: readonly CatalogueAction[]
  /** State features s_t = [H_t, Ω_t, Γ_t] as named numbers. */
  state: () => { health: number, context: Record<string, number>, history: HistoryFeatures }
  lambda: () => number
  stats: () => PlannerStats
}

const META: ReadonlySet<ActionKind> = new Set<ActionKind>(['escalate', 'none', 'quarantine'])

export function createPlanner (options: PlannerOptions): Planner {
  assertMode(options.mode)
  const mode = options.mode
  const clock = options.clock ?? systemClock
  const windowMs = options.windowMs ?? PLANNER_DEFAULTS.windowMs
  if (!(windowMs > 0)) throw new PlannerError('ERR_BAD_OPTIONS', `windowMs must be > 0, got ${windowMs}`)
  const alpha = options.alpha ?? PLANNER_DEFAULTS.alpha
  assertAlpha(alpha)
  const catalogue = options.catalogue ?? DEFAULT_CATALOGUE
  validateCatalogue(catalogue)
  const byKind = new Map(catalogue.map((a) => [a.kind, a]))
  const capacity = options.capacity ?? ((() => { const c = hostCapacity({ windowMs }); return () => c })())
  // Providers are the caller's code: one that throws or returns garbage must not take planning down.
  let providerErrors = 0
  const health = (): number => {
    try {
      const h = options.health?.() ?? 1
      return Number.isFinite(h) ? Math.min(1, Math.max(0, h)) : 1
    } catch { providerErrors++; return 1 }
  }
  const context = (): Record<string, number> => {
    try {
      const c = options.context?.() ?? {}
      return Object.fromEntries(Object.entries(c).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)).slice(0, 64))
    } catch { providerErrors++; return {} }
  }
  const riskThreshold = options.approval?.riskThreshold ?? PLANNER_DEFAULTS.riskThreshold
  const approvalMode = options.approval?.mode ?? 'wait'
  const shieldZ = options.shieldZ ?? PLANNER_DEFAULTS.shieldZ
  const maxAttempts = options.maxAttempts ?? PLANNER_DEFAULTS.maxAttempts
  const crashLoopMaxFailures = options.crashLoopMaxFailures ?? PLANNER_DEFAULTS.crashLoopMaxFailures
  const crashLoopWindowMs = options.crashLoopWindowMs ?? PLANNER_DEFAULTS.crashLoopWindowMs
  const minConfidence = options.minDiagnosisConfidence ?? PLANNER_DEFAULTS.minDiagnosisConfidence
  const maxIncidents = options.maxIncidents ?? PLANNER_DEFAULTS.maxIncidents
  const thompson = options.thompson ?? true
  const reward: RewardWeights = { ...REWARD_DEFAULTS, ...options.reward }
  const dual: DualOptions = { ...DUAL_DEFAULTS, ...options.dual }
  const adaptiveBounds = { minFraction: options.adaptive?.minFraction ?? 0.05, maxFraction: options.adaptive?.maxFraction ?? 0.3 }
  const rng: Rng = createRng(options.seed ?? 1)
  const learning = options.learning ?? createLearning({
    defaultPrior: catalogueDefaultPrior(catalogue),
    now: clock.now,
    store: options.store,
    source: options.nodeId,
    adaptive: { ...options.adaptive }
  })
  const ledger = createBudgetLedger({ windowMs })
  const audit = createAuditLog({ store: options.auditStore, now: clock.now })
  const gate = createApprovalGate({
    clock,
    timeoutMs: options.approval?.timeoutMs ?? PLANNER_DEFAULTS.approvalTimeoutMs,
    maxPending: options.approval?.maxPending ?? PLANNER_DEFAULTS.maxPendingApprovals,
    onRequest: options.approval?.onRequest
  })
  const incidents = new Map<string, IncidentContext>()
  let lambda = 0
  let reservationSeq = 0
  const s = { decisions: 0, escalations: 0, quarantines: 0, shieldMasked: 0, outcomes: 0, rejectedOutcomes: 0 }

  const safeCapacity = (now: number): CostVector => {
    // A broken capacity source must close the budget, not open it.
    try {
      const c = capacity(now)
      if (c !== null && typeof c === 'object' && isCostVector(c)) return c
    } catch { /* counted below */ }
    providerErrors++
    return zeroCost()
  }

  const betaAt = (now: number): { beta: CostVector, available: CostVector, historical?: CostVector, fraction?: number } => {
    const available = safeCapacity(now)
    if (mode === 'static') return { beta: staticBeta(available), available }
    if (mode === 'dynamic') {
      const historical = historicalSpend(ledger.closedWindows(now), staticBeta(available))
      return { beta: dynamicBeta(alpha, available, historical), available, historical }
    }
    const fraction = learning.adaptive.fraction(learning.features(now), health())
    return { beta: adaptiveBeta(fraction, available, adaptiveBounds.minFraction, adaptiveBounds.maxFraction), available, fraction }
  }

  const budget = (): BudgetView => {
    const now = clock.now()
    const b = betaAt(now)
    const { spent, reserved } = ledger.totals(now)
    return {
      mode,
      windowMs,
      atMs: now,
      beta: b.beta,
      available: b.available,
      ...(b.historical !== undefined ? { historical: b.historical } : {}),
      ...(b.fraction !== undefined ? { adaptiveFraction: b.fraction } : {}),
      spent,
      reserved,
      remaining: subCost(subCost(b.beta, spent), reserved),
      utilisation: utilisation(addCost(spent, reserved), b.beta),
      lambda,
      entries: ledger.entries(now)
    }
  }

  const contextFor = (req: PlanRequest, now: number): IncidentContext => {
    let ctx = incidents.get(req.incident.id)
    if (ctx === undefined) {
      ctx = {
        tried: new Set(),
        decisions: 0,
        component: req.incident.component,
        gamma: learning.features(now),
        health: health(),
        reservations: new Map()
      }
      learning.recordFailure(req.incident.component, req.incident.failureClass, now)
      incidents.set(req.incident.id, ctx)
      if (incidents.size > maxIncidents) incidents.delete(incidents.keys().next().value as string)
    }
    for (const a of req.attempted) ctx.tried.add(a)
    return ctx
  }

  const targetOf = (req: PlanRequest): string => {
    const top = req.diagnosis?.candidates[0]
    if (top !== undefined && top.confidence >= minConfidence && (top.node === undefined || top.node === req.incident.node)) return top.component
    return req.incident.component
  }

  const evaluate = (req: PlanRequest, ctx: IncidentContext, target: string, beta: CostVector, used: CostVector): { candidates: Candidate[], skipped: AlternativeAction[] } => {
    const failureClass = req.incident.failureClass
    const targetKind: TargetKind = req.incident.targetKind
    const candidates: Candidate[] = []
    const skipped: AlternativeAction[] = []
    for (const a of catalogue) {
      if (META.has(a.kind)) continue
      let reason = ctx.tried.has(a.kind) ? 'already tried for this incident' : inapplicable(a, { request: req, failureClass, targetKind, target })
      const v = reason === undefined ? learning.outcomes.view(failureClass, a.kind) : undefined
      if (v !== undefined && !worthTrying(v.successMean, v.ttrMeanMs, reward)) reason = `not worth trying: P(success) ${v.successMean.toFixed(2)} over ${v.n} outcomes does not pay for ~${(v.ttrMeanMs / 1000).toFixed(0)} s before a human`
      if (reason !== undefined) {
        skipped.push({ action: a.kind, expectedReward: 0, expectedCost: 0, admissible: false, why: reason })
        continue
      }
      const view = v!
      const upperCost = learning.outcomes.costUpper(failureClass, a.kind, shieldZ)
      const qRMean = expectedReward(view.successMean, view.ttrMeanMs, a.continuityLoss, reward)
      let qR = qRMean
      if (thompson) {
        const draw = learning.outcomes.sample(failureClass, a.kind, rng)
        qR = expectedReward(draw.success, draw.ttrMs, a.continuityLoss, reward)
      }
      const qC = expectedCost(utilisation(view.costMean, beta), a.risk, reward)
      const admissible = fits(used, upperCost, beta)
      const why = admissible
        ? `P(success) ${view.successMean.toFixed(2)} over ${view.n} outcomes, ~${(view.ttrMeanMs / 1000).toFixed(1)} s, risk ${a.risk}`
        : `shield: cost upper bound breaks the remaining budget in ${overflowing(used, upperCost, beta).join(', ')}`
      candidates.push({ a, qR, qRMean, qC, score: lagrangian(qR, qC, lambda), meanCost: view.costMean, upperCost, admissible, why })
    }
    return { candidates, skipped }
  }

  const alternativesOf = (cands: Candidate[], skipped: AlternativeAction[], chosen: ActionKind): AlternativeAction[] => [
    ...cands.filter((c) => c.a.kind !== chosen).map((c) => ({ action: c.a.kind, expectedReward: round(c.qRMean, 3), expectedCost: round(c.qC, 4), admissible: c.admissible, why: c.why })),
    ...skipped.filter((x) => x.action !== chosen)
  ]

  /** Capacity fraction at which `upper` would have fitted on top of `used` (what β would have had to be). */
  const neededFraction = (used: CostVector, upper: CostVector, available: CostVector): number => utilisation(addCost(used, upper), available)

  const finishMeta = (req: PlanRequest, ctx: IncidentContext, action: 'escalate' | 'quarantine' | 'none', target: string, reason: string, alternatives: AlternativeAction[], beta: CostVector, used: CostVector, extra: Record<string, unknown> = {}): PlannedAction => {
    ctx.decisions++
    s.decisions++
    if (action === 'escalate') { s.escalations++; learning.recordEscalation(clock.now()) }
    if (action === 'quarantine') s.quarantines++
    const plan: PlannedAction = { action, target, reason, requiresApproval: false, alternatives, budgetLeft: round(1 - utilisation(used, beta), 4) }
    audit.append('decision', { incidentId: req.incident.id, failureClass: req.incident.failureClass, ...plan, budget: { mode, beta: roundCost(beta), used: roundCost(used), lambda: round(lambda, 3) }, ...extra })
    return plan
  }

  const plan = async (req: PlanRequest): Promise<PlannedAction> => {
    const now = clock.now()
    const ctx = contextFor(req, now)
    const target = targetOf(req)
    const b = betaAt(now)
    const tot = ledger.totals(now)
    const used = addCost(tot.spent, tot.reserved)
    const loopWindowMs = PATTERN_DEFAULTS.crashLoopWindowMs
    const recent = learning.history.events().filter((e) => e.component === req.incident.component && e.atMs > now - loopWindowMs)
    const loop = findCrashLoops(recent, loopWindowMs, PATTERN_DEFAULTS.crashLoopMinFailures)[0]
    const stateData = {
      health: round(ctx.health, 4),
      context: context(),
      history: ctx.gamma,
      component: { failuresPerHour: round(learning.history.componentRatePerHour(req.incident.component, now), 3), crashLoop: loop !== undefined ? loop.count : 0 }
    }

    if (req.incident.status === 'recovered') {
      return finishMeta(req, ctx, 'none', target, 'incident already recovered; nothing to do', [], b.beta, used)
    }
    const { candidates, skipped } = evaluate(req, ctx, target, b.beta, used)
    const failedCount = [...ctx.tried].filter((a) => !META.has(a)).length
    const admissible = candidates.filter((c) => c.admissible)
    const masked = candidates.filter((c) => !c.admissible)
    s.shieldMasked += masked.length
    const bestOverall = [...candidates].sort((x, y) => y.qRMean - x.qRMean)[0]
    if (bestOverall !== undefined) {
      const need = neededFraction(used, bestOverall.upperCost, b.available)
      if (!bestOverall.admissible) ctx.blockedNeededFraction = need
      // Adaptive f learns the high quantile of the fraction that admits the reward-best action.
      if (mode === 'adaptive') learning.adaptive.learn(ctx.gamma, ctx.health, need * 1.1)
    }

    // A crash loop across incidents: every restart "worked" long enough to close its incident, yet the fault
    // survives them all. Quarantine (if possible and affordable) instead of restarting again; on its own node
    // a quarantined relocatable component moves elsewhere.
    // The micro loop's count (incidents since the component last ran healthy) when it gives one: faults
    // spaced by healthy runs are not a crash loop, however many fall in the window.
    const failuresInWindow = req.recentFailures ?? learning.history.events().filter((e) => e.kind === 'failure' && e.component === req.incident.component && e.atMs > now - crashLoopWindowMs).length
    if (failuresInWindow >= crashLoopMaxFailures && target === req.incident.component && RESTART_LOOP_CLASSES.has(req.incident.failureClass) &&
        !ctx.tried.has('quarantine') && req.available.includes('quarantine') && byKind.has('quarantine')) {
      const qUpper = learning.outcomes.costUpper(req.incident.failureClass, 'quarantine', shieldZ)
      if (fits(used, qUpper, b.beta)) {
        ctx.tried.add('quarantine')
        const id = reserve(req, ctx, 'quarantine', qUpper, now)
        return finishMeta(req, ctx, 'quarantine', target, `crash loop: ${failuresInWindow} incidents of ${target} ${req.recentFailures !== undefined ? 'since it last ran healthy' : `in ${Math.round(crashLoopWindowMs / 1000)} s`}, each restart only postponed the next; quarantine ${target} and ask a human`, alternativesOf(candidates, skipped, 'quarantine'), b.beta, addCost(used, qUpper), { reservation: id, state: stateData })
      }
    }

    // Exhausted: quarantine (if possible and affordable) and ask a human, never loop.
    if (failedCount >= maxAttempts || (candidates.length === 0 && failedCount > 0)) {
      const q = byKind.get('quarantine')
      const qUpper = learning.outcomes.costUpper(req.incident.failureClass, 'quarantine', shieldZ)
      const alts = alternativesOf(candidates, skipped, 'quarantine')
      if (q !== undefined && !ctx.tried.has('quarantine') && req.available.includes('quarantine') && fits(used, qUpper, b.beta)) {
        ctx.tried.add('quarantine')
        const id = reserve(req, ctx, 'quarantine', qUpper, now)
        return finishMeta(req, ctx, 'quarantine', target, `${failedCount} action(s) failed verification (${[...ctx.tried].filter((a) => a !== 'quarantine').join(', ')}); quarantine ${target} and ask a human`, alts, b.beta, addCost(used, qUpper), { reservation: id, state: stateData })
      }
      return finishMeta(req, ctx, 'escalate', target, `${failedCount} action(s) failed verification and quarantine is ${ctx.tried.has('quarantine') ? 'already done' : 'not possible within the budget'}; a human must look`, alts, b.beta, used, { state: stateData })
    }
    if (admissible.length === 0) {
      const why = candidates.length === 0 ? 'no catalogue action applies to this failure here' : `the shield masks all ${masked.length} applicable action(s): their cost upper bounds break the remaining budget`
      return finishMeta(req, ctx, 'escalate', target, `${why}; escalating without acting`, alternativesOf(candidates, skipped, 'escalate'), b.beta, used, { state: stateData })
    }

    admissible.sort((x, y) => y.score - x.score)
    let chosen = admissible[0]!
    let approval: ApprovalResolution | undefined
    let approvalId: string | undefined
    if (chosen.a.risk > riskThreshold && approvalMode === 'wait') {
      const reqInfo = { incidentId: req.incident.id, action: chosen.a.kind, target, risk: chosen.a.risk, reason: `${chosen.a.kind} on ${target}: ${chosen.why}` }
      const r = gate.request(reqInfo)
      approvalId = r.id
      audit.append('approval-requested', { approvalId: r.id, ...reqInfo })
      approval = await r.resolution
      audit.append(`approval-${approval.decision}`, { approvalId: r.id, incidentId: req.incident.id, action: chosen.a.kind, by: approval.by ?? null, reason: approval.reason ?? null })
      // Time passed while waiting: re-check the shield for whatever runs now.
      const now2 = clock.now()
      const tot2 = ledger.totals(now2)
      const used2 = addCost(tot2.spent, tot2.reserved)
      const beta2 = betaAt(now2).beta
      const stillFits = (c: Candidate): boolean => fits(used2, c.upperCost, beta2)
      if (approval.decision !== 'approved' || !stillFits(chosen)) {
        const safe = admissible
          .filter((c) => c.a.kind !== chosen.a.kind && c.a.risk <= riskThreshold && stillFits(c))
          .sort((x, y) => x.a.risk - y.a.risk || y.score - x.score)[0]
        const why = approval.decision === 'approved' ? 'approved, but the budget changed while waiting' : `${approval.decision}${approval.reason !== undefined ? ` (${approval.reason})` : ''}`
        if (safe === undefined) {
          return finishMeta(req, ctx, 'escalate', target, `${chosen.a.kind} ${why}; no safer admissible action; escalating without acting`, alternativesOf(candidates, skipped, 'escalate'), beta2, used2, { approvalId, state: stateData })
        }
        chosen = { ...safe, why: `${safe.why}; fallback: ${chosen.a.kind} ${why}` }
      }
    }
    const now3 = clock.now()
    const tot3 = ledger.totals(now3)
    const used3 = addCost(tot3.spent, tot3.reserved)
    const beta3 = betaAt(now3).beta
    const id = reserve(req, ctx, chosen.a.kind, chosen.upperCost, now3)
    ctx.decisions++
    s.decisions++
    const requiresApproval = approvalMode === 'flag' && chosen.a.risk > riskThreshold
    const plan: PlannedAction = {
      action: chosen.a.kind,
      target,
      reason: `${chosen.a.kind}: best admissible of ${admissible.length} (Q_R ${chosen.qRMean.toFixed(1)} s, Q_C ${chosen.qC.toFixed(3)}, λ ${lambda.toFixed(1)}); ${chosen.why}` +
        (approval?.decision === 'approved' && chosen.a.risk > riskThreshold ? `; approved by ${approval.by ?? 'operator'}` : ''),
      requiresApproval,
      alternatives: alternativesOf(candidates, skipped, chosen.a.kind),
      predictedCost: roundCost(chosen.upperCost),
      budgetLeft: round(1 - utilisation(addCost(used3, chosen.upperCost), beta3), 4)
    }
    audit.append('decision', {
      incidentId: req.incident.id,
      failureClass: req.incident.failureClass,
      ...plan,
      reservation: id,
      approvalId: approvalId ?? null,
      budget: { mode, beta: roundCost(beta3), used: roundCost(used3), lambda: round(lambda, 3) },
      state: stateData
    })
    return plan
  }

  const reserve = (req: PlanRequest, ctx: IncidentContext, action: ActionKind, cost: CostVector, now: number): string => {
    const id = `${req.incident.id}#${++reservationSeq}`
    ledger.reserve({ id, atMs: now, incidentId: req.incident.id, action, cost })
    ctx.reservations.set(action, id)
    return id
  }

  const record = (o: Outcome): void => {
    const now = clock.now()
    if (!isCostVector(o.cost) || !Number.isFinite(o.durationMs) || o.durationMs < 0) {
      s.rejectedOutcomes++
      audit.append('outcome-rejected', { incidentId: String(o.incidentId), action: String(o.action) })
      return
    }
    s.outcomes++
    const ctx = incidents.get(o.incidentId)
    if (ctx !== undefined) ctx.tried.add(o.action)
    const rid = ctx?.reservations.get(o.action) ?? ledger.findReservation(o.incidentId, o.action) ?? `${o.incidentId}#outcome-${++reservationSeq}`
    ledger.settle(rid, o.cost, now, o.incidentId, o.action)
    learning.recordOutcome(o)
    const b = betaAt(now)
    const tot = ledger.totals(now)
    const used = addCost(tot.spent, tot.reserved)
    lambda = dualAscent(lambda, utilisation(used, b.beta), dual)
    if (mode === 'adaptive' && ctx !== undefined && !o.success && ctx.blockedNeededFraction !== undefined) {
      // The shield kept the best action out and the cheaper one failed: that state needed more.
      learning.adaptive.learn(ctx.gamma, ctx.health, ctx.blockedNeededFraction * 1.1, 2)
    }
    audit.append('outcome', { incidentId: o.incidentId, action: o.action, success: o.success, durationMs: o.durationMs, cost: roundCost(o.cost), lambda: round(lambda, 3) })
    void learning.save()
  }

  return {
    plan,
    record,
    async start () {
      const l = await learning.load()
      const a = await audit.load()
      if (!a.ok) audit.append('audit-chain-broken', { problem: a.problem ?? 'unknown', detail: a.detail ?? '', badIndex: a.badIndex ?? -1 })
      return { learning: l, audit: a }
    },
    async stop () {
      gate.close()
      await audit.flush()
      await learning.save()
    },
    cancel (incidentId, action, reason) {
      const ctx = incidents.get(incidentId)
      const id = ctx?.reservations.get(action) ?? ledger.findReservation(incidentId, action)
      if (id === undefined || !ledger.release(id)) return false
      ctx?.reservations.delete(action)
      audit.append('cancelled', { incidentId, action, reservation: id, reason: reason ?? null })
      return true
    },
    approve: (id, by) => gate.approve(id, by),
    deny: (id, by, reason) => gate.deny(id, by, reason),
    pending: () => gate.pending(),
    budget,
    ledger,
    audit,
    learning,
    catalogue,
    state: () => ({ health: health(), context: context(), history: learning.features(clock.now()) }),
    lambda: () => lambda,
    stats: () => ({ ...s, providerErrors, approvals: gate.stats(), audit: audit.stats() })
  }
}
