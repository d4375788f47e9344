import { strict as assert } from 'node:assert'
import * as Y from 'yjs'
import { createHlc, encode } from '@homeostat/hlc'
import { seededRandom } from '@homeostat/interface'
import {
  createEdgeTrainer, createFederatedState, createCanary, loadMnist, splitNonIid, evaluate, train,
  parameterCount, hiddenUnitsOf, initialParameters, mergeModel, decodeContribution, encodeContribution, PARAMETER_COUNT,
  EMPTY_FOLDED, foldedWith, foldedCount, type FederatedSplit
} from '@homeostat/federated'
import { contrib, put, vec, P } from './helpers.ts'

describe('federated: MLP workload and explicit splits', function () {
  this.timeout(60_000)
  let split: FederatedSplit
  before(() => { split = splitNonIid(loadMnist(), { nodes: 4, seed: 5, referenceSize: 500, testSize: 500 }) })

  it('the architecture is implied by the parameter count; unknown lengths are refused', () => {
    assert.equal(parameterCount(0), PARAMETER_COUNT)
    assert.equal(hiddenUnitsOf(PARAMETER_COUNT), 0)
    for (const h of [1, 16, 32, 128]) assert.equal(hiddenUnitsOf(parameterCount(h)), h)
    assert.throws(() => hiddenUnitsOf(PARAMETER_COUNT + 1), RangeError)
    assert.throws(() => parameterCount(-1), RangeError)
    assert.throws(() => evaluate(new Float32Array(100), split.test), RangeError)
  })

  it('a 784-32-10 MLP starts from a seeded, non-zero, identical initial model and learns', () => {
    const a = initialParameters(32, 9)
    assert.deepEqual(Buffer.from(a.buffer), Buffer.from(initialParameters(32, 9).buffer))
    assert.notDeepEqual(Buffer.from(a.buffer), Buffer.from(initialParameters(32, 10).buffer))
    const before = evaluate(a, split.test).accuracy
    const p = a.slice()
    const all = splitNonIid(loadMnist(), { nodes: 1, seed: 5, referenceSize: 500, testSize: 500 })
    const r = train(p, all.nodes[0]!, { learningRate: 0.1, batchSize: 16, samples: 3000, random: seededRandom(1) })
    assert.ok(Number.isFinite(r.loss))
    const after = evaluate(p, all.test).accuracy
    assert.ok(before < 0.3 && after > 0.8, `accuracy ${before} → ${after}`)
  })

  it('nodeClasses pins each node\'s dominant classes; a bad list is refused', () => {
    const nodeClasses = [[0, 1], [8, 9], [2, 3], [4, 5], [6, 7], [0, 9], [2, 4], [6, 8], [1, 3], [5, 7]]
    const s = splitNonIid(loadMnist(), { nodes: 10, seed: 1, nodeClasses, referenceSize: 100, testSize: 100 })
    assert.deepEqual(s.nodeClasses, nodeClasses)
    const share = (d: typeof s.nodes[0], cls: number[]) => { let k = 0; for (let i = 0; i < d.length; i++) if (cls.includes(d.y[i]!)) k++; return k / d.length }
    assert.ok(share(s.nodes[0]!, [0, 1]) > 0.75 && share(s.nodes[1]!, [8, 9]) > 0.75)
    assert.throws(() => splitNonIid(loadMnist(), { nodes: 2, seed: 1, nodeClasses: [[0, 11], [1]] }), RangeError)
    assert.throws(() => splitNonIid(loadMnist(), { nodes: 3, seed: 1, nodeClasses: [[0], [1]] }), RangeError)
  })

  it('a trainer given data by round trains on the round\'s data', async () => {
    const state = createFederatedState({ doc: new Y.Doc(), self: 'a', parameterCount: PARAMETER_COUNT })
    const hlc = createHlc({ nodeId: 'a', now: () => 1_700_000_000_000 })
    const seen: number[] = []
    const t = createEdgeTrainer({ node: 'a', state, data: (r) => { seen.push(r); return split.nodes[r % 2]! }, stamp: () => encode(hlc.now()), seed: 1, samplesPerRound: 50 })
    for (let r = 0; r < 3; r++) await t.runRound()
    assert.deepEqual(seen, [0, 1, 2])
  })
})

describe('federated: offline chains', () => {
  // Three live nodes push coordinates 0–31; a node cut off after round 0 pushes 32–63 for rounds 1–9.
  const live = (i: number) => (i < 32 ? 0.01 : 0)
  const away = (i: number) => (i >= 32 ? 0.01 : 0)
  const set = () => {
    const cs = []
    for (let r = 0; r < 10; r++) for (const n of ['a', 'b', 'c']) cs.push(decodeContribution(encodeContribution(contrib(n, r, vec(live))), P))
    for (let r = 1; r < 10; r++) cs.push(decodeContribution(encodeContribution(contrib('away', r, vec(away), { baseVersion: 0 })), P))
    return cs
  }
  const base = { version: -1, params: new Float32Array(P), folded: EMPTY_FOLDED }

  it('a chain trained against one base merges as one participant carrying its progress, not 1/k of it', () => {
    // The cloud checkpointed live rounds 0–5 while 'away' was cut off: its rounds 1–5 arrive late.
    const cs = set()
    const folded = new Set(cs.filter((c) => c.node !== 'away' && c.round <= 5).map((c) => c.id))
    const checkpointed = mergeModel(base, cs.filter((c) => folded.has(c.id)), new Set())
    const cp = { version: 5, params: checkpointed.params, folded: foldedWith(EMPTY_FOLDED, folded) }
    const chained = mergeModel(cp, cs, new Set())
    const averaged = mergeModel(cp, cs, new Set(), { offlineChains: 0 })
    // Same live progress either way…
    assert.ok(Math.abs(chained.params[0]! - averaged.params[0]!) < 0.02)
    // …but the offline node's work survives in the chained merge.
    assert.ok(chained.params[40]! > 2 * averaged.params[40]!, `${chained.params[40]} vs ${averaged.params[40]}`)
    // Nothing is dropped either way.
    assert.equal(chained.applied.length, 21)
    assert.equal(averaged.applied.length, 21)
  })

  it('compaction never splits a chain, so it does not change the model', () => {
    const doc = new Y.Doc()
    const state = createFederatedState({ doc, self: 'cloud', parameterCount: P })
    for (let r = 0; r < 10; r++) for (const n of ['a', 'b', 'c']) put(doc, contrib(n, r, vec(live)))
    for (let r = 1; r < 10; r++) put(doc, contrib('away', r, vec(away), { baseVersion: 0 }))
    const before = state.model().params.slice()
    const cp = state.compact(5, 'h')
    assert.equal(cp.folded.away, undefined)
    assert.equal(foldedCount(cp.folded), 18)
    assert.deepEqual(cp.folded.a, [[0, 5]], 'one run per node')
    assert.deepEqual(Buffer.from(state.model().params.buffer), Buffer.from(before.buffer))
    // Once the chain is complete before the checkpoint, it is folded.
    assert.deepEqual(state.compact(9, 'h2').folded.away, [[1, 9]])
  })

  it('chain merges are order-independent and a chain cannot exceed its clip', () => {
    const random = seededRandom(3)
    const a = mergeModel(base, set(), new Set())
    const shuffled = set().sort(() => random() - 0.5)
    assert.deepEqual(Buffer.from(mergeModel(base, shuffled, new Set()).params.buffer), Buffer.from(a.params.buffer))
    // A withheld "backlog" of 9 large-but-not-rejected updates moves the model no more than the chain clip allows.
    const cs = set().filter((c) => c.node !== 'away')
    for (let r = 1; r < 10; r++) cs.push(decodeContribution(encodeContribution(contrib('away', r, vec((i) => (i >= 32 ? 0.035 : 0)), { baseVersion: 0 })), P))
    const m = mergeModel(base, cs, new Set())
    let norm = 0
    for (let i = 32; i < P; i++) norm += m.params[i]! ** 2
    // reference = a live update's norm, 0.01·√32; chain clip 2 × reference × √9; one of 4 equally weighted participants.
    const bound = 2 * 0.01 * Math.sqrt(32) * 3 / 4
    assert.ok(Math.sqrt(norm) <= bound + 1e-6 && Math.sqrt(norm) > bound / 2, `norm ${Math.sqrt(norm)} vs bound ${bound}`)
  })
})

describe('federated: reference norm', () => {
  it('a rejected attacker does not move the reference the honest updates are clipped against', () => {
    const honest = [['a', 1], ['b', 1], ['c', 2.2], ['d', 2.2]] as const
    const cs = honest.map(([n, k]) => decodeContribution(encodeContribution(contrib(n, 0, vec((i) => (i % 2 === 0 ? 0.01 : -0.01) * k))), P))
    const attacker = decodeContribution(encodeContribution(contrib('evil', 0, vec(() => 1))), P)
    const base = { version: -1, params: new Float32Array(P), folded: EMPTY_FOLDED }
    const without = mergeModel(base, cs, new Set())
    const withAttacker = mergeModel(base, [...cs, attacker], new Set())
    assert.deepEqual(withAttacker.rejected.map((r) => r.id), ['evil/0'])
    assert.equal(withAttacker.rounds[0]!.referenceNorm, without.rounds[0]!.referenceNorm)
    assert.deepEqual(Buffer.from(withAttacker.params.buffer), Buffer.from(without.params.buffer))
  })
})

describe('federated: canary attribution', function () {
  this.timeout(60_000)
  let split: FederatedSplit
  before(() => { split = splitNonIid(loadMnist(), { nodes: 4, seed: 3, referenceSize: 500, testSize: 500 }) })

  const setup = () => {
    const doc = new Y.Doc()
    const view = (self: string) => createFederatedState({ doc, self, parameterCount: PARAMETER_COUNT })
    const state = view('cloud')
    const trainer = (i: number, extra: Partial<Parameters<typeof createEdgeTrainer>[0]> = {}) => {
      let t = 1_700_000_000_000
      const hlc = createHlc({ nodeId: `n${i}`, now: () => (t += 1000) })
      return createEdgeTrainer({ node: `n${i}`, state: view(`n${i}`), data: split.nodes[i]!, stamp: () => encode(hlc.now()), seed: i, samplesPerRound: 200, ...extra })
    }
    return { state, trainer }
  }
  const flip = (state: ReturnType<typeof createFederatedState>, k: number) => ({
    perturb: (_r: number, p: Float32Array) => { const base = state.model().params; for (let i = 0; i < p.length; i++) p[i] = base[i]! - k * (p[i]! - base[i]!) },
    health: { explodingNormFactor: Infinity, divergenceFactor: Infinity }
  })

  it('quarantines only the sender whose new work explains the drop; honest work is kept', async () => {
    const { state, trainer } = setup()
    const canary = createCanary({ state, reference: split.reference })
    const honest = [0, 1, 2, 3].map((i) => trainer(i))
    for (let r = 0; r < 4; r++) { for (const t of honest) await t.runRound(); canary.check() }
    // One sender turns harmful with a plausible norm (sign-flipped ×3, within the norm checks), the rest stay honest.
    const evil = trainer(3, flip(state, 3))
    for (let r = 0; r < 1; r++) { for (const t of honest.slice(0, 3)) await t.runRound(); await evil.runRound() }
    const d = canary.check()
    assert.equal(d.verdict, 'rolled_back')
    assert.deepEqual(d.culprits, ['n3'])
    assert.deepEqual(d.quarantined, ['n3/4'])
    assert.ok(state.model().applied.includes('n0/4'))
  })

  it('re-baselines after repeated unattributable drops instead of refusing every round forever', async () => {
    const { state, trainer } = setup()
    const canary = createCanary({ state, reference: split.reference, rebaselineAfterRollbacks: 2 })
    const honest = [0, 1, 2].map((i) => trainer(i))
    for (let r = 0; r < 4; r++) { for (const t of honest) await t.runRound(); canary.check() }
    // Every sender's work now lowers the reference accuracy: no single one explains it.
    const bad = [0, 1, 2].map((i) => trainer(i, flip(state, 3)))
    const verdicts: string[] = []
    for (let r = 0; r < 3; r++) { for (const t of bad) await t.runRound(); verdicts.push(canary.check().verdict) }
    assert.deepEqual(verdicts, ['rolled_back', 'rolled_back', 'rebaselined'])
  })
})
