// Test helpers: an in-memory incident log that stamps steps with a real HLC,
// and a minimal incident.
import { createHlc, encode } from '@homeostat/hlc'
import type { Incident, IncidentStep } from '@homeostat/interface'
import type { StepInput } from '../src/index.ts'

export function makeIncident (component: string, failureClass: string, id = `inc-${component}-${failureClass}`): Incident {
  return { id, node: 'n1', component, targetKind: 'process', failureClass, status: 'open', openedAtMs: Date.now(), steps: [], anomalies: [] }
}

export function makeLog (): { record: (id: string, s: StepInput) => IncidentStep, steps: Map<string, IncidentStep[]>, kinds: (id: string) => string[] } {
  const hlc = createHlc({ nodeId: 'n1', now: Date.now })
  const steps = new Map<string, IncidentStep[]>()
  return {
    steps,
    record (id, s) {
      const step: IncidentStep = { kind: s.kind, summary: s.summary, hlc: encode(hlc.now()), atMs: Date.now() }
      if (s.evidence != null) step.evidence = s.evidence
      if (s.data != null) step.data = s.data
      const list = steps.get(id) ?? []
      list.push(step)
      steps.set(id, list)
      return step
    },
    kinds: (id) => (steps.get(id) ?? []).map((s) => s.kind)
  }
}

/** Seeded PRNG (mulberry32, shared). */
export { seededRandom as seeded } from '@homeostat/interface'
