// Incidents: anomalies and probe failures open them; recovery and others
// append HLC-stamped steps through this API. One open incident per
// component + failure class (later anomalies attach to it). Every change is
// persisted to the store (record in the `incidents` sub-store, each opening,
// anomaly and step in the event log) by one coalescing writer, so a slow disk
// delays persistence but never the caller, and memory stays bounded.
import { encode, type Hlc } from '@homeostat/hlc'
import {
  LIMITS, incidentSchema, incidentStepSchema, parseWith,
  type Anomaly, type AnomalyKind, type Incident, type IncidentStatus, type IncidentStep, type IncidentStepKind, type TargetKind
} from '@homeostat/interface'
import type { Store } from '@homeostat/store'
import { randomBytes } from 'node:crypto'
import { Emitter, silentLogger, type Logger, type Unsubscribe } from './events.ts'

export const INCIDENT_DEFAULTS = {
  /** Incidents kept in memory; the oldest closed ones are dropped first (they stay in the store). */
  maxIncidents: 1000,
  /** Anomalies attached to one incident (interface's cap is LIMITS.incidentSteps). */
  maxAnomaliesPerIncident: 32,
  /** Log entries waiting for the writer; beyond this new entries are dropped and counted (the record snapshot is still written). */
  maxPendingLogEntries: 5000,
  /** Sub-store holding the latest record of every incident. */
  subStore: 'incidents'
} as const

/** What a detector, probe or watcher reports (the same shape the micro loop's AnomalySource uses). */
export interface AnomalyReport {
  component: string
  failureClass: string
  metric: string
  kind: AnomalyKind
  /** In [0,1]. */
  score: number
  value: number
  /** When the fault began as the reporter sees it (defaults to now). */
  onsetMs?: number
  detail?: string
  evidence?: string[]
  targetKind?: TargetKind
  /** Extra structured facts (e.g. a prediction's timeToLimitMs), copied to the opened step. */
  data?: Record<string, unknown>
  /**
   * A signal that alone must never act: a detector's metric anomaly (no probe failing, no limit crossed,
   * no confirmed forecast) or a node-wide reading. The micro loop records it as an observation.
   */
  observationOnly?: boolean
  /** Why it is observation-only, in words (shown with the observation). */
  observationWhy?: string
}

export interface StepInput {
  kind: IncidentStepKind
  summary: string
  evidence?: string[]
  data?: Record<string, unknown>
  /** Physical time of the step if not now (e.g. when the action actually ran). */
  atMs?: number
}

export interface IncidentEvents extends Record<string, unknown> {
  opened: Incident
  anomaly: { incident: Incident, anomaly: Anomaly }
  step: { incident: Incident, step: IncidentStep }
  closed: Incident
}

export interface IncidentManagerOptions {
  node: string
  hlc: Hlc
  now?: () => number
  store?: Store
  logger?: Logger
  maxIncidents?: number
  maxAnomaliesPerIncident?: number
}

export interface IncidentStats {
  opened: number
  deduplicated: number
  steps: number
  closed: number
  /** Steps refused: unknown incident, closed incident, or the step cap reached. */
  droppedSteps: number
  /** Log entries not persisted because the writer queue was full. */
  droppedLogEntries: number
  persistErrors: number
  /** Stored records that failed validation on load. */
  invalidStored: number
}

export interface IncidentManager {
  /** Opens an incident, or attaches the anomaly to the open one for the same component + class. */
  report: (r: AnomalyReport) => { incident: Incident, anomaly: Anomaly, opened: boolean }
  /**
   * Always opens a new incident from an already-built anomaly (for a caller
   * that does its own deduplication, e.g. the micro loop's incident book:
   * `open`/`attach`/`step`/`get`/`list` match its IncidentLog).
   */
  open: (input: { component: string, failureClass: string, targetKind: TargetKind, anomaly: Anomaly, onsetMs: number, summary: string, evidence?: string[] }) => Incident
  /** Attaches an anomaly to an incident (bounded). */
  attach: (id: string, anomaly: Anomaly) => void
  /** Appends an HLC-stamped step; status follows the step (acted → recovering, recovered, quarantined, escalated to an operator). */
  step: (id: string, s: StepInput) => IncidentStep
  get: (id: string) => Incident | undefined
  list: (filter?: { status?: IncidentStatus | 'active', component?: string }) => Incident[]
  findOpen: (component: string, failureClass: string) => Incident | undefined
  /** Restores incidents from the store (call once before use); returns how many. */
  load: () => Promise<number>
  /** Resolves when everything so far is persisted. */
  flush: () => Promise<void>
  on: <K extends keyof IncidentEvents>(event: K, fn: (v: IncidentEvents[K]) => void) => Unsubscribe
  stats: () => IncidentStats
  /** Steps refused (see stats). */
  readonly droppedSteps: number
}

export class IncidentError extends Error {
  readonly code: 'INCIDENT_UNKNOWN' | 'INCIDENT_CLOSED' | 'INCIDENT_FULL'
  constructor (code: IncidentError['code'], message: string) {
    super(message)
    this.code = code
    this.name = 'IncidentError'
  }
}

const CLOSED: ReadonlySet<IncidentStatus> = new Set(['recovered', 'escalated', 'quarantined'])
export const isClosed = (i: Incident): boolean => CLOSED.has(i.status)

/** Status after a step (pure; tested from a table). */
export function statusAfter (current: IncidentStatus, step: Pick<IncidentStep, 'kind' | 'data'>): IncidentStatus {
  if (CLOSED.has(current)) return current
  switch (step.kind) {
    case 'acted': return 'recovering'
    case 'recovered': return 'recovered'
    case 'quarantined': return 'quarantined'
    // "escalated" to the next action keeps the incident open; to an operator (or finally) closes it.
    case 'escalated': return step.data?.to === 'operator' || step.data?.final === true ? 'escalated' : current
    default: return current
  }
}

const clip = (s: string, n: number = LIMITS.textLength): string => s.length > n ? s.slice(0, n - 1) + '…' : s
const clipEvidence = (e: string[] | undefined): string[] | undefined =>
  e === undefined ? undefined : e.slice(-LIMITS.evidenceItems).map((x) => clip(String(x)))

export function createIncidentManager (options: IncidentManagerOptions): IncidentManager {
  const { node, hlc, store } = options
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const maxIncidents = options.maxIncidents ?? INCIDENT_DEFAULTS.maxIncidents
  const maxAnomalies = options.maxAnomaliesPerIncident ?? INCIDENT_DEFAULTS.maxAnomaliesPerIncident
  const events = new Emitter<IncidentEvents>(logger)
  const byId = new Map<string, Incident>()
  const openByKey = new Map<string, string>()
  const stats: IncidentStats = { opened: 0, deduplicated: 0, steps: 0, closed: 0, droppedSteps: 0, droppedLogEntries: 0, persistErrors: 0, invalidStored: 0 }
  const session = randomBytes(3).toString('hex')
  let seq = 0
  const key = (component: string, failureClass: string): string => `${component}\u0000${failureClass}`
  const newId = (prefix: string, h: string): string => `${prefix}-${h.slice(0, 20)}-${session}${(seq++).toString(36)}`

  // ---- persistence: one writer, coalescing record snapshots ----
  const dirty = new Set<string>()
  const pendingLog: Array<{ kind: string, record: unknown, hlc: string }> = []
  let writing: Promise<void> | undefined
  const persist = (id: string, logKind?: string, record?: unknown, h?: string): void => {
    if (store === undefined) return
    dirty.add(id)
    if (logKind !== undefined) {
      if (pendingLog.length >= INCIDENT_DEFAULTS.maxPendingLogEntries) stats.droppedLogEntries++
      else pendingLog.push({ kind: logKind, record, hlc: h! })
    }
    writing ??= drain()
  }
  const drain = async (): Promise<void> => {
    try {
      while (dirty.size > 0 || pendingLog.length > 0) {
        await Promise.resolve() // let a burst of synchronous changes coalesce
        const b = store!.batch()
        for (const e of pendingLog.splice(0, 500)) b.append(e.kind, e.record, { hlc: e.hlc })
        for (const id of [...dirty]) {
          dirty.delete(id)
          const inc = byId.get(id)
          if (inc !== undefined) b.put(INCIDENT_DEFAULTS.subStore, id, inc)
        }
        try { await b.write() } catch (err) {
          stats.persistErrors++
          logger.error({ err }, 'persisting incidents failed')
          if ((err as { code?: string }).code === 'STORE_CLOSED') { dirty.clear(); pendingLog.length = 0 }
        }
      }
    } finally { writing = undefined }
  }

  const trim = (): void => {
    if (byId.size <= maxIncidents) return
    for (const [id, inc] of byId) {
      if (byId.size <= maxIncidents) break
      if (isClosed(inc) && !dirty.has(id)) byId.delete(id)
    }
  }

  const makeStep = (s: StepInput, h: string): IncidentStep => {
    const step: IncidentStep = { kind: s.kind, hlc: h, atMs: s.atMs ?? now(), summary: clip(s.summary) }
    const ev = clipEvidence(s.evidence)
    if (ev !== undefined) step.evidence = ev
    if (s.data !== undefined) step.data = s.data
    return parseWith(incidentStepSchema, step, 'incident step')
  }

  const addStep = (inc: Incident, s: StepInput): IncidentStep => {
    if (isClosed(inc) && s.kind !== 'note') { stats.droppedSteps++; throw new IncidentError('INCIDENT_CLOSED', `incident ${inc.id} is ${inc.status}`) }
    if (inc.steps.length >= LIMITS.incidentSteps) { stats.droppedSteps++; throw new IncidentError('INCIDENT_FULL', `incident ${inc.id} has ${LIMITS.incidentSteps} steps`) }
    const h = encode(hlc.now())
    const step = makeStep(s, h)
    inc.steps.push(step)
    stats.steps++
    const before = inc.status
    inc.status = statusAfter(inc.status, step)
    persist(inc.id, 'incident.step', { id: inc.id, component: inc.component, failureClass: inc.failureClass, step }, h)
    events.emit('step', { incident: inc, step })
    if (!CLOSED.has(before) && isClosed(inc)) {
      stats.closed++
      if (openByKey.get(key(inc.component, inc.failureClass)) === inc.id) openByKey.delete(key(inc.component, inc.failureClass))
      events.emit('closed', inc)
      trim()
    }
    return step
  }

  const create = (i: { component: string, failureClass: string, targetKind: TargetKind, anomaly: Anomaly, onsetMs: number, summary: string, evidence?: string[] | undefined, data?: Record<string, unknown> }, h: string): Incident => {
    const atMs = now()
    const inc: Incident = {
      id: newId('i', h),
      node,
      component: i.component,
      targetKind: i.targetKind,
      failureClass: i.failureClass,
      status: 'open',
      openedAtMs: Math.min(i.onsetMs, atMs),
      steps: [],
      anomalies: [i.anomaly]
    }
    byId.set(inc.id, inc)
    openByKey.set(key(i.component, i.failureClass), inc.id)
    stats.opened++
    const opened: StepInput = { kind: 'opened', summary: i.summary, atMs: inc.openedAtMs, data: i.data ?? { metric: i.anomaly.metric, kind: i.anomaly.kind, score: i.anomaly.score } }
    if (i.evidence !== undefined) opened.evidence = i.evidence
    inc.steps.push(makeStep(opened, h))
    inc.steps.push(makeStep({ kind: 'detected', summary: `detected by ${i.anomaly.kind} (${i.anomaly.metric})`, atMs }, encode(hlc.now())))
    stats.steps += 2
    persist(inc.id, 'incident.opened', { incident: inc }, h)
    persist(inc.id, 'anomaly', { incidentId: inc.id, anomaly: i.anomaly }, i.anomaly.hlc)
    events.emit('opened', inc)
    trim()
    return inc
  }

  const attach = (inc: Incident, anomaly: Anomaly): void => {
    if (inc.anomalies.length < maxAnomalies) inc.anomalies.push(anomaly)
    persist(inc.id, 'anomaly', { incidentId: inc.id, anomaly }, anomaly.hlc)
    events.emit('anomaly', { incident: inc, anomaly })
  }

  return {
    report (r) {
      const atMs = now()
      const h = encode(hlc.now())
      const anomaly: Anomaly = {
        id: newId('a', h),
        node,
        component: r.component,
        metric: r.metric,
        kind: r.kind,
        score: Math.min(1, Math.max(0, Number.isFinite(r.score) ? r.score : 1)),
        value: Number.isFinite(r.value) ? r.value : 0,
        hlc: h,
        atMs
      }
      if (r.detail !== undefined) anomaly.detail = clip(r.detail)
      const existingId = openByKey.get(key(r.component, r.failureClass))
      const existing = existingId !== undefined ? byId.get(existingId) : undefined
      if (existing !== undefined && !isClosed(existing)) {
        stats.deduplicated++
        attach(existing, anomaly)
        return { incident: existing, anomaly, opened: false }
      }
      const summary = `${r.failureClass} on ${r.component}: ${r.detail ?? `${r.metric} = ${r.value}`}`
      const inc = create({ component: r.component, failureClass: r.failureClass, targetKind: r.targetKind ?? 'process', anomaly, onsetMs: Math.min(r.onsetMs ?? atMs, atMs), summary, evidence: r.evidence, data: { metric: r.metric, kind: r.kind, score: anomaly.score, ...(r.data ?? {}) } }, h)
      return { incident: inc, anomaly, opened: true }
    },
    open (input) {
      return create(input, encode(hlc.now()))
    },
    attach (id, anomaly) {
      const inc = byId.get(id)
      if (inc === undefined) throw new IncidentError('INCIDENT_UNKNOWN', `no incident ${id}`)
      attach(inc, anomaly)
    },
    step (id, s) {
      const inc = byId.get(id)
      if (inc === undefined) { stats.droppedSteps++; throw new IncidentError('INCIDENT_UNKNOWN', `no incident ${id}`) }
      return addStep(inc, s)
    },
    get: (id) => byId.get(id),
    list (filter = {}) {
      return [...byId.values()].filter((i) =>
        (filter.component === undefined || i.component === filter.component) &&
        (filter.status === undefined || (filter.status === 'active' ? !isClosed(i) : i.status === filter.status)))
    },
    findOpen (component, failureClass) {
      const id = openByKey.get(key(component, failureClass))
      return id !== undefined ? byId.get(id) : undefined
    },
    async load () {
      if (store === undefined) return 0
      let n = 0
      for await (const [id, raw] of store.sub<unknown>(INCIDENT_DEFAULTS.subStore).iterate()) {
        if (byId.has(id)) continue
        // A record from an older version or a damaged file is skipped and counted, never trusted.
        const parsed = incidentSchema.safeParse(raw)
        if (!parsed.success) { stats.invalidStored++; logger.warn({ id }, 'skipping an invalid stored incident'); continue }
        const inc = parsed.data as Incident
        if (isClosed(inc) && byId.size >= maxIncidents) continue
        byId.set(id, inc)
        if (!isClosed(inc)) openByKey.set(key(inc.component, inc.failureClass), id)
        n++
      }
      return n
    },
    async flush () {
      while (writing !== undefined) await writing
    },
    on: (event, fn) => events.on(event, fn),
    stats: () => ({ ...stats }),
    get droppedSteps () { return stats.droppedSteps }
  }
}
