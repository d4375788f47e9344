import { strict as assert } from 'node:assert'
import { encode as encodeHlc } from '@homeostat/hlc'
import { diagnosisSchemaCheck } from './schema.ts'
import type { Anomaly, Incident } from '@homeostat/interface'
import { attributeToRecovery, declaredGraph, diagnose, independentGroups, reachable, indexGraph } from '../src/index.ts'
import { dependentsOf, detectAnomalies, randomWorld, simulate } from './synthetic.ts'

const T0 = 1_700_000_000_000
const hlc = (wallMs: number, node = 'n0', logical = 0): string => encodeHlc({ wallMs, logical, node })
function anomaly (component: string, wallMs: number, node = 'n0', score = 0.9): Anomaly {
  return { id: `${component}@${wallMs}@${node}`, node, component, metric: 'latency', kind: 'metric', score, value: 1, hlc: hlc(wallMs, node), atMs: wallMs }
}
function incidentFor (component: string, anomalies: Anomaly[]): Incident {
  return { id: `inc-${component}`, node: 'n0', component, targetKind: 'service', failureClass: 'latency', status: 'open', openedAtMs: T0, steps: [], anomalies }
}

describe('separation of concurrent anomalies', () => {
  it('two independent concurrent faults on seeded random DAGs land in different groups, each ranked first for its own symptom', () => {
    let checked = 0
    for (let seed = 1; checked < 40 && seed < 400; seed++) {
      const w = randomWorld(seed, 14, 0.2)
      const { dependencies } = indexGraph(w.graph)
      // Two roots with no causal path between them, each with a dependent of its own.
      const pairs: Array<[number, number]> = []
      for (let a = 0; a < w.n; a++) {
        for (let b = a + 1; b < w.n; b++) {
          const na = w.names[a]; const nb = w.names[b]
          if (reachable(dependencies, na).has(nb) || reachable(dependencies, nb).has(na)) continue
          const da = [...dependentsOf(w, a)].filter((x) => !dependentsOf(w, b).has(x))
          const db = [...dependentsOf(w, b)].filter((x) => !dependentsOf(w, a).has(x))
          if (da.length > 0 && db.length > 0) pairs.push([a, b])
        }
      }
      if (pairs.length === 0) continue
      const [ra, rb] = pairs[Math.floor(w.rand() * pairs.length)]
      const normal = simulate(w, 300)
      const window = simulate(w, 10, (r, c) => (c === ra || c === rb) && r >= 4 ? 10 * w.noise[c] : 0)
      const nodeOf = (c: number): string => `node-${c % 5}`
      // Detector output on the truly affected components only (no false alarms): this measures separation, not the detector.
      const affected = new Set([ra, rb, ...dependentsOf(w, ra), ...dependentsOf(w, rb)].map((i) => w.names[i]))
      const anomalies = detectAnomalies(w, window, normal, 60_000, T0, nodeOf).filter((a) => affected.has(a.component))
      const names = new Set(anomalies.map((a) => a.component))
      if (!names.has(w.names[ra]) || !names.has(w.names[rb])) continue
      checked++
      const groups = independentGroups(anomalies, w.graph)
      const ga = groups.find((g) => g.roots.includes(w.names[ra]))
      const gb = groups.find((g) => g.roots.includes(w.names[rb]))
      assert.ok(ga != null && gb != null, `seed ${seed}: both roots found (${JSON.stringify(groups)})`)
      assert.notEqual(ga, gb, `seed ${seed}: independent faults ${w.names[ra]} and ${w.names[rb]} grouped together: ${JSON.stringify(groups)}`)
      // A symptom depending only on root a is diagnosed as a.
      const onlyA = [...dependentsOf(w, ra)].filter((x) => !dependentsOf(w, rb).has(x) && names.has(w.names[x]))
      if (onlyA.length > 0) {
        const t = w.names[onlyA[0]]
        const d = diagnose({ incident: incidentFor(t, anomalies.filter((a) => a.component === t)), anomalies: anomalies.filter((a) => a.component !== t), graph: w.graph, hlc: hlc(T0 + 3_600_000) })
        diagnosisSchemaCheck(d)
        assert.equal(d.candidates[0]?.component, w.names[ra], `seed ${seed}: ${d.explanation}`)
        assert.ok(d.independentGroups.length >= 2, `seed ${seed}`)
      }
    }
    assert.ok(checked >= 20, `only ${checked} usable seeds`)
  })

  it('a shared victim of two faults is listed in both groups; the roots stay separate', () => {
    const graph = declaredGraph([{ name: 'front', dependsOn: ['api', 'auth'] }, { name: 'api', dependsOn: ['db'] }, { name: 'auth', dependsOn: ['ldap'] }])
    const groups = independentGroups([anomaly('db', T0), anomaly('ldap', T0 + 500, 'n2'), anomaly('api', T0 + 1000), anomaly('auth', T0 + 1000, 'n2'), anomaly('front', T0 + 2000, 'n3')], graph)
    assert.deepEqual(groups, [
      { roots: ['db'], components: ['api', 'db', 'front'] },
      { roots: ['ldap'], components: ['auth', 'front', 'ldap'] }
    ])
  })

  it('a dependency whose anomaly starts later is not the cause (HLC order decides the root)', () => {
    const graph = declaredGraph([{ name: 'web', dependsOn: ['db'] }])
    // Node clocks disagree by wall time but the HLC (causal) order says web first.
    const groups = independentGroups([anomaly('web', T0, 'a'), anomaly('db', T0 + 1, 'b')], graph)
    // web is a root (nothing below it was anomalous earlier); the path web→db keeps them in one group.
    assert.deepEqual(groups, [{ roots: ['db', 'web'], components: ['db', 'web'] }])
  })
})

describe('attribution to an ongoing recovery', () => {
  const graph = declaredGraph([
    { name: 'gateway', dependsOn: ['model', 'tokenizer'] },
    { name: 'model', dependsOn: ['gpu'] },
    { name: 'tokenizer' },
    { name: 'trainer', dependsOn: ['disk'] }
  ])
  const restart = { component: 'model', node: 'jetson-1', action: 'restart', startedHlc: hlc(T0, 'jetson-1') }

  it('a restart\'s own blip and its callers\' blips are attributed; an unrelated fault during the recovery is not', () => {
    const blip = anomaly('model', T0 + 2000, 'jetson-1')
    const callerBlip = anomaly('gateway', T0 + 3000, 'edge-2')
    const disk = anomaly('disk', T0 + 4000, 'pi-3')
    const trainer = anomaly('trainer', T0 + 5000, 'pi-3')
    const r = attributeToRecovery([blip, callerBlip, disk, trainer], [restart], graph)
    assert.deepEqual(r.attributed.map((a) => a.anomalyId).sort(), [blip.id, callerBlip.id].sort())
    assert.deepEqual(r.remaining.map((a) => a.id), [disk.id, trainer.id])
    const d = diagnose({ incident: incidentFor('trainer', [trainer]), anomalies: [blip, callerBlip, disk], recoveries: [restart], graph, hlc: hlc(T0 + 6000, 'pi-3') })
    diagnosisSchemaCheck(d)
    assert.equal(d.candidates[0].component, 'disk')
    assert.deepEqual(d.attributedToRecovery.sort(), [blip.id, callerBlip.id].sort())
    assert.match(d.explanation, /attributed to recovery \(restart model\)/)
  })

  it('does not attribute anomalies before the recovery started, after it settled, or of the same component on another node', () => {
    const before = anomaly('model', T0 - 1000, 'jetson-1')
    const otherNode = anomaly('model', T0 + 1000, 'jetson-9')
    const late = anomaly('gateway', T0 + 200_000, 'edge-2')
    const finished = { ...restart, endedHlc: hlc(T0 + 10_000, 'jetson-1') }
    const settled = anomaly('gateway', T0 + 26_000, 'edge-2')
    const inSettle = anomaly('gateway', T0 + 20_000, 'edge-2')
    assert.deepEqual(attributeToRecovery([before, otherNode, late], [restart], graph).attributed, [])
    const r = attributeToRecovery([settled, inSettle], [finished], graph)
    assert.deepEqual(r.attributed.map((a) => a.anomalyId), [inSettle.id])
  })

  it('a fault during a recovery on seeded random graphs: the recovery\'s blips are attributed, the new fault is diagnosed', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const w = randomWorld(seed, 12, 0.25)
      const recovering = w.n - 1 - (seed % 3)
      const { dependents } = indexGraph(w.graph)
      const near = new Set([w.names[recovering], ...(dependents.get(w.names[recovering]) ?? [])])
      const faulty = w.names.findIndex((n, i) => !near.has(n) && !reachable(dependents, n).has(w.names[recovering]) && i !== recovering && dependentsOf(w, i).size > 0 && [...dependentsOf(w, i)].some((x) => !near.has(w.names[x])))
      if (faulty < 0) continue
      const victim = [...dependentsOf(w, faulty)].find((x) => !near.has(w.names[x])) as number
      const rec = { component: w.names[recovering], node: 'r', action: 'restart', startedHlc: hlc(T0, 'r') }
      const blips = [...near].map((c, k) => anomaly(c, T0 + 1000 + k, c === w.names[recovering] ? 'r' : 'x'))
      const fault = [anomaly(w.names[faulty], T0 + 5000, 'f'), anomaly(w.names[victim], T0 + 7000, 'v')]
      const d = diagnose({ incident: incidentFor(w.names[victim], [fault[1]]), anomalies: [...blips, fault[0]], recoveries: [rec], graph: w.graph, hlc: hlc(T0 + 9000) })
      assert.deepEqual(new Set(d.attributedToRecovery), new Set(blips.map((b) => b.id)), `seed ${seed}`)
      assert.equal(d.candidates[0]?.component, w.names[faulty], `seed ${seed}: ${d.explanation}`)
    }
  })
})
