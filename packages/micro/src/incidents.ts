// The micro loop's live incident records: opened from an anomaly, steps
// appended with HLC time, status derived from the steps, bounded. Each change
// is handed to `publish` (the agent's incident book / store / mesh).
import { encode, type Hlc } from '@homeostat/hlc'
import { LIMITS, type Anomaly, type Incident, type IncidentStep, type IncidentStatus, type TargetKind } from '@homeostat/interface'
import type { StepInput } from '@homeostat/recovery'

export interface IncidentLogOptions {
  node: string
  hlc: Hlc
  now: () => number
  maxIncidents: number
  maxAnomaliesPerIncident: number
  publish?: (incident: Incident) => void
  onStep?: (incident: Incident, step: IncidentStep) => void
}

export interface IncidentLog {
  open: (input: { component: string, failureClass: string, targetKind: TargetKind, anomaly: Anomaly, onsetMs: number, summary: string, evidence?: string[] }) => Incident
  step: (id: string, s: StepInput) => IncidentStep
  attach: (id: string, anomaly: Anomaly) => void
  get: (id: string) => Incident | undefined
  list: () => Incident[]
  /** Steps dropped because an incident hit LIMITS.incidentSteps. */
  readonly droppedSteps: number
}

const STATUS_OF: Partial<Record<IncidentStep['kind'], IncidentStatus>> = {
  acted: 'recovering',
  recovered: 'recovered',
  quarantined: 'quarantined'
}

export function createIncidentLog (o: IncidentLogOptions): IncidentLog {
  const byId = new Map<string, Incident>()
  let seq = 0
  let droppedSteps = 0
  const stamp = (): string => encode(o.hlc.now())

  const publish = (inc: Incident): void => {
    try { o.publish?.(structuredClone(inc)) } catch { /* a failing sink never breaks healing */ }
  }

  const trimOld = (): void => {
    if (byId.size <= o.maxIncidents) return
    for (const [id, inc] of byId) {
      if (byId.size <= o.maxIncidents) break
      if (inc.status === 'recovered' || inc.status === 'escalated' || inc.status === 'quarantined') byId.delete(id)
    }
  }

  const append = (inc: Incident, step: IncidentStep): void => {
    if (inc.steps.length >= LIMITS.incidentSteps - 1 && step.kind === 'note') { droppedSteps++; return }
    if (inc.steps.length >= LIMITS.incidentSteps) { droppedSteps++; return }
    inc.steps.push(step)
    const s = STATUS_OF[step.kind]
    if (s != null) inc.status = s
    // "escalated" to an operator closes the incident; "escalated" to the next action does not.
    if (step.kind === 'escalated' && step.data?.to === 'operator' && inc.status !== 'quarantined') inc.status = 'escalated'
    o.onStep?.(inc, step)
  }

  return {
    open (input) {
      seq++
      const atMs = o.now()
      const id = `${o.node.slice(0, 64)}:${input.component.slice(0, 40)}:${atMs}:${seq}`.slice(0, LIMITS.nameLength)
      const inc: Incident = {
        id,
        node: o.node,
        component: input.component,
        targetKind: input.targetKind,
        failureClass: input.failureClass,
        status: 'open',
        openedAtMs: input.onsetMs,
        steps: [],
        anomalies: [input.anomaly]
      }
      byId.set(id, inc)
      append(inc, { kind: 'opened', hlc: input.anomaly.hlc, atMs: input.onsetMs, summary: `${input.failureClass} of ${input.component}: fault onset`, data: { anomalyId: input.anomaly.id } })
      const detected: IncidentStep = { kind: 'detected', hlc: stamp(), atMs, summary: input.summary, data: { metric: input.anomaly.metric, kind: input.anomaly.kind, value: input.anomaly.value, detectionMs: atMs - input.onsetMs } }
      if (input.evidence != null && input.evidence.length > 0) detected.evidence = input.evidence.slice(0, LIMITS.evidenceItems).map((l) => l.slice(0, LIMITS.textLength))
      append(inc, detected)
      trimOld()
      publish(inc)
      return inc
    },
    step (id, s) {
      const inc = byId.get(id)
      const step: IncidentStep = { kind: s.kind, hlc: stamp(), atMs: o.now(), summary: s.summary.slice(0, LIMITS.textLength) }
      if (s.evidence != null && s.evidence.length > 0) step.evidence = s.evidence.slice(0, LIMITS.evidenceItems).map((l) => l.slice(0, LIMITS.textLength))
      if (s.data != null) step.data = s.data
      if (inc != null) {
        append(inc, step)
        publish(inc)
      }
      return step
    },
    attach (id, anomaly) {
      const inc = byId.get(id)
      if (inc == null || inc.anomalies.length >= o.maxAnomaliesPerIncident) return
      inc.anomalies.push(anomaly)
    },
    get: (id) => byId.get(id),
    list: () => [...byId.values()],
    get droppedSteps () { return droppedSteps }
  }
}
