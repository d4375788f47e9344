import { strict as assert } from 'node:assert'
import { createHlc, encode } from '@homeostat/hlc'
import type { Anomaly, Incident } from '@homeostat/interface'
import { createDiagnoser, stats } from '../src/index.ts'

describe('createDiagnoser', () => {
  let nowMs = 1_700_000_000_000
  const hlc = createHlc({ nodeId: 'pi-1', now: () => nowMs })
  const anomaly = (component: string, atMs: number, score = 0.9): Anomaly =>
    ({ id: `${component}@${atMs}`, node: 'pi-1', component, metric: 'probe.http.latency_ms', kind: 'probe', score, value: 900, hlc: encode({ wallMs: atMs, logical: 0, node: 'pi-1' }), atMs })
  const incident = (component: string, anomalies: Anomaly[]): Incident =>
    ({ id: `inc-${component}`, node: 'pi-1', component, targetKind: 'service', failureClass: 'hang', status: 'open', openedAtMs: nowMs, steps: [], anomalies })

  it('plugs into the micro loop: timeline + recovering names in, stamped Diagnosis out, counts kept', () => {
    const d = createDiagnoser({ components: [{ name: 'api', dependsOn: ['model'] }, { name: 'model', dependsOn: ['gpu'] }], stamp: () => encode(hlc.now()) })
    const t = nowMs
    nowMs += 5000
    const r = d.diagnose(incident('api', [anomaly('api', t + 2000)]), { timeline: [anomaly('model', t + 1000), anomaly('gpu', t + 500), { ...anomaly('x', t), hlc: 'garbage' }] })
    assert.equal(r.candidates[0].component, 'gpu')
    assert.equal(r.incidentId, 'inc-api')
    assert.equal(d.stats().diagnoses, 1)
    assert.equal(d.stats().malformedAnomalies, 1)
    // gpu is being restarted: its blip and its callers' are the restart's, nothing is left to blame.
    const r2 = d.diagnose(incident('api', [anomaly('api', nowMs - 1000)]), { timeline: [anomaly('gpu', nowMs - 2000)], recovering: ['gpu'] })
    assert.equal(r2.attributedToRecovery.length, 2)
    assert.equal(r2.candidates.length, 0)
  })

  it('learns edges from histories and keeps declared ones with provenance', () => {
    const d = createDiagnoser({ components: [{ name: 'a', dependsOn: ['b'] }, { name: 'c' }], stamp: () => encode(hlc.now()) })
    const rand = stats.seededRandom(3)
    const b = Array.from({ length: 300 }, () => stats.gaussian(rand))
    const a = b.map((v, i) => (i > 0 ? b[i - 1] : 0) + 0.3 * stats.gaussian(rand))
    const c = a.map((v, i) => (i > 0 ? a[i - 1] : 0) + 0.3 * stats.gaussian(rand))
    const n = d.learn([{ component: 'a', metric: 'm', values: a }, { component: 'b', metric: 'm', values: b }, { component: 'c', metric: 'm', values: c }])
    assert.equal(n, 2)
    const prov = Object.fromEntries(d.graph().edges.map((e) => [`${e.from}>${e.to}`, e.provenance]))
    assert.deepEqual(prov, { 'a>b': 'both', 'c>a': 'learned' })
  })

  it('counts a failed diagnosis and rethrows its coded error', () => {
    const d = createDiagnoser({ components: [{ name: 'a' }], stamp: () => 'not-an-hlc' })
    assert.throws(() => d.diagnose(incident('a', []), { timeline: [] }), { code: 'ERR_DIAGNOSIS_INPUT' })
    assert.equal(d.stats().failures, 1)
  })
})
