// The federated loop as a long-lived service the agent runs: an edge agent
// trains a round every `roundIntervalMs` (online or not); the cloud peer (or
// any agent, when the cloud is away) validates merged versions with the
// canary and compacts old history. Timers are injected; status is plain data
// for the API and dashboard.
import type { Timers } from '@homeostat/interface'
import type { Dataset } from './data.ts'
import { evaluate, PARAMETER_COUNT } from './model.ts'
import { createFederatedState, type FederatedState } from './state.ts'
import { createEdgeTrainer, type EdgeTrainer, type RoundReport } from './trainer.ts'
import { createCanary, type Canary, type CanaryDecision } from './canary.ts'
import type { CheckpointDir } from './checkpoint-file.ts'
import type { RejectReason } from './errors.ts'
import type { TrainingSignal } from './health.ts'
import type * as Y from 'yjs'
import type { Tunable } from './tunable.ts'

export const FEDERATED_SERVICE_DEFAULTS = {
  /** A local round every 10 s: a Pi trains 500 samples in well under a second. */
  roundIntervalMs: 10_000,
  /** The validator compacts every 10 rounds… */
  compactEveryRounds: 10,
  /** …keeping the last 5 rounds as contributions (late merges stay exact for them). */
  retainRounds: 5
} as const

/** The shared Timers shape (@homeostat/interface). */
export type ServiceTimers = Timers

export type FederatedEvent =
  | { type: 'round', report: RoundReport, accuracy?: number }
  | { type: 'signal', round: number, signals: TrainingSignal[], action: string }
  | { type: 'canary', decision: CanaryDecision }
  | { type: 'compacted', version: number }
  | { type: 'rejected', node: string, reason: RejectReason, detail: string }
  | { type: 'error', message: string }

export interface FederatedServiceInit {
  node: string
  /** Edge agents train; a validator (the cloud peer) runs the canary and compaction. Both may be true. */
  train: boolean
  validate: boolean
  doc: Y.Doc
  /** Encoded HLC for a local event. */
  stamp: () => string
  seed: number
  data?: Dataset
  reference?: Dataset
  /** Held-out set for the accuracy shown to people (defaults to `reference`). */
  test?: Dataset
  checkpoints?: CheckpointDir
  /** Whose checkpoints to adopt (the cloud peer's). Default: anyone's — set it wherever peers are not all trusted. */
  trustCheckpointAuthor?: (author: string) => boolean
  timers: ServiceTimers
  /** Physical clock, ms (for `lastRoundAtMs`). */
  now: () => number
  options?: Tunable<typeof FEDERATED_SERVICE_DEFAULTS> & { learningRate?: number, samplesPerRound?: number }
  onEvent?: (event: FederatedEvent) => void
}

export interface FederatedStatus {
  node: string
  training: boolean
  validating: boolean
  round: number
  modelVersion: number
  contributions: number
  checkpointVersion: number
  accuracy?: number
  learningRate?: number
  lastRoundAtMs?: number
  rejected: Partial<Record<RejectReason, number>>
  rejectedBySender: Record<string, number>
  quarantined: number
}

export interface FederatedService {
  readonly state: FederatedState
  start: () => void
  stop: () => void
  /** One training/validation step now (tests and the demo drive it directly). */
  step: () => Promise<void>
  status: () => FederatedStatus
}

export function createFederatedService (init: FederatedServiceInit): FederatedService {
  const o = { ...FEDERATED_SERVICE_DEFAULTS, ...init.options }
  const emit = (e: FederatedEvent): void => { init.onEvent?.(e) }
  const state = createFederatedState({
    doc: init.doc,
    self: init.node,
    ...(init.trustCheckpointAuthor !== undefined ? { trustCheckpointAuthor: init.trustCheckpointAuthor } : {}),
    parameterCount: PARAMETER_COUNT,
    onReject: (node, reason, detail) => emit({ type: 'rejected', node, reason, detail })
  })
  if (init.train && init.data === undefined) throw new TypeError('a training federated service needs data')
  if (init.validate && init.reference === undefined) throw new TypeError('a validating federated service needs a reference set')
  const trainer: EdgeTrainer | undefined = init.train
    ? createEdgeTrainer({
      node: init.node,
      state,
      data: init.data!,
      stamp: init.stamp,
      seed: init.seed,
      ...(init.options?.learningRate !== undefined ? { learningRate: init.options.learningRate } : {}),
      ...(init.options?.samplesPerRound !== undefined ? { samplesPerRound: init.options.samplesPerRound } : {}),
      ...(init.checkpoints !== undefined ? { checkpoints: init.checkpoints } : {}),
      onSignal: (round, signals, action) => emit({ type: 'signal', round, signals, action })
    })
    : undefined
  const canary: Canary | undefined = init.validate ? createCanary({ state, reference: init.reference! }) : undefined
  const testSet = init.test ?? init.reference
  let timer: unknown
  let running = false
  let busy = false
  let accuracy: number | undefined
  let accuracyForVersion = -2
  let lastRoundAtMs: number | undefined
  let steps = 0

  const currentAccuracy = (): number | undefined => {
    if (testSet === undefined) return undefined
    const m = state.model()
    if (m.version !== accuracyForVersion) { accuracy = evaluate(m.params, testSet).accuracy; accuracyForVersion = m.version }
    return accuracy
  }

  const step = async (): Promise<void> => {
    if (busy) return
    busy = true
    try {
      if (trainer !== undefined) {
        const report = await trainer.runRound()
        state.collectGarbage()
        lastRoundAtMs = init.now()
        emit({ type: 'round', report, ...(testSet !== undefined ? { accuracy: currentAccuracy()! } : {}) })
      }
      if (canary !== undefined) {
        const decision = canary.check()
        if (decision.verdict !== 'unchanged') emit({ type: 'canary', decision })
        steps++
        const version = state.model().version
        if (steps % o.compactEveryRounds === 0 && version - o.retainRounds > state.latestCheckpoint().version) {
          const cp = state.compact(version - o.retainRounds, init.stamp(), decision.accuracy)
          emit({ type: 'compacted', version: cp.version })
        }
      }
    } catch (err) {
      emit({ type: 'error', message: (err as Error).message })
    } finally {
      busy = false
    }
  }

  const schedule = (): void => {
    if (!running) return
    timer = init.timers.setTimeout(() => { void step().finally(schedule) }, o.roundIntervalMs)
  }

  return {
    state,
    start () { if (running) return; running = true; schedule() },
    stop () { running = false; if (timer !== undefined) init.timers.clearTimeout(timer); timer = undefined },
    step,
    status () {
      const s = state.stats()
      const m = state.model()
      const lr = trainer?.learningRate()
      const acc = currentAccuracy()
      return {
        node: init.node,
        training: trainer !== undefined,
        validating: canary !== undefined,
        round: trainer?.nextRound() ?? 0,
        modelVersion: m.version,
        contributions: s.contributions,
        checkpointVersion: state.latestCheckpoint().version,
        ...(acc !== undefined ? { accuracy: acc } : {}),
        ...(lr !== undefined ? { learningRate: lr } : {}),
        ...(lastRoundAtMs !== undefined ? { lastRoundAtMs } : {}),
        rejected: s.rejected,
        rejectedBySender: s.rejectedBySender,
        quarantined: s.quarantined
      }
    }
  }
}
