// MTTR, detection latency, overhead and ROR computed from incident records —
// never estimated (the ROR's baseline is modelled from the same records: see KUBERNETES_BASELINE). Pure functions; `homeostat report` and the dashboard use them.
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
  /** CPU cores of the machine (its capacity); 1 when unknown. */
  cores?: number
}

/**
 * The baseline the ROR compares with: a supervisor with Kubernetes' default timing (liveness probe
 * every 10 s, 1 s timeout, 3 failures; restart back-off 10 s doubling to 5 min, reset after 10 min
 * of running). Modelled per incident from its own record, not measured: `npm run bench -- micro`
 * measures real baselines.
 */
export const KUBERNETES_BASELINE = {
  probePeriodMs: 10_000,
  probeTimeoutMs: 1_000,
  failureThreshold: 3,
  backoffInitialMs: 10_000,
  backoffMaxMs: 300_000,
  /** A container that ran this long without failing has its back-off reset. */
  backoffResetMs: 600_000
} as const

/** Failure classes such a baseline detects by the exit itself (the kubelet sees it at once). */
const EXIT_CLASSES = new Set(['crash', 'exit', 'oom'])
/** Failure classes it detects by its liveness probe. */
const PROBE_CLASSES = new Set(['hang', 'unhealthy'])

/**
 * The baseline's time to repair one incident we healed (pure): its detection — at once for an
 * exit; for a liveness failure half a period to the first failing probe, then (threshold − 1)
 * periods, then the timeout — plus its restart back-off (0 for the first failure, then 10 s,
 * 20 s … while the component keeps failing within `backoffResetMs`), plus the repair work our own
 * record measured (first action → recovered: the same restart either way). Undefined for classes
 * that baseline does not heal by itself (a leak before its limit, CPU over a limit, a filling
 * disk, a probe that cannot run): those are left out of both sides of the ROR.
 */
export function baselineRepairMs (inc: Incident, earlierFailuresOfComponent: number, b = KUBERNETES_BASELINE): number | undefined {
  if (inc.status !== 'recovered') return undefined
  const acted = inc.steps.find((s) => s.kind === 'acted')
  const recovered = inc.steps.findLast((s) => s.kind === 'recovered' || s.kind === 'verified')
  if (acted === undefined || recovered === undefined) return undefined
  let detectMs: number
  if (EXIT_CLASSES.has(inc.failureClass)) detectMs = 0
  else if (PROBE_CLASSES.has(inc.failureClass)) detectMs = b.probePeriodMs / 2 + (b.failureThreshold - 1) * b.probePeriodMs + b.probeTimeoutMs
  else return undefined
  const backoffMs = earlierFailuresOfComponent <= 0 ? 0 : Math.min(b.backoffMaxMs, b.backoffInitialMs * 2 ** (earlierFailuresOfComponent - 1))
  return detectMs + backoffMs + Math.max(0, recovered.atMs - acted.atMs)
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
  /** Mean MTTR of the incidents the baseline would heal too, ours and the modelled baseline's (KUBERNETES_BASELINE). */
  mttrComparedMeanMs?: number
  mttrBaselineMeanMs?: number
  /** Incidents in that comparison. */
  mttrCompared?: number
  /** (MTTR_baseline − MTTR_selfhealing) / MTTR_baseline. */
  mttrReduction?: number
  /** Overhead / capacity: the agent's CPU as a fraction of the machine's cores. */
  overheadFraction?: number
  /**
   * Resilience-to-overhead ratio as the source paper defines it:
   * ((MTTR_baseline − MTTR_selfhealing) / MTTR_baseline) ÷ (Overhead / Capacity),
   * over the incidents the baseline heals too, against the modelled baseline above.
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
  if (closed > 0) r.healRate = recovered / closed
  // ROR (paper's formula): our MTTR against the baseline's on the incidents it would heal as well.
  const byTime = [...incidents].sort((a, b) => a.openedAtMs - b.openedAtMs)
  const failuresOf = new Map<string, number[]>()
  const ours: number[] = []
  const theirs: number[] = []
  for (const inc of byTime) {
    const prior = (failuresOf.get(inc.component) ?? []).filter((t) => inc.openedAtMs - t < KUBERNETES_BASELINE.backoffResetMs).length
    failuresOf.set(inc.component, [...(failuresOf.get(inc.component) ?? []), inc.openedAtMs])
    const base = baselineRepairMs(inc, prior)
    const mine = incidentTimes(inc).mttrMs
    if (base !== undefined && mine !== undefined) { theirs.push(base); ours.push(mine) }
  }
  const cores = overhead.cores != null && overhead.cores > 0 ? overhead.cores : 1
  r.overheadFraction = Math.max(0, overhead.agentCpuPct) / 100 / cores
  if (ours.length > 0) {
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    const b = mean(theirs)
    const m = mean(ours)
    r.mttrCompared = ours.length
    r.mttrComparedMeanMs = Math.round(m)
    r.mttrBaselineMeanMs = Math.round(b)
    r.mttrReduction = b > 0 ? (b - m) / b : 0
    // A measured overhead of 0 (an idle sample) is floored at 0.01 % of the machine, so the ratio stays finite.
    r.ror = r.mttrReduction / Math.max(r.overheadFraction, 0.0001)
  }
  return r
}
