import type { ActionKind, CostVector, Incident, Outcome, PlanRequest, TargetKind } from '@homeostat/interface'

export const incident = (id: string, failureClass = 'crash', targetKind: TargetKind = 'process', component = 'api'): Incident => ({
  id, node: 'n1', component, targetKind, failureClass, status: 'open', openedAtMs: 0, steps: [], anomalies: []
})

export const request = (inc: Incident, available: ActionKind[], attempted: ActionKind[] = []): PlanRequest => ({ incident: inc, available, attempted })

export const cost = (cpuSeconds: number, memoryMb: number, bandwidthKb: number, disruptionSeconds: number): CostVector => ({ cpuSeconds, memoryMb, bandwidthKb, disruptionSeconds })

export const outcome = (inc: Incident, action: ActionKind, success: boolean, c: CostVector = cost(1, 10, 0, 2), durationMs = 3000): Outcome => ({
  incidentId: inc.id, node: 'n1', component: inc.component, failureClass: inc.failureClass, action, success, durationMs, cost: c, hlc: '000000000000001-000000-n1'
})

/** A roomy capacity: static β = 15 % of it comfortably admits every default action's prior upper bound. */
export const roomy = (): CostVector => cost(10_000, 100_000, 10_000_000, 10_000)
