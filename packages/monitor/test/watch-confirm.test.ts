// The watch's detector alarm (detect/alarm.ts, the configuration bench/nab
// scores): a deviation on a settled series is reported once per event, as an
// observation that never acts alone; an event that persists is not reported
// again; after the series was quiet for `rearmSamples` a new deviation is.
// Injected time, seeded series (seed printed).
import assert from 'node:assert/strict'
import { createAnomalyWatch, WATCH_DEFAULTS, type AnomalyReport } from '../src/index.ts'
import { seeded } from './seeded.ts'


describe('anomaly watch: one report per event', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000)
  before(() => { console.log(`    seed ${seed}`) })

  function run (tail: number[], opts: Record<string, number> = {}): AnomalyReport[] {
    const random = seeded(seed)
    let t = 1_700_000_000_000
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, now: () => t, rereportMs: 0, ...opts })
    const reports: AnomalyReport[] = []
    w.on('report', (r) => reports.push(r))
    for (let i = 0; i < 400; i++) w.observe({ metric: 'thermal.soc_c', component: 'node', value: 50 + random(), atMs: (t += 1000) })
    assert.equal(reports.length, 0, 'normal samples report nothing')
    for (const v of tail) w.observe({ metric: 'thermal.soc_c', component: 'node', value: v, atMs: (t += 1000) })
    return reports
  }
  const normal = (n: number): number[] => Array.from({ length: n }, (_, i) => 50.3 + (i % 3) * 0.1)

  it('a deviation is reported at once, marked as a detector observation of the node', () => {
    const reports = run([90, ...normal(5)])
    assert.equal(reports.length, 1)
    assert.equal(reports[0]!.failureClass, 'thermal')
    assert.equal(reports[0]!.targetKind, 'node')
    assert.equal(reports[0]!.observationOnly, true)
    assert.equal(reports[0]!.data?.detector, true)
  })
  it('a deviation that persists is one event: reported once', () => {
    assert.equal(run([90, 91, 90, 92, 91, 93, 92, 91, 90, 92]).length, 1)
  })
  it('after the series was quiet for rearmSamples, a new deviation is reported again', () => {
    const gap = WATCH_DEFAULTS.detectorRearmSamples
    assert.equal(run([90, ...normal(gap + 20), 20, ...normal(3)]).length, 2)
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
