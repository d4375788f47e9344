import { strict as assert } from 'node:assert'
import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { createHlc, encode } from '@homeostat/hlc'
import {
  createTrainingHealth, createLrController, createEdgeTrainer, createFederatedState, createCanary, checkpointDir,
  createCheckpoint, loadMnist, splitNonIid, evaluate, PARAMETER_COUNT, type FederatedSplit, type TrainingSignal
} from '@homeostat/federated'
import { syncAll, vec, P } from './helpers.ts'

describe('federated: training health', () => {
  const cases: Array<[string, Array<[number, number]>, TrainingSignal[]]> = [
    ['healthy descent', [[2.0, 1], [1.5, 1], [1.2, 1], [1.0, 1]], []],
    ['NaN loss', [[2.0, 1], [1.5, 1], [Number.NaN, 1]], ['non_finite']],
    ['Inf update norm', [[2.0, 1], [1.5, 1], [1.4, Infinity]], ['non_finite']],
    ['loss divergence', [[2.0, 1], [1.0, 1], [0.9, 1], [5.0, 1]], ['divergence']],
    ['exploding update', [[2.0, 1], [1.8, 1.1], [1.6, 0.9], [1.5, 1.0], [1.4, 20]], ['exploding_update']]
  ]
  for (const [name, rounds, want] of cases) {
    it(name, () => {
      const h = createTrainingHealth()
      let last: TrainingSignal[] = []
      rounds.forEach(([loss, updateNorm], round) => { last = h.observe({ round, loss, updateNorm }) })
      assert.deepEqual(last, want)
    })
  }

  it('a plateau is reported as stalled', () => {
    const h = createTrainingHealth({ stallRounds: 5 })
    let last: TrainingSignal[] = []
    for (let round = 0; round < 10; round++) last = h.observe({ round, loss: 1, updateNorm: 1 })
    assert.deepEqual(last, ['stalled'])
  })

  it('the learning-rate controller halves on trouble, floors, and recovers', () => {
    const lr = createLrController(0.1)
    assert.equal(lr.backoff(), 0.05)
    for (let i = 0; i < 20; i++) lr.backoff()
    assert.equal(lr.current(), 0.1 / 64)
    for (let i = 0; i < 100; i++) lr.healthy()
    assert.equal(lr.current(), 0.1)
  })
})

describe('federated: edge training on real MNIST', function () {
  this.timeout(60_000)
  let split: FederatedSplit
  before(() => { split = splitNonIid(loadMnist(), { nodes: 4, seed: 3, referenceSize: 500, testSize: 500 }) })

  const trainer = (node: string, state: ReturnType<typeof createFederatedState>, i: number, extra: Partial<Parameters<typeof createEdgeTrainer>[0]> = {}) => {
    let t = 1_700_000_000_000
    const hlc = createHlc({ nodeId: node, now: () => (t += 1000) })
    return createEdgeTrainer({ node, state, data: split.nodes[i]!, stamp: () => encode(hlc.now()), seed: i, samplesPerRound: 200, ...extra })
  }

  it('an unhealthy round backs off the learning rate and only that round is recomputed', async () => {
    const state = createFederatedState({ doc: new Y.Doc(), self: 'a', parameterCount: PARAMETER_COUNT })
    const signals: string[] = []
    let poisoned = false
    const t = trainer('a', state, 0, {
      perturb: (round, p) => { if (round === 3 && !poisoned) { poisoned = true; p[5] = Number.NaN } },
      onSignal: (round, s) => signals.push(`${round}:${s.join(',')}`)
    })
    const reports = []
    for (let r = 0; r < 6; r++) reports.push(await t.runRound())
    assert.deepEqual(reports.map((r) => r.attempts), [1, 1, 1, 2, 1, 1])
    assert.deepEqual(signals, ['3:non_finite'])
    assert.ok(reports[3]!.learningRate < 0.1)
    assert.deepEqual(t.stats(), { rounds: 6, recomputedRounds: 1, skippedRounds: 0, restoredCheckpoints: 0 })
    assert.equal(state.contributions().length, 6)
    // A restarted trainer resumes after the rounds already in the shared state: nothing recomputed.
    assert.equal(trainer('a', state, 0).nextRound(), 6)
  })

  it('keeps training while cut off; on reconnection nothing is lost and replicas are bit-identical', async () => {
    const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc(), new Y.Doc()]
    const states = docs.map((doc, i) => createFederatedState({ doc, self: `n${i}`, parameterCount: PARAMETER_COUNT }))
    const trainers = states.map((s, i) => trainer(`n${i}`, s, i))
    const offline: string[] = []
    for (let r = 0; r < 8; r++) {
      for (let i = 0; i < 4; i++) {
        const rep = await trainers[i]!.runRound()
        if (i === 0 && r >= 2 && r < 6) offline.push(rep.contributionId!)
      }
      if (r < 2 || r >= 6) syncAll(docs) // n0 is cut off for rounds 2–5
      else syncAll(docs.slice(1))
    }
    syncAll(docs)
    const applied = new Set(states[1]!.model().applied)
    assert.deepEqual(offline.filter((id) => !applied.has(id)), [])
    const hashes = states.map((s) => Buffer.from(s.model().params.buffer).toString('hex'))
    assert.ok(hashes.every((h) => h === hashes[0]))
    assert.ok(evaluate(states[0]!.model().params, split.test).accuracy > 0.6)
  })

  it('the canary rolls back a version that validates worse and quarantines its contributions', async () => {
    const doc = new Y.Doc()
    const view = (self: string) => createFederatedState({ doc, self, parameterCount: PARAMETER_COUNT })
    const state = view('cloud')
    const trainers = [0, 1, 2].map((i) => trainer(`n${i}`, view(`n${i}`), i))
    const canary = createCanary({ state, reference: split.reference })
    for (let r = 0; r < 4; r++) { for (const t of trainers) await t.runRound(); assert.notEqual(canary.check().verdict, 'rolled_back') }
    // A plausible-norm but harmful round: every trainer's update is sign-flipped (norm unchanged).
    const before = evaluate(state.model().params, split.reference).accuracy
    const harmful = [0, 1, 2].map((i) => trainer(`n${i}`, view(`n${i}`), i, { perturb: (_r, p) => { const base = state.model().params; for (let k = 0; k < p.length; k++) p[k] = base[k]! - 3 * (p[k]! - base[k]!) }, health: { explodingNormFactor: Infinity, divergenceFactor: Infinity } }))
    for (const t of harmful) await t.runRound()
    const d = canary.check()
    assert.equal(d.verdict, 'rolled_back')
    assert.equal(d.quarantined.length, 3)
    assert.ok(Math.abs(evaluate(state.model().params, split.reference).accuracy - before) < 1e-9)
  })
})

describe('federated: checkpoint files', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-ckpt-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes atomically, keeps a bounded history and falls back past a torn or corrupt file', async () => {
    const d = checkpointDir(dir, P, { keep: 3 })
    for (let v = 0; v < 5; v++) await d.write(createCheckpoint({ version: v, params: vec([v / 10]), hlc: 'h' }))
    assert.equal((await d.list()).length, 3)
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), [])
    const files = await d.list()
    await truncate(join(dir, files[2]!), 50) // torn write of the newest
    const bytes = (await import('node:fs')).readFileSync(join(dir, files[1]!)); bytes[bytes.length - 1] ^= 0xff
    await writeFile(join(dir, files[1]!), bytes) // bit rot in the next
    const got = await d.readLatest()
    assert.equal(got.checkpoint?.version, 2)
    assert.deepEqual(got.skipped.map((s) => s.code), ['FED_CHECKPOINT_CORRUPT', 'FED_CHECKPOINT_CORRUPT'])
  })

  it('skips a checkpoint outside the learned parameter bounds', async () => {
    const d = checkpointDir(dir, P)
    await d.write(createCheckpoint({ version: 0, params: vec([0.1]), hlc: 'h' }))
    await d.write(createCheckpoint({ version: 1, params: vec([50]), hlc: 'h' }))
    const got = await d.readLatest({ maxAbs: 1, maxNorm: 10 })
    assert.equal(got.checkpoint?.version, 0)
    assert.deepEqual(got.skipped.map((s) => s.code), ['FED_CHECKPOINT_INVALID'])
  })
})
