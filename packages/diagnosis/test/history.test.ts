// The series history: fixed-step rows per component and metric, bounded, and
// the metric windows it builds for an incident.
import { strict as assert } from 'node:assert'
import { encode as encodeHlc } from '@homeostat/hlc'
import type { Anomaly, Incident } from '@homeostat/interface'
import { createSeriesHistory } from '../src/index.ts'

const T0 = 1_700_000_000_000
const anomaly = (component: string, atMs: number, metric: string): Anomaly =>
  ({ id: `${component}@${atMs}`, node: 'n0', component, metric, kind: 'probe', score: 1, value: 1, hlc: encodeHlc({ wallMs: atMs, logical: 0, node: 'n0' }), atMs })
const incident = (component: string, anomalies: Anomaly[]): Incident =>
  ({ id: 'inc-1', node: 'n0', component, targetKind: 'process', failureClass: 'unhealthy', status: 'open', openedAtMs: anomalies[0]?.atMs ?? T0, steps: [], anomalies })

describe('series history', () => {
  it('rows: the worst value of a row is kept, skipped rows are missing, the window ends now and the rows before it are normal', () => {
    const h = createSeriesHistory({ stepMs: 1000, points: 100, lookbackSteps: 2 })
    for (let i = 0; i < 50; i++) if (i !== 20) h.record('web', 'probe.latency_ms', T0 + i * 1000, 10)
    h.record('web', 'probe.latency_ms', T0 + 45_300, 400) // same row as 45_000: the worst stays
    h.record('db', 'probe.latency_ms', T0 + 45_000, 5)
    const m = h.metricsFor(incident('web', [anomaly('web', T0 + 45_000, 'probe.latency_ms')]), T0 + 49_000)!
    assert.equal(m.target!.metric, 'probe.latency_ms')
    const web = m.series.find((s) => s.component === 'web')!
    assert.deepEqual(web.values, [10, 10, 400, 10, 10, 10, 10], 'rows 43..49')
    assert.equal(web.normal!.length, 100 - 7)
    assert.equal(web.normal!.filter((v) => v == null).length, 100 - 7 - 42, 'rows never recorded and the skipped row 20 are missing')
    const db = m.series.find((s) => s.component === 'db')!
    assert.deepEqual(db.values, [null, 5, 5, null, null, null, null], 'another component\'s row also counts its next row (its probe may see a failure one period late)')
    assert.equal(m.minScale, 1, 'units of probe latency')
  })

  it('takes the component\'s most deviating metric when the incident\'s own metric is not in the history', () => {
    const h = createSeriesHistory({ points: 200 })
    for (let i = 0; i < 120; i++) {
      h.record('web', 'probe.latency_ms', T0 + i * 1000, 10 + (i % 2))
      h.record('web', 'probe.failed_pct', T0 + i * 1000, i >= 110 ? 100 : 0)
    }
    const m = h.metricsFor(incident('web', [anomaly('web', T0 + 110_000, 'process.exit')]), T0 + 119_000)!
    assert.equal(m.target!.metric, 'probe.failed_pct')
  })

  it('is bounded: series over maxSeries, values older than the ring and non-finite values are dropped and counted', () => {
    const h = createSeriesHistory({ maxSeries: 2, points: 10 })
    h.record('a', 'm', T0, 1)
    h.record('b', 'm', T0, 1)
    h.record('c', 'm', T0, 1)
    h.record('a', 'm', T0 + 20_000, 1)
    h.record('a', 'm', T0, 2) // 20 rows back: outside a 10-row ring
    h.record('a', 'm', T0 + 21_000, Number.NaN)
    assert.deepEqual(h.stats(), { series: 2, recorded: 3, dropped: 3 })
    assert.equal(h.metricsFor(incident('c', [anomaly('c', T0, 'm')]), T0), undefined, 'nothing held for c')
  })
})

describe('series history: the explained metric', () => {
  it('is the opening anomaly\'s, never one attached later (an observation on the side)', () => {
    const h = createSeriesHistory({ points: 200 })
    for (let i = 0; i < 120; i++) {
      h.record('web', 'proc.rss_mb', T0 + i * 1000, 50 + (i % 3))
      h.record('web', 'probe.failed_pct', T0 + i * 1000, i >= 115 ? 100 : 0)
    }
    const inc = incident('web', [anomaly('web', T0 + 115_000, 'probe.http'), { ...anomaly('web', T0 + 116_000, 'proc.rss_mb'), kind: 'metric' }])
    assert.equal(h.metricsFor(inc, T0 + 119_000)!.target!.metric, 'probe.failed_pct')
  })
})
