// Replays the multi-cause fixtures (./record.ts) through the daemon's
// diagnosis (agent/src/loops/micro/diagnosis.ts): for each incident, the
// agent's series history is fed every sample recorded up to the incident's
// opening, and the diagnosis gets the anomaly timeline of that moment. Top-1
// is right when the first candidate is one of the incident's true causes
// ("no clear cause" is a miss).
import { existsSync, readFileSync } from 'node:fs'
import { encode } from '@homeostat/hlc'
import { createAgentDiagnosis } from '../../../agent/src/loops/micro/diagnosis.ts'
import type { Fixture } from './record.ts'

export interface MulticauseRow { scenario: string, kind: string, component: string, truth: string[], ranking: string[], rank: number, groups: number }

export function readFixture (path: string): Fixture | undefined {
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture
}

export function scoreMulticause (f: Fixture): MulticauseRow[] {
  const components = Object.entries(f.graph).map(([name, dependsOn]) => ({ name, dependsOn }))
  const rows: MulticauseRow[] = []
  for (const s of f.scenarios) {
    const kind = s.faults.length > 1 ? (s.name.startsWith('independent') ? 'two independent' : 'two, shared victims') : s.faults[0]!.kind
    for (const x of s.incidents) {
      const d = createAgentDiagnosis({ components, stamp: () => encode({ wallMs: Math.floor(x.diagnoseAtMs), logical: 1, node: 'recorder' }), now: () => x.diagnoseAtMs, history: { stepMs: f.stepMs } })
      for (const [c, m, atMs, v] of f.samples) {
        if (atMs > x.diagnoseAtMs) continue
        d.history.record(c, m, atMs, v)
      }
      const diagnosis = d.diagnose(x.incident, { timeline: x.timeline.filter((a) => a.id !== x.incident.anomalies[0]?.id) })
      const ranking = diagnosis.candidates.map((c) => c.component)
      const pos = ranking.findIndex((c) => x.truth.includes(c))
      rows.push({ scenario: s.name, kind, component: x.incident.component, truth: x.truth, ranking, rank: pos < 0 ? Infinity : pos + 1, groups: diagnosis.independentGroups.length })
    }
  }
  return rows
}
