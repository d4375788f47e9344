// An edge node's training loop. Each round trains the current merged model
// on local data and adds the delta as a contribution to the shared state —
// online or not: while cut off, the node keeps training against its own view
// and its contributions merge when it reconnects. Unhealthy rounds (NaN,
// divergence, exploding updates) back off the learning rate and recompute
// only that round; a base model that is itself not finite is replaced by the
// last good checkpoint (memory, then disk).
import { IMAGE_SIZE, type Dataset } from './data.ts'
import { evaluate, l2Norm, isFiniteVector, train } from './model.ts'
import { seededRandom, type Random } from '@homeostat/interface'
import { createContribution, type DeltaEncoding } from './contribution.ts'
import type { FederatedState } from './state.ts'
import { createCheckpoint, type ModelCheckpoint } from './checkpoint.ts'
import type { CheckpointDir } from './checkpoint-file.ts'
import { createLrController, createTrainingHealth, type TrainingSignal, TRAINING_HEALTH_DEFAULTS } from './health.ts'
import type { Tunable } from './tunable.ts'

export const TRAINER_DEFAULTS = {
  /** SGD step for softmax regression on [0,1] pixels: fast and stable on MNIST. */
  learningRate: 0.1,
  /** Small batches: a Pi-sized round, and enough noise to generalise. */
  batchSize: 16,
  /** Samples per local round (about half a pass over a node's ~900 digits). */
  samplesPerRound: 500,
  /** 8-bit deltas: ~0.25 of float32 on the wire. */
  encoding: 'q8' as DeltaEncoding,
  /** Recomputations of one unhealthy round before it is skipped (and reported). */
  maxRetriesPerRound: 4
} as const

export interface TrainerInit {
  node: string
  state: FederatedState
  /**
   * Local training data; a function gives the data held at a round (a node whose data arrives over time and
   * keeps only a recent window of it, as a camera or sensor would).
   */
  data: Dataset | ((round: number) => Dataset)
  /** Encoded HLC for a send event (the agent passes `encode(hlc.now())`). */
  stamp: () => string
  seed: number
  learningRate?: number
  batchSize?: number
  samplesPerRound?: number
  encoding?: DeltaEncoding
  maxRetriesPerRound?: number
  /** Local checkpoints (atomic files); the last good one is restored when the base model is bad. */
  checkpoints?: CheckpointDir
  health?: Tunable<typeof TRAINING_HEALTH_DEFAULTS>
  /** Fault injection for tests and the demo: a function that may corrupt the trained parameters of a round. */
  perturb?: (round: number, params: Float32Array) => void
  onSignal?: (round: number, signals: TrainingSignal[], action: string) => void
}

export interface RoundReport {
  round: number
  contributionId?: string
  loss: number
  learningRate: number
  signals: TrainingSignal[]
  /** Attempts needed (1 = healthy first time). */
  attempts: number
  restoredCheckpoint: boolean
}

export interface EdgeTrainer {
  /** Next local round number (resumes after the highest round of ours in the state). */
  nextRound: () => number
  runRound: () => Promise<RoundReport>
  learningRate: () => number
  stats: () => { rounds: number, recomputedRounds: number, skippedRounds: number, restoredCheckpoints: number }
}

export function createEdgeTrainer (init: TrainerInit): EdgeTrainer {
  const o = { ...TRAINER_DEFAULTS, ...stripUndefined(init) }
  const lr = createLrController(o.learningRate)
  const health = createTrainingHealth(init.health)
  const random: Random = seededRandom(init.seed)
  // A separate stream for probe samples, so health checks do not change what training sees.
  const probeRandom: Random = seededRandom((init.seed ^ 0x9e3779b9) >>> 0)
  const stats = { rounds: 0, recomputedRounds: 0, skippedRounds: 0, restoredCheckpoints: 0 }
  let lastGood: ModelCheckpoint | undefined

  // Resume: rounds already in the shared state are never recomputed.
  let round = 0
  for (const c of init.state.contributions()) if (c.node === init.node) round = Math.max(round, c.round + 1)

  const baseVersionOf = (): number => {
    let v = -1
    for (const c of init.state.contributions()) if (c.node !== init.node && c.round > v) v = c.round
    return Math.max(v, init.state.latestCheckpoint().version)
  }

  const restoreBase = async (): Promise<Float32Array | undefined> => {
    if (lastGood !== undefined) return lastGood.params.slice()
    const found = await init.checkpoints?.readLatest()
    if (found?.checkpoint !== undefined) { lastGood = found.checkpoint; return found.checkpoint.params.slice() }
    return undefined
  }

  return {
    nextRound: () => round,
    learningRate: () => lr.current(),
    stats: () => ({ ...stats }),
    async runRound () {
      const r = round
      const merged = init.state.model()
      let base = merged.params
      let restored = false
      if (!isFiniteVector(base)) {
        const fallback = await restoreBase()
        if (fallback === undefined) throw new Error('merged model is not finite and no checkpoint is available')
        base = fallback
        restored = true
        stats.restoredCheckpoints++
      }
      const allSignals: TrainingSignal[] = []
      // Divergence is judged on the round itself: the model after training against the model it started from,
      // on the same probe sample of local data. A jump in loss caused by the merged model changing (a node back
      // from a partition adopting the fleet's model) is not training divergence.
      const data = typeof init.data === 'function' ? init.data(r) : init.data
      const probe = probeSample(data, probeRandom)
      const baseLoss = evaluate(base, probe).loss
      for (let attempt = 1; attempt <= o.maxRetriesPerRound; attempt++) {
        const local = base.slice()
        const result = train(local, data, { learningRate: lr.current(), batchSize: o.batchSize, samples: o.samplesPerRound, random })
        init.perturb?.(r, local)
        const delta = new Float32Array(local.length)
        for (let i = 0; i < delta.length; i++) delta[i] = local[i]! - base[i]!
        const after = isFiniteVector(local) ? evaluate(local, probe).loss : NaN
        const signals = health.observe({ round: r, loss: after, baseLoss, updateNorm: l2Norm(delta) })
        const bad = signals.filter((s) => s !== 'stalled')
        allSignals.push(...signals)
        if (bad.length === 0) {
          const c = createContribution({ node: init.node, round: r, baseVersion: baseVersionOf(), values: delta, samples: result.samples, loss: result.loss, hlc: init.stamp(), encoding: o.encoding })
          init.state.add(c)
          lr.healthy()
          if (signals.length > 0) init.onSignal?.(r, signals, 'none')
          round = r + 1
          stats.rounds++
          if (attempt > 1) stats.recomputedRounds++
          lastGood = createCheckpoint({ version: r, params: local, hlc: c.hlc })
          if (init.checkpoints !== undefined) await init.checkpoints.write(lastGood)
          return { round: r, contributionId: c.id, loss: after, learningRate: lr.current(), signals: allSignals, attempts: attempt, restoredCheckpoint: restored }
        }
        // Unhealthy: back off and recompute this round only (the shared state never saw it).
        const newLr = lr.backoff()
        init.onSignal?.(r, bad, `learning rate → ${newLr.toPrecision(3)}, recompute round ${r}`)
      }
      stats.skippedRounds++
      round = r + 1
      return { round: r, loss: NaN, learningRate: lr.current(), signals: allSignals, attempts: o.maxRetriesPerRound, restoredCheckpoint: restored }
    }
  }
}

/** Probe sample for the round's before/after loss: 200 local digits (a few ms). */
function probeSample (data: Dataset, random: Random, size = 200): Dataset {
  if (data.length <= size) return data
  const start = Math.floor(random() * (data.length - size))
  return { x: data.x.subarray(start * IMAGE_SIZE, (start + size) * IMAGE_SIZE), y: data.y.subarray(start, start + size), length: size }
}

function stripUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
