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

describe('anomaly watch: onset is the first failing observation; detector reports never act alone', () => {
  const supervisorWith = (limits: Record<string, unknown>) => ({ info: () => ({ pid: 4242, spec: { limits } }), signal: () => false }) as never

  it('a detector report is observation-only and its onset is the first confirming sample', () => {
    let t = 1_700_000_000_000
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, now: () => t })
    const reports: AnomalyReport[] = []
    w.on('report', (r) => reports.push(r))
    for (let i = 0; i < 400; i++) w.observe({ metric: 'app.latency_ms', component: 'web', value: 20 + (i % 3), atMs: (t += 1000) })
    const firstBad = t + 1000
    for (const v of [200, 210, 205, 220, 215]) w.observe({ metric: 'app.latency_ms', component: 'web', value: v, atMs: (t += 1000) })
    assert.equal(reports.length, 1)
    assert.equal(reports[0]!.observationOnly, true)
    assert.match(reports[0]!.observationWhy!, /a metric anomaly alone/)
    assert.equal(reports[0]!.onsetMs, firstBad, 'onset: the first sample that reached the threshold, not the report')
  })

  it('CPU over its limit: class cpu_limit, onset at the first sample over the limit (not the report)', () => {
    let t = 1_700_000_000_000
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, supervisor: supervisorWith({ cpu: 0.5 }), now: () => t })
    const reports: AnomalyReport[] = []
    w.on('report', (r) => reports.push(r))
    w.observe({ metric: 'proc.cpu_pct', component: 'hog', value: 20, atMs: (t += 1000) })
    const first = t + 1000
    for (let i = 0; i < 3; i++) w.observe({ metric: 'proc.cpu_pct', component: 'hog', value: 99, atMs: (t += 1000) })
    assert.equal(reports.length, 1)
    assert.equal(reports[0]!.failureClass, 'cpu_limit')
    assert.equal(reports[0]!.onsetMs, first)
    assert.notEqual(reports[0]!.observationOnly, true, 'a crossed limit acts')
  })

  it('a directory filling towards its limit: onset when the condition was first met, not the first trend point', () => {
    let t = 1_700_000_000_000
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, supervisor: supervisorWith({ disk: { path: '/data', limitMb: 1000 } }), now: () => t })
    const reports: AnomalyReport[] = []
    w.on('report', (r) => reports.push(r))
    const trendStart = t + 1000
    // Flat for two minutes (no forecast), then growing 5 MB/s: full in ~3 min, inside the 10 min horizon.
    for (let i = 0; i < 120; i++) w.observe({ metric: 'dir.used_mb', component: 'writer', value: 100, atMs: (t += 1000) })
    let mb = 100
    let firstMet: number | undefined
    for (let i = 0; i < 60 && reports.length === 0; i++) {
      mb += 5
      w.observe({ metric: 'dir.used_mb', component: 'writer', value: mb, atMs: (t += 1000) })
      if (reports.length > 0) firstMet = t
    }
    assert.equal(reports.length, 1)
    assert.equal(reports[0]!.failureClass, 'disk_fill')
    assert.equal(reports[0]!.onsetMs, firstMet, 'the sample at which the forecast first fell inside the horizon')
    assert.ok(reports[0]!.onsetMs! - trendStart > 100_000, 'not the start of the trend window')
  })
})
