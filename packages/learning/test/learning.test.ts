import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'mocha'
import type { Outcome } from '@homeostat/interface'
import { type CellPrior, createFileJsonStore, createLearning, createMemoryJsonStore, normalGammaFromGuess, parsePriors } from '@homeostat/learning'

const prior = (): CellPrior => {
  const g = (x: number) => normalGammaFromGuess(x, x / 2 + 0.01, 1)
  return { success: { a: 1, b: 1 }, ttrMs: g(5000), cost: { cpuSeconds: g(2), memoryMb: g(50), bandwidthKb: g(0), disruptionSeconds: g(5) } }
}
const outcome = (success: boolean, action: Outcome['action'] = 'restart', i = 0): Outcome => ({
  incidentId: `i${i}`, node: 'n1', component: 'api', failureClass: 'crash', action, success, durationMs: 4000 + i,
  cost: { cpuSeconds: 2, memoryMb: 40, bandwidthKb: 0, disruptionSeconds: 4 }, hlc: '000000000000001-000000-n1'
})

describe('learning (outcome statistics, priors, persistence)', () => {
  it('Thompson draws and means follow the evidence', () => {
    let t = 0
    const l = createLearning({ defaultPrior: prior, now: () => t })
    for (let i = 0; i < 40; i++) { t += 1000; l.recordOutcome(outcome(i % 10 !== 0, 'restart', i)) }
    for (let i = 0; i < 40; i++) { t += 1000; l.recordOutcome(outcome(i % 10 === 0, 'kill', i)) }
    const r = l.outcomes.view('crash', 'restart')
    const k = l.outcomes.view('crash', 'kill')
    assert.equal(r.n, 40)
    assert.ok(r.successMean > 0.8 && k.successMean < 0.2)
    assert.ok(l.outcomes.costUpper('crash', 'restart', 2.33).cpuSeconds >= 2)
  })

  it('rejects non-finite outcomes and counts them', () => {
    const l = createLearning({ defaultPrior: prior, now: () => 0 })
    l.recordOutcome({ ...outcome(true), durationMs: Number.NaN })
    l.recordOutcome({ ...outcome(true), cost: { cpuSeconds: -1, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 } })
    assert.equal(l.outcomes.stats().rejected, 2)
    assert.equal(l.outcomes.stats().observations, 0)
  })

  it('exports priors that another node imports (weakened) and validates hostile documents', () => {
    const a = createLearning({ defaultPrior: prior, now: () => 1, source: 'node-a' })
    for (let i = 0; i < 30; i++) a.recordOutcome(outcome(true, 'restart', i))
    const doc = JSON.parse(JSON.stringify(a.exportPriors()))
    assert.equal(parsePriors(JSON.stringify(doc)).entries.length, 1)
    const b = createLearning({ defaultPrior: prior, now: () => 1 })
    assert.equal(b.importPriors(doc, { weight: 0.5 }), 1)
    const v = b.outcomes.view('crash', 'restart')
    assert.equal(v.priorSource, 'imported')
    assert.equal(v.n, 0)
    assert.ok(v.successMean > 0.9)
    for (const bad of [{ ...doc, version: 2 }, { ...doc, entries: [{ ...doc.entries[0], success: { a: -1, b: 1 } }] }, { ...doc, extra: 1 }, 'not json']) {
      assert.throws(() => b.importPriors(bad), (e: unknown) => ['ERR_VALIDATION', 'ERR_BAD_PRIORS'].includes((e as { code: string }).code))
    }
    assert.equal(b.stats().importErrors, 4)
  })

  it('survives a restart through a real file store; a corrupt file starts fresh without crashing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'homeostat-learning-'))
    try {
      const store = createFileJsonStore(dir)
      const a = createLearning({ defaultPrior: prior, now: () => 5000, store })
      for (let i = 0; i < 12; i++) a.recordOutcome(outcome(i > 2, 'restart', i))
      a.recordFailure('api', 'crash')
      a.adaptive.learn(a.features(), 1, 0.3)
      await a.save()
      const b = createLearning({ defaultPrior: prior, now: () => 6000, store })
      assert.deepEqual(await b.load(), { loaded: true })
      assert.deepEqual(b.outcomes.view('crash', 'restart'), a.outcomes.view('crash', 'restart'))
      assert.deepEqual(b.adaptive.theta(), a.adaptive.theta())
      assert.equal(b.history.events().length, 1)
      await writeFile(join(dir, 'learning-state.json'), '{"format":"homeostat.learning.state","version":1,"cells":"oops"}')
      const c = createLearning({ defaultPrior: prior, now: () => 0, store })
      const r = await c.load()
      assert.equal(r.loaded, false)
      assert.match(r.error ?? '', /invalid/)
      assert.equal(c.stats().loadErrors, 1)
      await writeFile(join(dir, 'learning-state.json'), '{truncated')
      const d = createLearning({ defaultPrior: prior, now: () => 0, store })
      assert.equal((await d.load()).loaded, false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a memory store works the same way', async () => {
    const store = createMemoryJsonStore()
    const a = createLearning({ defaultPrior: prior, now: () => 0, store })
    a.recordOutcome(outcome(true))
    await a.save()
    const b = createLearning({ defaultPrior: prior, now: () => 0, store })
    assert.equal((await b.load()).loaded, true)
    assert.equal(b.outcomes.view('crash', 'restart').n, 1)
  })
})

describe('learning persistence under load', () => {
  it('coalesces a burst of saves into few writes that hold the latest state', async () => {
    const store = createMemoryJsonStore()
    let puts = 0
    const counting = { get: store.get, put: async (k: string, v: unknown) => { puts++; await new Promise((r) => setTimeout(r, 5)); await store.put(k, v) } }
    const a = createLearning({ defaultPrior: prior, now: () => 0, store: counting })
    const saves: Array<Promise<void>> = []
    for (let i = 0; i < 50; i++) { a.recordOutcome(outcome(true, 'restart', i)); saves.push(a.save()) }
    await Promise.all(saves)
    assert.ok(puts <= 2, `${puts} writes for 50 saves`)
    const b = createLearning({ defaultPrior: prior, now: () => 0, store })
    await b.load()
    assert.equal(b.outcomes.view('crash', 'restart').n, 50)
  })
})

describe('learning limits', () => {
  it('caps (class, action) cells: extra outcomes are counted as rejected, not thrown', () => {
    const l = createLearning({ defaultPrior: prior, now: () => 0, outcomes: { maxCells: 3 } })
    for (let i = 0; i < 10; i++) l.recordOutcome({ ...outcome(true), failureClass: `class${i}` })
    assert.equal(l.outcomes.stats().cells, 3)
    assert.equal(l.outcomes.stats().rejected, 7)
  })
})
