// MTTR, detection latency, overhead and ROR computed from incident records —
// never estimated. Pure functions; `homeostat report` and the dashboard use them.
import type { Incident, IncidentStep } from '@homeostat/interface'

export interface IncidentTimes {
  id: string
  component: string
  failureClass: string
  status: Incident['status']
  /** detected − opened (fault onset → anomaly confirmed), ms. */
  detectMs?: number
  /** recovered − opened, ms (only for recovered incidents). */
  mttrMs?: number
  /** The action that healed it (last `acted` step's action). */
  action?: string
}

function firstStep (inc: Incident, kind: IncidentStep['kind']): IncidentStep | undefined {
  return inc.steps.find((s) => s.kind === kind)
}

export function incidentTimes (inc: Incident): IncidentTimes {
  const detected = firstStep(inc, 'detected')
  const recovered = inc.steps.findLast((s) => s.kind === 'recovered' || s.kind === 'verified')
  const acted = inc.steps.findLast((s) => s.kind === 'acted')
  const actionData = acted?.data?.action
  const out: IncidentTimes = { id: inc.id, component: inc.component, failureClass: inc.failureClass, status: inc.status }
  if (detected !== undefined) out.detectMs = Math.max(0, detected.atMs - inc.openedAtMs)
  if (inc.status === 'recovered' && recovered !== undefined) out.mttrMs = Math.max(0, recovered.atMs - inc.openedAtMs)
  if (typeof actionData === 'string') out.action = actionData
  else if (acted !== undefined) out.action = acted.summary.split(/\s/)[0]
  return out
}

/** Nearest-rank percentile of `xs` (p in [0,100]); undefined for an empty list. */
export function percentile (xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)))
  return s[rank - 1]
}

export interface OverheadSample {
  /** Agent CPU share of one core over the window, percent. */
  agentCpuPct: number
  /** Agent resident memory, MB. */
  agentRssMb: number
}

export interface Report {
  /** Whose incidents: `this node`, or `fleet` on the cloud peer. */
  scope: string
  incidents: number
  recovered: number
  escalated: number
  open: number
  mttrP50Ms?: number
  mttrP95Ms?: number
  mttrMeanMs?: number
  detectP50Ms?: number
  detectP95Ms?: number
  /** Fraction of closed incidents that were healed without a human. */
  healRate?: number
  /** Agent overhead as measured by the agent on itself. */
  overhead: OverheadSample
  /**
   * Resilience-to-overhead ratio: heal rate × (availability kept per incident)
   * divided by the agent's CPU share. Defined here as
   * healRate / max(agentCpuPct/100, 0.001). Higher is better; comparable across
   * nodes of one fleet, not an absolute figure.
   */
  ror?: number
  byClass: Array<{ failureClass: string, count: number, recovered: number, mttrP50Ms?: number, detectP50Ms?: number }>
}

export function computeReport (incidents: readonly Incident[], overhead: OverheadSample, scope = 'this node'): Report {
  const times = incidents.map(incidentTimes)
  const mttrs = times.flatMap((t) => t.mttrMs === undefined ? [] : [t.mttrMs])
  const detects = times.flatMap((t) => t.detectMs === undefined ? [] : [t.detectMs])
  const recovered = incidents.filter((i) => i.status === 'recovered').length
  const escalated = incidents.filter((i) => i.status === 'escalated' || i.status === 'quarantined').length
  const closed = recovered + escalated
  const classes = new Map<string, IncidentTimes[]>()
  for (const t of times) {
    const l = classes.get(t.failureClass) ?? []
    l.push(t)
    classes.set(t.failureClass, l)
  }
  const r: Report = {
    scope,
    incidents: incidents.length,
    recovered,
    escalated,
    open: incidents.length - closed,
    overhead,
    byClass: [...classes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([failureClass, ts]) => ({
      failureClass,
      count: ts.length,
      recovered: ts.filter((t) => t.status === 'recovered').length,
      mttrP50Ms: percentile(ts.flatMap((t) => t.mttrMs === undefined ? [] : [t.mttrMs]), 50),
      detectP50Ms: percentile(ts.flatMap((t) => t.detectMs === undefined ? [] : [t.detectMs]), 50)
    }))
  }
  if (mttrs.length > 0) {
    r.mttrP50Ms = percentile(mttrs, 50)
    r.mttrP95Ms = percentile(mttrs, 95)
    r.mttrMeanMs = Math.round(mttrs.reduce((a, b) => a + b, 0) / mttrs.length)
  }
  if (detects.length > 0) {
    r.detectP50Ms = percentile(detects, 50)
    r.detectP95Ms = percentile(detects, 95)
  }
  if (closed > 0) {
    r.healRate = recovered / closed
    r.ror = r.healRate / Math.max(overhead.agentCpuPct / 100, 0.001)
  }
  return r
}
