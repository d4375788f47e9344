import { strict as assert } from 'node:assert'
import { encode as encodeHlc } from '@homeostat/hlc'
import type { Anomaly, Incident } from '@homeostat/interface'
import { declaredGraph, diagnose, diagnoseDetailed, suggestProbes } from '../src/index.ts'
import { diagnosisSchemaCheck } from './schema.ts'

const T0 = 1_700_000_000_000
const hlc = (wallMs: number, node = 'n0'): string => encodeHlc({ wallMs, logical: 0, node })
const anomaly = (component: string, wallMs: number, node = 'n0', score = 0.9, metric = 'latency'): Anomaly =>
  ({ id: `${component}@${wallMs}`, node, component, metric, kind: 'metric', score, value: 1, hlc: hlc(wallMs, node), atMs: wallMs })
const incident = (component: string, anomalies: Anomaly[]): Incident =>
  ({ id: 'inc-1', node: 'n0', component, targetKind: 'service', failureClass: 'latency', status: 'open', openedAtMs: T0, steps: [], anomalies })

const graph = declaredGraph([
  { name: 'gateway', dependsOn: ['inference', 'auth'] },
  { name: 'inference', dependsOn: ['gpu', 'model-store'] },
  { name: 'auth' }
])

describe('diagnose', () => {
  it('ranks from anomalies across nodes by HLC order: the dependency that went wrong first is the root', () => {
    const d = diagnose({
      incident: incident('gateway', [anomaly('gateway', T0 + 2000, 'edge')]),
      anomalies: [anomaly('inference', T0 + 1000, 'jetson'), anomaly('gpu', T0 + 500, 'jetson', 0.8), anomaly('auth', T0 + 3000, 'cloud', 0.4)],
      graph,
      hlc: hlc(T0 + 5000)
    })
    diagnosisSchemaCheck(d)
    assert.equal(d.candidates[0].component, 'gpu')
    assert.equal(d.candidates[0].node, 'jetson')
    assert.ok(d.candidates[0].confidence > d.candidates[1].confidence)
    assert.match(d.candidates[0].explanation, /gpu/)
    assert.ok(d.candidates[0].evidence.some((e) => /explains 3\/4/.test(e)), JSON.stringify(d.candidates[0].evidence))
    const auth = d.candidates.find((c) => c.component === 'auth')
    assert.ok(auth != null && auth.score < d.candidates[0].score)
  })

  it('uses metric windows when given (counterfactual attribution) and names the evidence', () => {
    const d = diagnose({
      incident: incident('gateway', [anomaly('gateway', T0 + 120_000)]),
      graph,
      hlc: hlc(T0 + 300_000),
      metrics: {
        series: [
          { component: 'gateway', metric: 'latency', values: [0.20, 0.21, 0.45, 0.44, 0.20], load: [100, 100, 100, 100, 100] },
          { component: 'inference', metric: 'latency', values: [0.15, 0.15, 0.40, 0.39, 0.15], load: [100, 100, 100, 100, 100] },
          { component: 'gpu', metric: 'latency', values: [0.10, 0.10, 0.35, 0.34, 0.10], load: [100, 100, 100, 100, 100] },
          { component: 'model-store', metric: 'latency', values: [0.02, 0.02, 0.02, 0.021, 0.02], load: [5, 5, 5, 5, 5] },
          { component: 'auth', metric: 'latency', values: [0.01, 0.01, 0.011, 0.01, 0.01], load: [100, 100, 100, 100, 100] }
        ],
        minScale: 0.001
      }
    })
    diagnosisSchemaCheck(d)
    assert.equal(d.candidates[0].component, 'gpu')
    assert.ok(d.candidates[0].confidence > 0.5, String(d.candidates[0].confidence))
    assert.ok(d.candidates[0].evidence.some((e) => /share of gateway latency excess/.test(e)))
    assert.match(d.explanation, /most likely root cause of gateway: gpu/)
    // inference is a pass-through: its dependency gpu explains it.
    const inf = d.candidates.find((c) => c.component === 'inference')
    assert.ok(inf != null && inf.score < 0.2)
  })

  it('says "no clear cause" when the target\'s metric is within its noise, rather than name a component', () => {
    const flat = (x: number): number[] => [x, x * 1.01, x * 0.99, x, x * 1.01]
    const normal = (x: number): number[] => Array.from({ length: 60 }, (_, i) => x * (1 + 0.02 * Math.sin(i)))
    const d = diagnose({
      incident: incident('gateway', [anomaly('gateway', T0 + 120_000)]),
      graph,
      hlc: hlc(T0 + 300_000),
      metrics: {
        series: [
          { component: 'gateway', metric: 'latency', values: flat(0.2), normal: normal(0.2) },
          { component: 'inference', metric: 'latency', values: flat(0.15), normal: normal(0.15) },
          { component: 'gpu', metric: 'latency', values: flat(0.1), normal: normal(0.1) }
        ],
        minScale: 0.001
      }
    })
    diagnosisSchemaCheck(d)
    assert.equal(d.candidates.length, 0)
    assert.match(d.explanation, /no clear cause for gateway/)
    assert.match(d.explanation, /gateway latency deviates z=.*under 3/)
  })

  it('falls back to the anomaly ranking when the metric windows are unusable, and says so', () => {
    const d = diagnose({
      incident: incident('gateway', [anomaly('gateway', T0 + 2000, 'edge')]),
      anomalies: [anomaly('gpu', T0 + 500, 'jetson', 0.8)],
      graph,
      hlc: hlc(T0 + 5000),
      metrics: { series: [{ component: 'gpu', metric: 'latency', values: [1, 2, 3] }] }
    })
    assert.equal(d.candidates[0]?.component, 'gpu')
    assert.match(d.explanation, /metric windows unusable \(no latency series for target gateway\): ranked from anomalies/)
  })

  it('ignores and counts malformed anomaly records; rejects a bad diagnosis stamp and oversized input', () => {
    const bad = { ...anomaly('auth', T0), hlc: 'not-an-hlc-at-all-000000' }
    const worse = { ...anomaly('gpu', T0), score: 7 }
    const r = diagnoseDetailed({ incident: incident('gateway', [anomaly('gateway', T0 + 10)]), anomalies: [bad, worse as Anomaly], graph, hlc: hlc(T0 + 20) })
    assert.equal(r.malformedAnomalies, 2)
    assert.match(r.diagnosis.explanation, /2 malformed anomaly records ignored/)
    assert.throws(() => diagnose({ incident: incident('gateway', []), graph, hlc: 'nope' }), { code: 'ERR_DIAGNOSIS_INPUT' })
    const many = Array.from({ length: 2000 }, (_, i) => anomaly('gpu', T0 + i))
    assert.throws(() => diagnose({ incident: incident('gateway', []), anomalies: many, graph, hlc: hlc(T0) }), { code: 'ERR_DIAGNOSIS_INPUT' })
  })

  it('says so when every anomaly is a recovery blip', () => {
    const d = diagnose({
      incident: incident('gateway', [anomaly('gateway', T0 + 2000)]),
      anomalies: [anomaly('inference', T0 + 1000, 'jetson')],
      recoveries: [{ component: 'inference', node: 'jetson', action: 'restart', startedHlc: hlc(T0, 'jetson') }],
      graph,
      hlc: hlc(T0 + 3000)
    })
    diagnosisSchemaCheck(d)
    assert.equal(d.candidates.length, 0)
    assert.equal(d.attributedToRecovery.length, 2)
    assert.match(d.explanation, /explained by recovery in progress/)
  })
  it('interventional evidence: suggests probing ambiguous suspects and re-ranks on the results', () => {
    const base = {
      incident: incident('inference', [anomaly('inference', T0 + 2000, 'jetson')]),
      anomalies: [anomaly('gpu', T0 + 1000, 'jetson', 0.8), anomaly('model-store', T0 + 1000, 'nas', 0.8)],
      graph,
      hlc: hlc(T0 + 5000)
    }
    const before = diagnose(base)
    const suspects = suggestProbes(before)
    assert.ok(suspects.includes('gpu') && suspects.includes('model-store'), JSON.stringify(before.candidates.map((c) => [c.component, c.confidence])))
    const after = diagnose({ ...base, interventions: [
      { component: 'gpu', healthy: true, hlc: hlc(T0 + 4000, 'jetson'), detail: 'CUDA matmul ok in 3 ms' },
      { component: 'model-store', healthy: false, hlc: hlc(T0 + 4000, 'nas'), detail: 'GET /models timed out' }
    ] })
    diagnosisSchemaCheck(after)
    assert.equal(after.candidates[0].component, 'model-store')
    assert.ok(after.candidates[0].evidence.some((e) => /failing \(confirms\)/.test(e)))
    assert.ok(after.candidates[0].confidence > before.candidates[0].confidence)
    // A probe from before the component's anomaly says nothing about it.
    const stale = diagnose({ ...base, interventions: [{ component: 'model-store', healthy: false, hlc: hlc(T0, 'nas') }] })
    assert.deepEqual(stale.candidates.map((c) => c.score), before.candidates.map((c) => c.score))
  })
})
