// The watch's detector confirmation: a lone spike on a settled series is not
// reported; a deviation that persists is, once (rereportMs dedups). Injected
// time, seeded series (seed printed).
import assert from 'node:assert/strict'
import { createAnomalyWatch, type AnomalyReport } from '../src/index.ts'
import { seeded } from './seeded.ts'


describe('anomaly watch: detector confirmation', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000)
  before(() => { console.log(`    seed ${seed}`) })

  function run (tail: number[]): AnomalyReport[] {
    const random = seeded(seed)
    let t = 1_700_000_000_000
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, now: () => t })
    const reports: AnomalyReport[] = []
    w.on('report', (r) => reports.push(r))
    for (let i = 0; i < 400; i++) w.observe({ metric: 'thermal.soc_c', component: 'node', value: 50 + random(), atMs: (t += 1000) })
    assert.equal(reports.length, 0, 'normal samples report nothing')
    for (const v of tail) w.observe({ metric: 'thermal.soc_c', component: 'node', value: v, atMs: (t += 1000) })
    return reports
  }

  it('a lone spike is not reported', () => {
    assert.deepEqual(run([90, 50.5, 50.4, 50.6, 50.5, 50.3]).map((r) => r.value), [])
  })
  it('a persisting deviation is reported once, after at least 4 samples, marked as a detector report', () => {
    const reports = run([90, 91, 90, 92, 91, 93, 92])
    assert.equal(reports.length, 1)
    assert.equal(reports[0]!.failureClass, 'thermal')
    assert.equal(reports[0]!.targetKind, 'node')
    assert.equal(reports[0]!.data?.detector, true)
    assert.equal(run([90, 91, 90]).length, 0, 'three samples are not yet confirmed')
  })
})
