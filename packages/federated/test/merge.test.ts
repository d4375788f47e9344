import { strict as assert } from 'node:assert'
import * as Y from 'yjs'
import { seededRandom, shuffle } from '@homeostat/interface'
import { createFederatedState, decodeContribution, encodeContribution, EMPTY_FOLDED, mergeModel } from '@homeostat/federated'
import { contrib, put, syncAll, vec, P } from './helpers.ts'

const seedFromEnv = Number(process.env.SEED ?? Date.now() % 100000)

describe('federated: deterministic, robust merge', () => {
  it('is a pure function of the set: any insertion order gives bit-identical parameters', () => {
    const random = seededRandom(7)
    const cs = []
    for (let r = 0; r < 6; r++) for (const n of ['a', 'b', 'c', 'd']) cs.push(decodeContribution(encodeContribution(contrib(n, r, vec((i) => random() - 0.5), { encoding: 'q8', baseVersion: Math.max(-1, r - 1 - (n === 'd' ? 3 : 0)) })), P))
    const base = { version: -1, params: new Float32Array(P), folded: EMPTY_FOLDED }
    const a = mergeModel(base, cs, new Set())
    for (let k = 0; k < 5; k++) {
      const b = mergeModel(base, shuffle([...cs], random), new Set())
      assert.deepEqual(Buffer.from(b.params.buffer), Buffer.from(a.params.buffer))
      assert.deepEqual(b.applied, a.applied)
    }
  })

  it('rejects an anomalous-norm contribution (sign-flipped ×10) and reports its sender', () => {
    const rejected: string[] = []
    const doc = new Y.Doc()
    const state = createFederatedState({ doc, self: 'observer', parameterCount: P, onReject: (node, reason) => rejected.push(`${node}:${reason}`) })
    for (const n of ['a', 'b', 'c', 'd']) put(doc, contrib(n, 0, vec([0.1, 0.2, -0.1])))
    put(doc, contrib('evil', 0, vec([-1, -2, 1])))
    const m = state.model()
    assert.ok(!m.applied.includes('evil/0'))
    assert.deepEqual(rejected, ['evil:norm'])
    assert.equal(state.stats().rejectedBySender.evil, 1)
    // The honest mean is unchanged by the attacker.
    assert.ok(Math.abs(m.params[0]! - 0.1) < 1e-6)
  })

  it('stores a corrupt contribution as refused, counted once, without breaking the model', () => {
    const doc = new Y.Doc()
    const rejected: string[] = []
    const state = createFederatedState({ doc, self: 'observer', parameterCount: P, onReject: (node, reason) => rejected.push(`${node}:${reason}`) })
    put(doc, contrib('a', 0, vec([0.1])))
    doc.getMap<Uint8Array>('contributions').set('mallory/0', new Uint8Array([9, 9, 9, 9, 9, 9]))
    assert.equal(state.model().applied.length, 1)
    state.model(); state.contributions()
    assert.deepEqual(rejected, ['mallory:decode'])
  })

  it('compaction folds history into a checkpoint without changing the model, and a newcomer catches up from it', () => {
    const random = seededRandom(11)
    const doc = new Y.Doc()
    const state = createFederatedState({ doc, self: 'cloud', parameterCount: P })
    for (let r = 0; r < 10; r++) for (const n of ['a', 'b', 'c']) put(doc, contrib(n, r, vec(() => (random() - 0.5) * 0.1)))
    const before = state.model().params.slice()
    const cp = state.compact(6, 'h', 0.9)
    assert.equal(cp.version, 6)
    assert.equal(doc.getMap('contributions').size, 30) // nobody deletes another's keys…
    for (const n of ['a', 'b', 'c']) createFederatedState({ doc, self: n, parameterCount: P }).collectGarbage()
    assert.equal(doc.getMap('contributions').size, 9) // …each owner removes its folded rounds; 7–9 retained
    assert.deepEqual(Buffer.from(state.model().params.buffer), Buffer.from(before.buffer))
    const late = new Y.Doc()
    syncAll([doc, late])
    const newcomer = createFederatedState({ doc: late, self: 'newcomer', parameterCount: P })
    assert.equal(newcomer.latestCheckpoint().version, 6)
    assert.deepEqual(Buffer.from(newcomer.model().params.buffer), Buffer.from(before.buffer))
  })

  it('a contribution trained before the checkpoint but never folded is merged late, not lost', () => {
    const doc = new Y.Doc()
    const state = createFederatedState({ doc, self: 'cloud', parameterCount: P })
    for (let r = 0; r < 5; r++) for (const n of ['a', 'b', 'c']) put(doc, contrib(n, r, vec([0.01])))
    state.compact(3, 'h')
    put(doc, contrib('offline', 2, vec([0.02]), { baseVersion: 0 }))
    const m = state.model()
    assert.ok(m.applied.includes('offline/2'))
  })

  it('an owner away for several compactions: its folded contributions are not counted again, and it deletes them on return', () => {
    const doc = new Y.Doc()
    const state = createFederatedState({ doc, self: 'cloud', parameterCount: P })
    for (let r = 0; r < 6; r++) for (const n of ['a', 'b', 'c']) put(doc, contrib(n, r, vec([0.01 * (r + 1)])))
    const before = state.model().params.slice()
    const gcBy = (nodes: string[]): void => { for (const n of nodes) createFederatedState({ doc, self: n, parameterCount: P }).collectGarbage() }
    // c is away: a and b delete what each checkpoint folds, c's contributions stay in the document.
    for (const v of [1, 3, 4]) {
      const cp = state.compact(v, `h${v}`)
      gcBy(['a', 'b'])
      assert.deepEqual(cp.folded.c, [[0, v]], `checkpoint ${v} names every folded contribution of c since the first`)
      assert.deepEqual(Buffer.from(state.model().params.buffer), Buffer.from(before.buffer), `the model is unchanged by checkpoint ${v}`)
    }
    assert.deepEqual([...doc.getMap('contributions').keys()].filter((k) => k.startsWith('c/')).sort(), ['c/0', 'c/1', 'c/2', 'c/3', 'c/4', 'c/5'])
    gcBy(['c']) // c returns
    assert.deepEqual([...doc.getMap('contributions').keys()].sort(), ['a/5', 'b/5', 'c/5'])
    assert.deepEqual(Buffer.from(state.model().params.buffer), Buffer.from(before.buffer))
    assert.ok(state.has('c/0') && state.has('c/5') && !state.has('c/6'))
  })

  it(`seeded random delivery, drops and disconnects: every replica converges bit-identically (seed ${seedFromEnv})`, () => {
    for (let run = 0; run < 10; run++) {
      const seed = seedFromEnv + run
      const random = seededRandom(seed)
      const n = 5
      const docs = Array.from({ length: n }, () => new Y.Doc())
      const states = docs.map((doc, i) => createFederatedState({ doc, self: `n${i}`, parameterCount: P }))
      const pending: Array<{ to: number, update: Uint8Array }> = []
      docs.forEach((doc, i) => doc.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === 'net') return
        for (let j = 0; j < n; j++) if (j !== i) pending.push({ to: j, update: u })
      }))
      const online = docs.map(() => true)
      for (let step = 0; step < 60; step++) {
        const i = Math.floor(random() * n)
        const op = random()
        if (op < 0.5) states[i]!.add(contrib(`n${i}`, step, vec(() => (random() - 0.5) * 0.1), { encoding: 'q8', t: 1_700_000_000_000 + step }))
        else if (op < 0.6) online[i] = !online[i]
        else if (op < 0.65 && i === 0) states[0]!.compact(step - 10, `c${step}`)
        else if (op < 0.7) states[i]!.collectGarbage()
        // deliver a random pending update (maybe dropped, maybe reordered)
        for (let k = 0; k < 3 && pending.length > 0; k++) {
          const [msg] = pending.splice(Math.floor(random() * pending.length), 1)
          if (!online[msg!.to] || random() < 0.2) continue // dropped
          Y.applyUpdate(docs[msg!.to]!, msg!.update, 'net')
        }
      }
      syncAll(docs) // partitions heal: state-vector catch-up
      for (const s of states) s.collectGarbage()
      syncAll(docs)
      const hashes = states.map((s) => Buffer.from(s.model().params.buffer).toString('hex'))
      assert.ok(hashes.every((h) => h === hashes[0]), `replicas differ; replay with SEED=${seed}`)
    }
  })
})
