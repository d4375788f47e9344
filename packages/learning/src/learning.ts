// The learning subsystem as one object: outcome statistics, failure history
// Γ, the adaptive budget's f, pattern mining, priors export/import, and
// persistence of all of it through an injected JsonStore so a restarted agent
// keeps what it learned.
import { z } from 'zod'
import type { Outcome } from '@homeostat/interface'
import { formatIssues } from '@homeostat/interface'
import { type CellPrior, type OutcomeStats, type OutcomeStatsOptions, createOutcomeStats } from './outcome-stats.ts'
import { type FailureHistory, type FailureHistoryOptions, type HistoryFeatures, createFailureHistory } from './history.ts'
import { type AdaptiveBudget, type AdaptiveBudgetOptions, createAdaptiveBudget } from './adaptive-budget.ts'
import { type PatternOptions, type PatternReport, minePatterns } from './patterns.ts'
import { type ImportOptions, type PriorsDocument, exportPriors, importPriors, parsePriors } from './priors.ts'
import type { JsonStore } from './store.ts'

export const STATE_FORMAT = 'homeostat.learning.state'
export const STATE_VERSION = 1

const num = z.number().finite()
const ev = z.object({ w: num, mean: num, m2: num, max: num, n: z.number().int().nonnegative() }).strict()
const ng = z.object({ mu: num, kappa: num.positive(), alpha: num.positive(), beta: num.positive() }).strict()
const costOf = <T extends z.ZodType>(t: T) => z.object({ cpuSeconds: t, memoryMb: t, bandwidthKb: t, disruptionSeconds: t }).strict()
const decayed = z.object({ value: num, atMs: num }).strict()
const stateSchema = z.object({
  format: z.literal(STATE_FORMAT),
  version: z.literal(STATE_VERSION),
  savedAtMs: num,
  cells: z.array(z.object({
    failureClass: z.string().min(1).max(128),
    action: z.string().min(1).max(128),
    prior: z.object({ success: z.object({ a: num.positive(), b: num.positive() }).strict(), ttrMs: ng, cost: costOf(ng) }).strict(),
    priorSource: z.enum(['default', 'imported']),
    successW: num.nonnegative(),
    failureW: num.nonnegative(),
    ttrMs: ev,
    cost: costOf(ev),
    n: z.number().int().nonnegative(),
    lastAtMs: num
  }).strict()).max(4096),
  history: z.object({
    total: decayed,
    successes: decayed,
    failures: decayed,
    escalations: decayed,
    byClass: z.array(z.tuple([z.string(), decayed])).max(4096),
    byComponent: z.array(z.tuple([z.string(), decayed])).max(4096),
    events: z.array(z.object({ atMs: num, component: z.string(), label: z.string(), kind: z.enum(['failure', 'trigger']) }).strict()).max(100_000)
  }).strict(),
  adaptiveTheta: z.array(num).max(64)
}).strict()

export type LearningState = z.infer<typeof stateSchema>

export interface LearningOptions {
  defaultPrior: (failureClass: string, action: string) => CellPrior
  now: () => number
  store?: JsonStore
  /** Key under which the state is persisted. */
  storeKey?: string
  /** Node id written into exported priors. */
  source?: string
  outcomes?: Omit<OutcomeStatsOptions, 'defaultPrior'>
  history?: FailureHistoryOptions
  adaptive?: AdaptiveBudgetOptions
  patterns?: PatternOptions
}

export interface LoadResult {
  loaded: boolean
  /** Why a stored state was ignored (corrupt / wrong version); the learner then starts fresh. */
  error?: string
}

export interface Learning {
  readonly outcomes: OutcomeStats
  readonly history: FailureHistory
  readonly adaptive: AdaptiveBudget
  /** A verified (or failed) recovery: updates the (class, action) statistics and Γ. */
  recordOutcome: (outcome: Outcome) => void
  /** A new incident (failure) on a component. */
  recordFailure: (component: string, failureClass: string, atMs?: number) => void
  /** A potential trigger: deploy, config change, reboot… */
  recordTrigger: (component: string, label: string, atMs?: number) => void
  recordEscalation: (atMs?: number) => void
  features: (atMs?: number) => HistoryFeatures
  patterns: () => PatternReport
  exportPriors: () => PriorsDocument
  /** Validates (zod) and installs priors; throws ValidationError / LearningError on bad input, counted in stats. */
  importPriors: (doc: unknown, options?: ImportOptions) => number
  snapshot: () => LearningState
  load: () => Promise<LoadResult>
  /** Persists now (serialised with any save in flight). */
  save: () => Promise<void>
  stats: () => { saves: number, saveErrors: number, loadErrors: number, importErrors: number, observations: number }
}

export function createLearning (options: LearningOptions): Learning {
  const now = options.now
  const storeKey = options.storeKey ?? 'learning-state'
  const outcomes = createOutcomeStats({ defaultPrior: options.defaultPrior, ...options.outcomes })
  const history = createFailureHistory(options.history)
  const adaptive = createAdaptiveBudget(options.adaptive)
  let saves = 0
  let saveErrors = 0
  let loadErrors = 0
  let importErrors = 0
  let chain: Promise<void> = Promise.resolve()
  let requested = 0

  const snapshot = (): LearningState => ({
    format: STATE_FORMAT,
    version: STATE_VERSION,
    savedAtMs: now(),
    cells: outcomes.snapshot(),
    history: history.snapshot(),
    adaptiveTheta: adaptive.theta()
  })

  return {
    outcomes,
    history,
    adaptive,
    recordOutcome (o) {
      const at = now()
      outcomes.record(o, at)
      if (o.action !== 'escalate' && o.action !== 'none') {
        history.recordRecovery({ atMs: at, component: o.component, failureClass: o.failureClass, action: o.action, success: o.success })
      }
    },
    recordFailure: (component, failureClass, atMs) => history.recordFailure({ atMs: atMs ?? now(), component, label: failureClass }),
    recordTrigger: (component, label, atMs) => history.recordTrigger({ atMs: atMs ?? now(), component, label }),
    recordEscalation: (atMs) => history.recordEscalation(atMs ?? now()),
    features: (atMs) => history.features(atMs ?? now()),
    patterns: () => minePatterns(history.events(), options.patterns),
    exportPriors: () => exportPriors(outcomes, options.source ?? 'local', now()),
    importPriors (doc, o) {
      try {
        return importPriors(outcomes, parsePriors(doc), o)
      } catch (err) {
        importErrors++
        throw err
      }
    },
    snapshot,
    async load () {
      if (options.store === undefined) return { loaded: false }
      let raw: unknown
      try {
        raw = await options.store.get(storeKey)
      } catch (err) {
        loadErrors++
        return { loaded: false, error: `reading ${storeKey}: ${(err as Error).message}` }
      }
      if (raw === undefined) return { loaded: false }
      const r = stateSchema.safeParse(raw)
      if (!r.success) {
        loadErrors++
        return { loaded: false, error: `stored learning state is invalid: ${formatIssues(r.error).slice(0, 5).join('; ')}` }
      }
      outcomes.restore(r.data.cells)
      history.restore(r.data.history)
      adaptive.restore(r.data.adaptiveTheta)
      return { loaded: true }
    },
    save () {
      const store = options.store
      if (store === undefined) return Promise.resolve()
      // Saves coalesce: a queued save that a newer one supersedes writes nothing,
      // and the one that writes snapshots the state at write time.
      const ticket = ++requested
      chain = chain.then(async () => {
        if (ticket !== requested) return
        try {
          await store.put(storeKey, snapshot())
          saves++
        } catch {
          saveErrors++
        }
      })
      return chain
    },
    stats: () => ({ saves, saveErrors, loadErrors, importErrors, observations: outcomes.stats().observations })
  }
}
