// The micro loop: supervisor exits, probe verdicts and any other anomaly
// source → incident → diagnose → policy → recovery (act, verify, roll back,
// escalate) → outcome. Everything is HLC-stamped and local: it needs no
// network at all. One recovery per component at a time; signals that a
// recovery itself causes (the old process's exit, a probe result that
// straddled the restart) are attributed to it and open no new incident.
//
// Do no harm:
// - a signal that alone must not act (a detector's metric anomaly, a
//   node-wide reading) opens an *observation*, never an incident;
// - verification needs the component's own process to answer (a stale copy
//   or a stranger holding its port is a cause, not a recovery);
// - an action that made the failure's own measure worse (disk usage, CPU
//   share, RSS) is recorded and not tried again on that component;
// - a workload that ran healthy for `stableAfterMs` starts over: back-off and
//   the crash-loop count are for faults that survive restarts.
// Nothing left dead: what the loop could not heal goes on hold and is retried
// on a capped back-off (holds.ts); a watchdog proves every component is
// watched (watchdog.ts).
import type { AnomalyReport, Scheduler } from '@homeostat/monitor'
import { localProbePort, portOwner, realScheduler, COMPONENT_ENV } from '@homeostat/monitor'
import { encode, type Hlc } from '@homeostat/hlc'
import { actionsWhere, NOT_A_REMEDY, silentLogger, type Logger, type ActionKind, type Anomaly, type Diagnosis, type Incident, type IncidentStep, type Outcome, type PlannedAction, type RecoveryPolicy, type TargetKind, type TuningOverrides } from '@homeostat/interface'
import {
  createPlaybook,
  createRecovery,
  errorInfo,
  pidAlive,
  type ActionTable,
  type ComponentRecoveryConfig,
  type Recovery,
  type RecoveryDefaults,
  type RecoveryResult,
  type RecoveryTarget,
  type TargetInfo
} from '@homeostat/recovery'
import { readFileSync } from 'node:fs'
import { classifyExit, classifyProbe } from './classify.ts'
import { MICRO_DEFAULTS } from './defaults.ts'
import { createHolds, type Hold, type HoldTuning } from './holds.ts'
import { createIncidentLog, type IncidentLog } from './incidents.ts'
import { completed, shouldRun, supervisionGaps, type ComponentSnapshot } from './watchdog.ts'

type Unsubscribe = () => void

/** The parts of a supervised component's spec the loop reads (the monitor's ComponentSpec has them). */
interface SpecView {
  targetKind?: TargetKind
  restart?: 'always' | 'on-failure' | 'never'
  shared?: boolean
  relocatable?: boolean
  probes?: Array<{ kind: string, url?: string, host?: string, port?: number }>
}

/** The supervisor as the micro loop uses it (the monitor's createSupervisor satisfies it). */
export interface MicroSupervisor extends RecoveryTarget {
  on: ((event: 'exit', fn: (e: { name: string, pid?: number, exit: { code: number | null, signal: string | null, atMs: number, expected: boolean, reason?: string, error?: string }, tail: { stdout: string[], stderr: string[] } }) => void) => Unsubscribe) &
  ((event: 'start', fn: (e: { name: string, pid?: number, atMs: number }) => void) => Unsubscribe)
  names: () => string[]
  info: (name: string) => TargetInfo & { spec?: object, lastExit?: { code: number | null, signal: string | null, atMs: number, reason?: string } }
  /** stdout/stderr tails, copied into incidents as evidence. */
  tail?: (name: string) => { stdout: string[], stderr: string[] }
  /** Lifts a quarantine (a hold's retry needs it). */
  release?: (name: string) => unknown
}

/** A probe's thresholded status, as the watchdog reads it. */
export interface MicroProbeStatus {
  probe: string
  kind: string
  state: string
  consecutiveFailures: number
  firstFailureAtMs?: number
  lastResult?: { detail: string, atMs?: number }
}

/** The probe runner as the micro loop uses it (the monitor's createProbeRunner satisfies it). */
export interface MicroProbes {
  checkNow: (name: string) => Promise<{ healthy: boolean, reasons: string[] }>
  /** The last known verdict (thresholds applied), without probing: the watchdog's view. */
  health?: (name: string) => { healthy: boolean, probes: MicroProbeStatus[] }
  on: ((event: 'unhealthy', fn: (e: { component: string, probe: string, kind: string, atMs: number, status: { firstFailureAtMs?: number, consecutiveFailures: number, lastResult?: { detail: string, latencyMs: number }, corroborated?: string } }) => void) => Unsubscribe) &
  ((event: 'result', fn: (e: { component: string, result: { status: string } }) => void) => Unsubscribe) &
  ((event: 'probe_error', fn: (e: { component: string, probe: string, kind: string, reason: string, errors: number, gaveUp: boolean, unsupported: boolean, atMs: number }) => void) => Unsubscribe)
}

/** An anomaly from any detector (metric detector, predictive leak/disk signal, training health): the monitor's shape. */
export type { AnomalyReport }

/** A detector the loop subscribes to: it calls `report` for each anomaly and returns an unsubscribe. */
export type AnomalySource = (report: (r: AnomalyReport) => void) => Unsubscribe

export interface DiagnoseContext {
  /** Recent anomalies on this node, HLC order. */
  timeline: readonly Anomaly[]
  /** Incidents currently being handled. */
  open: readonly Incident[]
  /** Components being recovered right now (their anomalies are explained by that). */
  recovering: readonly string[]
}

/** Health for one failure class after an action (e.g. "RSS back under the limit"). */
export type ClassVerifier = (component: string, incident: Incident) => Promise<boolean> | boolean

/** A failure's own measure (a directory's MB, a process's CPU cores or RSS MB): higher is worse. */
export interface Measure {
  value: number
  unit: string
  /** What is measured, e.g. "/data/out usage". */
  what: string
  /** Differences below this are measurement noise, not harm. */
  noise: number
}

/** A signal that alone never acts (a detector's metric anomaly, a node-wide reading): recorded and shown, no incident. */
export interface Observation {
  id: string
  atMs: number
  component: string
  failureClass: string
  metric: string
  value: number
  score: number
  detail: string
  /** Why it did not open an incident. */
  why: string
}

export interface MicroLoopOptions {
  node: string
  hlc: Hlc
  now?: () => number
  random?: () => number
  /** Timers for the watchdog, holds and start-up grace (virtual time in tests). */
  timers?: Scheduler
  supervisor: MicroSupervisor
  probes?: MicroProbes
  /** Defaults to the fixed playbook. */
  policy?: RecoveryPolicy
  /** Root-cause ranking; defaults to "the incident's own component". */
  diagnose?: (incident: Incident, context: DiagnoseContext) => Promise<Diagnosis> | Diagnosis
  /** Other nodes' recent anomalies (the meso loop's): a remote component's own failing signal counts for the do-no-harm check on the action's target. */
  remoteAnomalies?: () => readonly Anomaly[]
  /** Extra detectors (metrics, predictive signals). */
  sources?: AnomalySource[]
  /** Verification per failure class; the default is the component's probes (or process liveness). */
  verifiers?: Record<string, ClassVerifier>
  /** MB used under a directory now (a component's `limits.disk.path`): a writer over its limit is not started again. */
  diskUsageMb?: (path: string) => number | undefined
  /** A failure's own measure before and after each action (disk usage, CPU share, RSS); see Measure. */
  measure?: (component: string, failureClass: string) => Promise<Measure | undefined> | Measure | undefined
  /** Asked when a plan requires approval; without it such plans are escalated. */
  approve?: (incident: Incident, plan: PlannedAction) => Promise<boolean>
  /** A relocatable component the fleet places (a hold's retry lifts its quarantine here but does not start it). */
  placedByFleet?: (component: string) => boolean
  /** Receives a copy of an incident whenever it changes (the agent's incident book). */
  publish?: (incident: Incident) => void
  recoveryConfig?: Record<string, ComponentRecoveryConfig>
  recoveryDefaults?: Partial<RecoveryDefaults>
  actions?: ActionTable
  logger?: Logger
  defaults?: TuningOverrides<typeof MICRO_DEFAULTS>
  /** Retry back-off of components the loop gave up on (HOLD_DEFAULTS). */
  holds?: Partial<HoldTuning>
}

export interface MicroEvents {
  incident: Incident
  step: { incident: Incident, step: IncidentStep }
  closed: Incident
  outcome: Outcome
  attributed: { incidentId: string, anomaly: Anomaly }
  observation: Observation
  /** The loop gave up on a component for now: it is retried at `retryAtMs` (or when what it waits for is there). */
  hold: Hold
  /** A held component is tried again. */
  retry: Hold & { action: string }
  /** A component retried after a hold stayed healthy: the hold is over. */
  released: { component: string, attempts: number, healthyMs: number }
  /** The watchdog found a component no incident was handling (a supervision gap). */
  gap: { component: string, detail: string }
}

export interface MicroStats {
  anomalies: number
  incidentsOpened: number
  recovered: number
  escalated: number
  quarantined: number
  attributedToRecovery: number
  ignoredQuarantined: number
  handlerErrors: number
  droppedSteps: number
  /** Probe failures of a component still starting (no probe passed since its start), held back by the startup grace. */
  startupDeferred: number
  /** Signals that alone never act, recorded as observations. */
  observations: number
  /** Clean exits of `restart: on-failure` components (finished jobs): no incident. */
  completedExits: number
  /** Failures the watchdog found that no incident was handling (each a gap the event path missed). */
  watchdogReports: number
  /** Components put on hold after an incident that did not heal them, retries made, holds ended by a healthy run. */
  holds: number
  retries: number
  releasedAfterRetry: number
  /** Actions that made their failure's measure worse (recorded, not repeated on that component). */
  worsened: number
  /** Stale copies of a component (ours, outside its process group) stopped because they held its port. */
  staleCopiesStopped: number
}

export interface MicroLoop {
  start: () => void
  /** Stops listening; waits (bounded) for recoveries in flight. */
  stop: (budgetMs?: number) => Promise<void>
  /** Feeds one anomaly (what sources call). Returns the incident it opened or was attributed to. */
  report: (r: AnomalyReport) => { incidentId: string, opened: boolean } | undefined
  incidents: () => Incident[]
  incident: (id: string) => Incident | undefined
  outcomes: () => Outcome[]
  observations: () => Observation[]
  /** Components on hold (given up on for now, retried on a back-off). */
  holds: () => Hold[]
  /** An operator took over a component (started, restarted or released it): forget its hold and its back-off. */
  forget: (component: string) => void
  /** Resolves when the incident closes (recovered, escalated or quarantined). */
  settled: (id: string) => Promise<Incident>
  on: <K extends keyof MicroEvents>(event: K, fn: (v: MicroEvents[K]) => void) => Unsubscribe
  readonly recovery: Recovery
  readonly policy: RecoveryPolicy
  stats: () => MicroStats
}

const CLOSED = new Set(['recovered', 'escalated', 'quarantined'])
/** What a process says when its port is taken (Node, Python, Go, Rust, Java, nginx). */
const BIND_FAILED = /EADDRINUSE|address already in use|address in use|Only one usage of each socket address|BindException|bind\(\) to .* failed/i
/** Actions that (re)start the component's process. */
const STARTS_PROCESS = actionsWhere('startsProcess')
/** Metrics of an incident opened because the process is not running. */
const EXIT_METRICS = new Set(['process.exit', 'watchdog.not_running'])

/** Did `after` grow past `before` by more than noise and `fraction` of it? (pure) */
export function worsened (before: Measure, after: Measure, fraction: number): boolean {
  return after.value - before.value > Math.max(before.noise, Math.abs(before.value) * fraction)
}

function readEnviron (pid: number): string[] {
  try { return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0') } catch { return [] }
}

export function createMicroLoop (options: MicroLoopOptions): MicroLoop {
  const d = { ...MICRO_DEFAULTS, ...options.defaults }
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const timers = options.timers ?? realScheduler
  const { hlc, node, supervisor, probes } = options
  const logger = options.logger ?? silentLogger
  const policy = options.policy ?? createPlaybook({ now })
  const listeners = new Map<keyof MicroEvents, Set<(v: never) => void>>()
  const emit = <K extends keyof MicroEvents>(k: K, v: MicroEvents[K]): void => {
    for (const fn of listeners.get(k) ?? []) {
      try { (fn as (x: MicroEvents[K]) => void)(v) } catch (err) { stats.handlerErrors++; logger.error({ err }, 'micro loop listener threw') }
    }
  }
  const stats: MicroStats = {
    anomalies: 0, incidentsOpened: 0, recovered: 0, escalated: 0, quarantined: 0, attributedToRecovery: 0, ignoredQuarantined: 0, handlerErrors: 0, droppedSteps: 0, startupDeferred: 0,
    observations: 0, completedExits: 0, watchdogReports: 0, holds: 0, retries: 0, releasedAfterRetry: 0, worsened: 0, staleCopiesStopped: 0
  }

  const onStep = (incident: Incident, step: IncidentStep): void => { emit('step', { incident, step }) }
  const log: IncidentLog = createIncidentLog({
    node,
    hlc,
    now,
    maxIncidents: d.maxIncidents,
    maxAnomaliesPerIncident: d.maxAnomaliesPerIncident,
    publish: options.publish,
    onStep
  })

  const infoOf = (component: string): ReturnType<MicroSupervisor['info']> | undefined => {
    try { return supervisor.info(component) ?? undefined } catch { return undefined }
  }
  const specOf = (component: string): SpecView => (infoOf(component)?.spec ?? {}) as SpecView

  /**
   * The listener of one of the component's local http/tcp probe ports, when it is not the component's own
   * process group. `ours`: it carries the component's name in its environment (a stale copy: its probes
   * would pass while the component itself is down). Other owners are not necessarily wrong (a container's
   * port proxy, a front proxy): only a start that failed to bind makes them a cause.
   */
  const strangerOnPort = (component: string): { port: number, pid: number, command: string, ours: boolean } | undefined => {
    const info = infoOf(component)
    const spec = specOf(component)
    if (info == null || spec.shared === true) return undefined
    const pid = info.pid ?? undefined
    for (const p of spec.probes ?? []) {
      const port = localProbePort(p)
      if (port === undefined) continue
      const owner = portOwner(port, { first: pid != null ? [pid] : [] })
      if (owner == null) continue // nobody listens (the probe fails on its own), or the owner is not visible to us
      if (pid != null && (owner.pid === pid || owner.pgrp === pid)) continue
      // A leftover copy of this same component (outside its current group) carries its name in its environment.
      const ours = readEnviron(owner.pid).includes(`${COMPONENT_ENV}=${component}`)
      return { port, pid: owner.pid, command: owner.command, ours }
    }
    return undefined
  }

  const defaultVerify = async (component: string): Promise<boolean> => {
    if (probes != null) {
      if (!(await probes.checkNow(component)).healthy) return false
    } else {
      const i = infoOf(component)
      if (i == null || i.state !== 'running' || !pidAlive(i.pid)) return false
    }
    const s = strangerOnPort(component)
    if (s?.ours === true) throw new Error(`port ${s.port} answers from pid ${s.pid} (${s.command || 'unknown'}), a stale copy of ${component}, not from its own process`)
    return true
  }
  const verifiers = options.verifiers ?? {}

  /**
   * Would (re)starting the component make things worse? Its own directory over its declared disk limit: a
   * writer started again writes more (the measure says how full). Returns why, and what a retry waits for.
   */
  const startWouldHarm = (component: string): { why: string, waitingFor: Hold['waitingFor'] & object } | undefined => {
    const disk = (infoOf(component)?.spec as { limits?: { disk?: { path: string, limitMb: number } } } | undefined)?.limits?.disk
    if (disk === undefined || options.diskUsageMb == null) return undefined
    const used = options.diskUsageMb(disk.path)
    if (used === undefined || used < disk.limitMb * d.diskStartHighWater) return undefined
    const clear = disk.limitMb * d.diskStartClearFraction
    return {
      why: `${disk.path} holds ${used.toFixed(1)} MB of its ${disk.limitMb} MB limit, and ${component} writes there`,
      waitingFor: { what: `${disk.path} is under ${clear.toFixed(0)} MB`, ready: () => (options.diskUsageMb?.(disk.path) ?? Number.POSITIVE_INFINITY) < clear, early: false }
    }
  }

  const recovery = createRecovery({
    target: supervisor,
    record: (id, s) => log.step(id, s),
    verify: async ({ component, incident }) => {
      const v = verifiers[incident.failureClass]
      // The class verifier checks the symptom; the probes check the component still serves.
      if (v != null) return (await v(component, incident)) && (await defaultVerify(component))
      return await defaultVerify(component)
    },
    config: options.recoveryConfig,
    defaults: options.recoveryDefaults,
    now,
    random,
    logger,
    actions: options.actions
  })

  const timeline: Anomaly[] = []
  /** component → incident being handled for it (incident component and plan target). */
  const active = new Map<string, string>()
  /** component → time its last recovery was verified (signals older than that are stale). */
  const verifiedAt = new Map<string, number>()
  const waiters = new Map<string, Array<(i: Incident) => void>>()
  const running = new Set<Promise<void>>()
  const outcomes: Outcome[] = []
  const observations: Observation[] = []
  const unsubs: Unsubscribe[] = []
  /** component → its last start, and whether a probe has passed since (startup grace). */
  const startup = new Map<string, { atMs: number, healthy: boolean, timer?: unknown }>()
  /** component → incidents since it last ran healthy for stableAfterMs (the crash-loop count). */
  const unstable = new Map<string, number>()
  /** component → when it was last seen unhealthy, failing or handled (stability is measured from it). */
  const lastTroubleAt = new Map<string, number>()
  /** `component\0class` → actions that made that failure's measure worse, until when. */
  const harmful = new Map<string, Map<ActionKind, number>>()
  const holds = createHolds(options.holds, random)
  let watchdogTimer: unknown
  let seq = 0
  let obsSeq = 0
  let started = false

  const makeAnomaly = (r: AnomalyReport): Anomaly => {
    seq++
    const a: Anomaly = {
      id: `${node.slice(0, 48)}:a${seq}`.slice(0, 128),
      node,
      component: r.component,
      metric: r.metric,
      kind: r.kind,
      score: Math.min(1, Math.max(0, Number.isFinite(r.score) ? r.score : 1)),
      value: Number.isFinite(r.value) ? r.value : 0,
      hlc: encode(hlc.now()),
      atMs: r.onsetMs ?? now()
    }
    if (r.detail != null) a.detail = r.detail.slice(0, 4096)
    timeline.push(a)
    if (timeline.length > d.timelineSize) timeline.splice(0, timeline.length - d.timelineSize)
    return a
  }

  const supervises = (component: string): boolean => infoOf(component) != null

  const isQuarantined = (component: string): boolean => {
    if (recovery.isQuarantined(component)) return true
    return infoOf(component)?.state === 'quarantined'
  }

  /** Why this report must not act on its own (undefined: it may open an incident). */
  const observationOnly = (r: AnomalyReport): string | undefined => {
    if (r.observationOnly === true) return r.observationWhy ?? 'a metric anomaly alone: no probe failing, no limit crossed, no confirmed forecast'
    if (r.targetKind === 'node' && !supervises(r.component)) return 'a node-wide reading: it names no workload to act on'
    return undefined
  }

  const observe = (r: AnomalyReport, anomaly: Anomaly, why: string): void => {
    stats.observations++
    const o: Observation = { id: `${node.slice(0, 48)}:o${++obsSeq}`, atMs: anomaly.atMs, component: r.component, failureClass: r.failureClass, metric: r.metric, value: anomaly.value, score: anomaly.score, detail: (r.detail ?? r.metric).slice(0, 512), why }
    observations.push(o)
    if (observations.length > d.maxObservations) observations.splice(0, observations.length - d.maxObservations)
    emit('observation', o)
  }

  function report (r: AnomalyReport, opts: { gap?: boolean } = {}): { incidentId: string, opened: boolean } | undefined {
    stats.anomalies++
    const anomaly = makeAnomaly(r)
    const holder = active.get(r.component)
    if (holder != null) {
      log.attach(holder, anomaly)
      const inRecovery = recovery.inProgress(r.component) != null
      if (inRecovery) stats.attributedToRecovery++
      log.step(holder, {
        kind: 'note',
        summary: inRecovery
          ? `${r.metric} on ${r.component} attributed to the recovery in progress: ${r.detail ?? ''}`.trim()
          : `further anomaly on ${r.component} while its incident is open: ${r.metric} ${r.detail ?? ''}`.trim(),
        data: { anomalyId: anomaly.id, attributedToRecovery: inRecovery, failureClass: r.failureClass }
      })
      if (inRecovery) emit('attributed', { incidentId: holder, anomaly })
      return { incidentId: holder, opened: false }
    }
    const why = observationOnly(r)
    if (why !== undefined) { observe(r, anomaly, why); return undefined }
    const lastVerified = verifiedAt.get(r.component)
    let onset = anomaly.atMs
    if (lastVerified != null && onset <= lastVerified) {
      // Describes the process before the verified recovery: stale, not a new failure — unless the watchdog
      // sees it persist now, in which case it began (as far as we can tell) after that verification.
      if (opts.gap !== true) { stats.attributedToRecovery++; return undefined }
      onset = lastVerified + 1
    }
    if (isQuarantined(r.component)) { stats.ignoredQuarantined++; return undefined }
    let targetKind: TargetKind = r.targetKind ?? 'process'
    if (r.targetKind == null) targetKind = specOf(r.component).targetKind ?? 'process'
    const incident = log.open({
      component: r.component,
      failureClass: r.failureClass,
      targetKind,
      anomaly,
      onsetMs: onset,
      summary: `${r.failureClass} detected on ${r.component}: ${r.detail ?? r.metric}`,
      evidence: r.evidence ?? tailOf(r.component)
    })
    stats.incidentsOpened++
    active.set(r.component, incident.id)
    unstable.set(r.component, (unstable.get(r.component) ?? 0) + 1)
    lastTroubleAt.set(r.component, now())
    emit('incident', incident)
    const p = handle(incident).catch((err) => { stats.handlerErrors++; logger.error({ err, incident: incident.id }, 'micro loop handler failed') })
    running.add(p)
    void p.finally(() => running.delete(p))
    return { incidentId: incident.id, opened: true }
  }

  const defaultDiagnose = (incident: Incident): Diagnosis => ({
    incidentId: incident.id,
    hlc: encode(hlc.now()),
    candidates: [{ component: incident.component, score: 1, confidence: 0.5, explanation: 'no diagnosis configured: the incident\'s own component', evidence: incident.anomalies.map((a) => `${a.metric}=${a.value}`).slice(0, 8) }],
    independentGroups: [[incident.component]],
    attributedToRecovery: [],
    explanation: 'default: the failing component is its own root cause'
  })

  /**
   * Do no harm: the diagnosis may point the action at another component only when that component
   * fails on its own signal — an open incident of its own, or a probe, exit or forecast anomaly (here
   * or reported by a peer) since shortly before this incident, or a failing direct probe (checked
   * where the incident is handled) — never on metric evidence alone (a healthy process is not
   * restarted because its numbers moved).
   */
  const failsOnItsOwn = (incident: Incident, component: string): boolean => {
    const sinceMs = incident.openedAtMs - d.ownFailureWindowMs
    const own = (a: Anomaly): boolean => a.component === component && a.kind !== 'metric' && a.kind !== 'training' && a.atMs >= sinceMs
    return timeline.some(own) || (options.remoteAnomalies?.() ?? []).some(own) ||
      log.list().some((i) => i.component === component && i.id !== incident.id && !CLOSED.has(i.status))
  }

  const context = (): DiagnoseContext => ({
    timeline: [...timeline],
    open: log.list().filter((i) => !CLOSED.has(i.status)),
    recovering: [...active.keys()].filter((c) => recovery.inProgress(c) != null)
  })

  const outcomeOf = (incident: Incident, plan: PlannedAction, r: RecoveryResult): Outcome => ({
    incidentId: incident.id,
    node,
    component: plan.target,
    failureClass: incident.failureClass,
    action: plan.action,
    success: r.success,
    durationMs: r.durationMs,
    cost: r.cost,
    hlc: encode(hlc.now())
  })

  const measureNow = async (component: string, failureClass: string): Promise<Measure | undefined> => {
    if (options.measure == null) return undefined
    try { return (await options.measure(component, failureClass)) ?? undefined } catch { return undefined }
  }
  const harmKey = (component: string, failureClass: string): string => `${component}\u0000${failureClass}`
  const harmfulNow = (component: string, failureClass: string): Set<ActionKind> => {
    const m = harmful.get(harmKey(component, failureClass))
    const out = new Set<ActionKind>()
    if (m == null) return out
    for (const [a, until] of m) if (until > now()) out.add(a); else m.delete(a)
    return out
  }

  async function waitNotBusy (component: string, ownId: string): Promise<void> {
    // Another incident's recovery holds this target: wait for it (bounded by its own timeouts).
    for (let i = 0; i < 600 && recovery.inProgress(component) != null && recovery.inProgress(component) !== ownId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Stops a stale copy of the component (ours, outside its group) that holds its port; true if one was stopped. */
  async function stopStaleCopy (incident: Incident): Promise<{ port: number, pid: number } | undefined> {
    const s = strangerOnPort(incident.component)
    if (s === undefined) return undefined
    if (!s.ours) return undefined
    try { process.kill(s.pid, 'SIGTERM'); process.kill(s.pid, 'SIGCONT') } catch {}
    for (let i = 0; i < 50 && pidAlive(s.pid); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    if (pidAlive(s.pid)) { try { process.kill(s.pid, 'SIGKILL') } catch {} }
    stats.staleCopiesStopped++
    log.step(incident.id, { kind: 'note', summary: `a stale copy of ${incident.component} (pid ${s.pid}: ${s.command}) held its port ${s.port}: stopped it`, data: { staleCopy: s.pid, port: s.port } })
    return { port: s.port, pid: s.pid }
  }

  async function handle (incident: Incident): Promise<void> {
    const extraHeld: string[] = []
    /** What a hold after this incident waits for (e.g. a port a stranger holds). */
    let waitingFor: Hold['waitingFor']
    try {
      let diagnosis: Diagnosis
      try {
        diagnosis = options.diagnose != null ? await options.diagnose(structuredClone(incident), context()) : defaultDiagnose(incident)
      } catch (err) {
        log.step(incident.id, { kind: 'note', summary: `diagnosis failed (${errorInfo(err).message}); assuming the incident's own component` })
        diagnosis = defaultDiagnose(incident)
      }
      // A candidate's node says where its anomaly was seen; a component this node supervises (a shared one
      // too) can be acted on here, whoever saw it first: the policy must not pass over it as "remote".
      diagnosis = { ...diagnosis, candidates: diagnosis.candidates.map((c) => c.node !== undefined && c.node !== node && supervises(c.component) ? { ...c, node } : c) }
      // A port held by someone else explains a crash whose last words say the bind failed: a restart cannot
      // bind it either until that process is gone. A stale copy of the component (ours) is stopped.
      const stranger = ['crash', 'unhealthy', 'hang'].includes(incident.failureClass) ? strangerOnPort(incident.component) : undefined
      const bindFailed = (incident.steps.find((x) => x.kind === 'detected')?.evidence ?? []).some((l) => BIND_FAILED.test(l))
      if (stranger !== undefined && !stranger.ours && incident.failureClass === 'crash' && bindFailed) {
        const port = stranger.port
        diagnosis = {
          ...diagnosis,
          explanation: `port ${port} of ${incident.component} is held by pid ${stranger.pid} (${stranger.command || 'unknown'}), which is not ${incident.component}'s process`,
          candidates: [{ component: incident.component, score: 1, confidence: 0.9, explanation: `port ${port} is held by pid ${stranger.pid} (${stranger.command || 'unknown'}), not by ${incident.component}: it cannot bind it until that process is gone`, evidence: [`listener of port ${port}: pid ${stranger.pid}`] }, ...diagnosis.candidates.filter((c) => c.component !== incident.component)]
        }
        waitingFor = { what: `port ${port} is free`, ready: () => portOwner(port) === undefined, early: true }
      }
      const top = diagnosis.candidates[0]
      log.step(incident.id, {
        kind: 'diagnosed',
        summary: top != null ? `root cause: ${top.component} (confidence ${top.confidence.toFixed(2)}): ${top.explanation}` : `no root cause found: ${diagnosis.explanation}`,
        evidence: top?.evidence,
        data: { candidates: diagnosis.candidates.slice(0, 5).map((c) => ({ component: c.component, score: c.score, confidence: c.confidence })), attributedToRecovery: diagnosis.attributedToRecovery, ...(stranger !== undefined && (stranger.ours || waitingFor !== undefined) ? { portHeldBy: { port: stranger.port, pid: stranger.pid, command: stranger.command, staleCopy: stranger.ours } } : {}) }
      })
      if (stranger?.ours === true) await stopStaleCopy(incident)
      const suspect = diagnosis.candidates[0]
      if (suspect != null && suspect.component !== incident.component) {
        let failing = failsOnItsOwn(incident, suspect.component)
        let probed: boolean | undefined
        if (!failing && probes != null) {
          // Interventional evidence, where it is cheap: probe the suspect directly before acting on it.
          try { probed = !(await probes.checkNow(suspect.component)).healthy } catch { probed = undefined }
          failing = probed === true
        }
        if (probed !== undefined) log.step(incident.id, { kind: 'note', summary: `direct probe of ${suspect.component}, the likely cause: ${probed ? 'failing (confirms)' : 'healthy (evidence against)'}`, data: { suspect: suspect.component, probedFailing: probed } })
        if (!failing) {
          log.step(incident.id, { kind: 'note', summary: `${suspect.component} is the likely cause, but it shows no failure of its own (no failing probe, exit or incident): not acted on from metric evidence alone; acting on ${incident.component}`, data: { suspect: suspect.component, withheld: true } })
          // What the policy plans on: the failing component first, the suspect kept as context.
          const own = diagnosis.candidates.find((c) => c.component === incident.component)
          diagnosis = {
            ...diagnosis,
            candidates: [
              { ...(own ?? { evidence: [] }), component: incident.component, score: suspect.score, confidence: suspect.confidence, explanation: `acted on as the failing component: ${suspect.component}, the likely cause, shows no failure of its own` },
              ...diagnosis.candidates.filter((c) => c.component !== incident.component)
            ]
          }
        }
      }
      const attempted: ActionKind[] = []
      const restartPolicy = specOf(incident.component).restart
      const exitIncident = EXIT_METRICS.has(incident.anomalies[0]?.metric ?? '')
      for (let round = 0; ; round++) {
        let plan: PlannedAction
        const target = diagnosis.candidates[0]?.component ?? incident.component
        if (round >= d.maxRoundsPerIncident) {
          plan = { action: 'escalate', target: incident.component, reason: `gave up after ${round} actions (${attempted.join(', ')})`, requiresApproval: false, alternatives: [] }
        } else if (exitIncident && restartPolicy === 'never') {
          plan = { action: 'escalate', target: incident.component, reason: `${incident.component} has restart: never, so it is not started again`, requiresApproval: false, alternatives: [] }
        } else if (waitingFor !== undefined && target === incident.component) {
          plan = { action: 'escalate', target: incident.component, reason: `${diagnosis.explanation}; a restart cannot help until it is gone (retried as soon as ${waitingFor.what})`, requiresApproval: false, alternatives: [] }
        } else {
          // Never an action that cannot remedy this class (NOT_A_REMEDY) or that made it worse here before.
          const bad = harmfulNow(target, incident.failureClass)
          const notRemedy = NOT_A_REMEDY[incident.failureClass] ?? []
          const available = (await recovery.available(target)).filter((a) => !bad.has(a) && !notRemedy.includes(a))
          plan = await policy.plan({ incident: structuredClone(incident), diagnosis, attempted: [...attempted], available, recentFailures: unstable.get(incident.component) ?? 1 })
        }
        if (incident.targetKind === 'node' && plan.target !== incident.component && plan.action !== 'escalate' && plan.action !== 'none' && !supervises(incident.component)) {
          // A node-wide signal (a system metric) names no workload: acting on one needs that workload's own signal
          // (its probes, limits or metrics open their own incident), not a guess from the host's numbers.
          plan = { ...plan, action: 'escalate', reason: `${incident.failureClass} on ${incident.component} is node-wide: no action on ${plan.target} without a signal of its own (policy proposed ${plan.action} ${plan.target})`, target: incident.component }
        }
        const harm = STARTS_PROCESS.has(plan.action) ? startWouldHarm(plan.target) : undefined
        if (harm !== undefined) {
          // Do no harm: starting a writer whose directory is over its limit only writes more.
          plan = { ...plan, action: 'escalate', reason: `${plan.action} ${plan.target} withheld: ${harm.why}; retried once ${harm.waitingFor.what}` }
          waitingFor = harm.waitingFor
        }
        if (plan.target !== incident.component && !active.has(plan.target)) { active.set(plan.target, incident.id); extraHeld.push(plan.target) }
        log.step(incident.id, {
          kind: 'planned',
          summary: `${plan.action} ${plan.target}: ${plan.reason}`,
          data: { action: plan.action, target: plan.target, requiresApproval: plan.requiresApproval, round, alternatives: plan.alternatives.slice(0, 8), budgetLeft: plan.budgetLeft ?? null }
        })
        if (plan.requiresApproval && plan.action !== 'escalate' && plan.action !== 'none') {
          let ok = false
          try { ok = options.approve != null && await options.approve(structuredClone(incident), plan) } catch { ok = false }
          log.step(incident.id, { kind: 'approval', summary: ok ? `${plan.action} approved` : `${plan.action} not approved${options.approve == null ? ' (no approver on this node)' : ''}`, data: { approved: ok, action: plan.action } })
          if (!ok) {
            try { policy.cancel?.(incident.id, plan.action, 'not approved by an operator') } catch (err) { logger.warn({ err }, 'policy.cancel threw') }
            // Denied or timed out: ask the policy for its next admissible choice (never the denied action again);
            // with no approver on this node, or no rounds left, escalate.
            if (options.approve != null && round + 1 < d.maxRoundsPerIncident) { attempted.push(plan.action); continue }
            plan = { ...plan, action: 'escalate', reason: `${plan.action} needs approval and was not approved` }
          }
        }
        await waitNotBusy(plan.target, incident.id)
        const acting = plan.action !== 'escalate' && plan.action !== 'none'
        const before = acting ? await measureNow(plan.target, incident.failureClass) : undefined
        const result = await recovery.execute(incident, plan)
        if (acting) {
          const outcome = outcomeOf(incident, plan, result)
          outcomes.push(outcome)
          if (outcomes.length > d.maxOutcomes) outcomes.splice(0, outcomes.length - d.maxOutcomes)
          try { policy.record(outcome) } catch (err) { logger.warn({ err }, 'policy.record threw') }
          emit('outcome', outcome)
        }
        if (before !== undefined && result.status !== 'recovered') {
          const after = await measureNow(plan.target, incident.failureClass)
          if (after !== undefined && worsened(before, after, d.worseFraction)) {
            // It made the failure's own measure worse: never again on this component for this class (for a while).
            stats.worsened++
            const k = harmKey(plan.target, incident.failureClass)
            const m = harmful.get(k) ?? new Map<ActionKind, number>()
            m.set(plan.action, now() + d.harmfulForgetMs)
            harmful.set(k, m)
            const fmt = (x: Measure): string => `${Number(x.value.toFixed(2))} ${x.unit}`
            log.step(incident.id, {
              kind: 'note',
              summary: `${plan.action} made ${before.what} worse (${fmt(before)} → ${fmt(after)})${result.rolledBack ? '; rolled back' : ''}: not tried again for ${incident.failureClass} on ${plan.target}`,
              data: { worsened: true, action: plan.action, before: before.value, after: after.value, unit: before.unit, rolledBack: result.rolledBack }
            })
            logger.warn({ component: plan.target, action: plan.action, failureClass: incident.failureClass, before: before.value, after: after.value, unit: before.unit }, 'a recovery action made its failure worse; it will not be repeated')
          }
        }
        if (result.status === 'recovered') {
          stats.recovered++
          verifiedAt.set(plan.target, result.verifiedAtMs ?? now())
          if (plan.target !== incident.component) verifiedAt.set(incident.component, result.verifiedAtMs ?? now())
          return
        }
        if (result.status === 'escalated') { stats.escalated++; return }
        if (result.status === 'quarantined') { stats.quarantined++; return }
        if (result.status === 'noop') {
          // Nothing to do here, and the component is healthy again (e.g. another node healed a shared component).
          let healthy = false
          try { healthy = await defaultVerify(incident.component) } catch { healthy = false }
          if (healthy) {
            log.step(incident.id, { kind: 'recovered', summary: `${incident.component} is healthy again without an action from this node (${plan.reason})`, data: { by: 'elsewhere' } })
            stats.recovered++
            verifiedAt.set(incident.component, now())
            return
          }
          log.step(incident.id, { kind: 'escalated', summary: 'policy chose to do nothing; handing to an operator', data: { to: 'operator' } })
          stats.escalated++
          return
        }
        attempted.push(plan.action)
      }
    } catch (err) {
      stats.handlerErrors++
      log.step(incident.id, { kind: 'escalated', summary: `micro loop error: ${errorInfo(err).message}`, data: { to: 'operator', error: errorInfo(err) } })
      stats.escalated++
    } finally {
      if (active.get(incident.component) === incident.id) active.delete(incident.component)
      for (const c of extraHeld) if (active.get(c) === incident.id) active.delete(c)
      lastTroubleAt.set(incident.component, now())
      stats.droppedSteps = log.droppedSteps
      const final = log.get(incident.id) ?? incident
      if ((final.status === 'escalated' || final.status === 'quarantined') && started) holdAfter(final, waitingFor)
      emit('closed', final)
      for (const w of waiters.get(incident.id) ?? []) w(structuredClone(final))
      waiters.delete(incident.id)
    }
  }

  /** The loop could not heal it: put it on hold, retried on a back-off (or as soon as what it waits for is there). */
  function holdAfter (incident: Incident, waitingFor: Hold['waitingFor']): void {
    const c = incident.component
    const info = infoOf(c)
    if (info == null) return // node-wide: nothing to retry
    if (incident.failureClass === 'probe_error') return // the probe cannot run: retrying the workload says nothing
    const spec = specOf(c)
    const state = info.state
    if (state !== 'quarantined' && state !== 'exited' && state !== 'running' && state !== 'starting') return // stopped on purpose
    if (state === 'exited' && !shouldRun({ restart: spec.restart ?? 'on-failure', lastExit: info.lastExit })) return
    const last = [...incident.steps].reverse().find((s) => s.kind === 'escalated' || s.kind === 'quarantined' || s.kind === 'planned')
    const reason = last?.summary ?? incident.status
    const h = holds.hold(c, incident.id, reason, now(), waitingFor)
    stats.holds++
    emit('hold', { ...h })
  }

  async function retry (h: Hold): Promise<void> {
    const c = h.component
    if (!started || active.has(c)) return
    const info = infoOf(c)
    if (info == null) { holds.clear(c); return }
    holds.retried(c, now())
    stats.retries++
    const fleet = options.placedByFleet?.(c) === true
    let action: string
    try {
      if (info.state === 'quarantined') {
        supervisor.release?.(c)
        recovery.release(c)
      }
      const now2 = infoOf(c)
      if (fleet) {
        action = 'lifted the quarantine (the fleet places this relocatable component)'
        holds.clear(c)
      } else if (now2 != null && (now2.state === 'stopped' || now2.state === 'exited')) {
        if (shouldRun({ restart: specOf(c).restart ?? 'on-failure', lastExit: now2.lastExit })) {
          action = 'started it again'
          await supervisor.startComponent(c)
        } else {
          // A job that had finished (exit 0 under restart: on-failure) before it was contained: not run again.
          action = 'lifted the quarantine (its last run had finished: its restart policy does not run it again)'
          holds.clear(c)
        }
      } else {
        action = 'looking at it again'
      }
    } catch (err) {
      action = `could not start it: ${errorInfo(err).message}`
    }
    emit('retry', { ...(holds.get(c) ?? h), action })
    // Still failing (the process is running but unhealthy, or its start failed): the watchdog's next pass opens
    // an incident for it now that the hold is in probation.
  }

  /** One pass: stability, holds due, supervision gaps. */
  async function watchdogPass (): Promise<void> {
    const t = now()
    for (const h of holds.due(t)) await retry(h)
    const snapshots: ComponentSnapshot[] = []
    for (const name of supervisor.names()) {
      const info = infoOf(name)
      if (info == null) continue
      const spec = specOf(name)
      const verdict = probes?.health?.(name)
      const failing = verdict?.probes.find((p) => p.state === 'unhealthy')
      const snap: ComponentSnapshot = { name, state: info.state, shared: spec.shared === true, restart: spec.restart ?? 'on-failure' }
      if (info.lastExit != null) snap.lastExit = info.lastExit
      if (info.startedAtMs != null) snap.startedAtMs = info.startedAtMs
      if (failing !== undefined) snap.failing = { probe: failing.probe, kind: failing.kind, detail: failing.lastResult?.detail ?? 'failing', consecutiveFailures: failing.consecutiveFailures, ...(failing.firstFailureAtMs !== undefined ? { firstFailureAtMs: failing.firstFailureAtMs } : {}), ...(failing.lastResult?.atMs !== undefined ? { lastResultAtMs: failing.lastResult.atMs } : {}) }
      const v = verifiedAt.get(name)
      if (v !== undefined) snap.verifiedAtMs = v
      snapshots.push(snap)
      // Stability: running, every probe passing, no incident, for stableAfterMs since its start and its last trouble.
      const healthy = info.state === 'running' && (verdict === undefined ? pidAlive(info.pid) || spec.shared === true : verdict.healthy) && !active.has(name)
      if (!healthy) { lastTroubleAt.set(name, t); continue }
      const since = Math.max(info.startedAtMs ?? 0, lastTroubleAt.get(name) ?? 0)
      if (t - since < d.stableAfterMs) continue
      if ((unstable.get(name) ?? 0) > 0) { unstable.set(name, 0); recovery.resetBackoff(name) }
      const h = holds.get(name)
      if (h !== undefined && h.phase === 'probation') {
        holds.clear(name)
        stats.releasedAfterRetry++
        emit('released', { component: name, attempts: h.attempt, healthyMs: t - since })
      }
    }
    const gaps = supervisionGaps(snapshots, {
      handled: (c) => active.has(c),
      onHold: (c) => holds.get(c)?.phase === 'waiting',
      starting: (c) => { const st = startup.get(c); return st != null && !st.healthy && t - st.atMs < d.startupGraceMs },
      nowMs: t
    })
    for (const g of gaps) {
      stats.watchdogReports++
      emit('gap', { component: g.component, detail: g.detail ?? g.metric })
      report(g, { gap: true })
    }
  }

  const scheduleWatchdog = (): void => {
    watchdogTimer = timers.setTimeout(() => {
      watchdogTimer = undefined
      if (!started) return
      watchdogPass().catch((err) => { stats.handlerErrors++; logger.error({ err }, 'micro loop watchdog failed') }).finally(() => { if (started) scheduleWatchdog() })
    }, d.watchdogIntervalMs)
  }

  const tailEvidence = (tail: { stdout: string[], stderr: string[] }): string[] => [
    ...tail.stderr.slice(-d.tailEvidenceLines).map((l) => `stderr: ${l}`),
    ...tail.stdout.slice(-Math.max(0, d.tailEvidenceLines - Math.min(tail.stderr.length, d.tailEvidenceLines))).map((l) => `stdout: ${l}`)
  ]

  const tailOf = (component: string): string[] | undefined => {
    try { return supervisor.tail == null ? undefined : tailEvidence(supervisor.tail(component)) } catch { return undefined }
  }

  return {
    start () {
      if (started) return
      started = true
      unsubs.push(supervisor.on('exit', (e) => {
        if (e.exit.expected) return
        const spec = specOf(e.name)
        if (completed({ restart: spec.restart ?? 'on-failure', lastExit: e.exit })) {
          // A job that finished (exit 0 under restart: on-failure): done, not a failure.
          stats.completedExits++
          logger.info({ component: e.name }, 'component completed (exit 0; restart: on-failure): not restarted')
          return
        }
        const failureClass = classifyExit(e.exit)
        const detail = e.exit.error ?? `exited with code ${String(e.exit.code)}${e.exit.signal != null ? `, signal ${e.exit.signal}` : ''}${e.exit.reason != null ? ` (${e.exit.reason})` : ''}`
        report({ component: e.name, failureClass, metric: 'process.exit', kind: 'exit', score: 1, value: e.exit.code ?? -1, onsetMs: e.exit.atMs, detail, evidence: tailEvidence(e.tail) })
      }))
      if (probes != null) {
        unsubs.push(probes.on('probe_error', (e) => {
          // A probe that cannot run says nothing about the workload: report it once the runner gives up on it.
          if (!e.gaveUp) return
          report({ component: e.component, failureClass: 'probe_error', metric: `probe.${e.kind}`, kind: 'probe', score: 0.5, value: e.errors, onsetMs: e.atMs, detail: `probe ${e.probe} cannot run${e.unsupported ? ' (unsupported here)' : ''}: ${e.reason}; gave up after ${e.errors} attempt(s)` })
        }))
        unsubs.push(supervisor.on('start', (e) => {
          const prev = startup.get(e.name)
          if (prev?.timer != null) timers.clearTimeout(prev.timer)
          startup.set(e.name, { atMs: e.atMs, healthy: false })
        }))
        unsubs.push(probes.on('result', (e) => {
          const st = startup.get(e.component)
          if (st != null && e.result.status === 'ok') {
            st.healthy = true
            if (st.timer != null) { timers.clearTimeout(st.timer); st.timer = undefined }
          }
        }))
        unsubs.push(probes.on('unhealthy', (e) => {
          const detail = e.status.lastResult?.detail
          const st = startup.get(e.component)
          if (st != null && !st.healthy && now() - st.atMs < d.startupGraceMs && e.status.corroborated === undefined) {
            // Still starting: not a failure yet. Open an incident only if it never becomes healthy within the grace.
            // (A process the kernel shows stopped or dead is not slow to start: that is reported at once.)
            stats.startupDeferred++
            if (st.timer == null) {
              st.timer = timers.setTimeout(() => {
                st.timer = undefined
                if (!started || st.healthy || startup.get(e.component) !== st) return
                report({ component: e.component, failureClass: 'unhealthy', metric: `probe.${e.kind}`, kind: 'probe', score: 1, value: e.status.consecutiveFailures, onsetMs: st.atMs, detail: `${e.probe} never passed within ${d.startupGraceMs} ms of start: ${detail ?? 'no detail'}`, evidence: tailOf(e.component) })
              }, Math.max(0, st.atMs + d.startupGraceMs - now()))
            }
            return
          }
          report({
            component: e.component,
            failureClass: classifyProbe(e.kind, detail),
            metric: `probe.${e.kind}`,
            kind: 'probe',
            score: 1,
            value: e.status.consecutiveFailures,
            onsetMs: e.status.firstFailureAtMs ?? e.atMs,
            detail: `${e.probe} failing ${e.status.consecutiveFailures}×: ${detail ?? 'no detail'}`,
            evidence: tailOf(e.component)
          })
        }))
      }
      for (const source of options.sources ?? []) unsubs.push(source(report))
      scheduleWatchdog()
    },
    async stop (budgetMs = 10_000) {
      started = false
      for (const u of unsubs.splice(0)) u()
      for (const st of startup.values()) if (st.timer != null) timers.clearTimeout(st.timer)
      if (watchdogTimer !== undefined) { timers.clearTimeout(watchdogTimer); watchdogTimer = undefined }
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => { timer = setTimeout(resolve, budgetMs) })])
      clearTimeout(timer)
    },
    report: (r) => report(r),
    incidents: () => log.list().map((i) => structuredClone(i)),
    incident: (id) => { const i = log.get(id); return i == null ? undefined : structuredClone(i) },
    outcomes: () => [...outcomes],
    observations: () => [...observations],
    holds: () => holds.list(),
    forget (component) {
      holds.clear(component)
      unstable.set(component, 0)
      recovery.release(component)
      lastTroubleAt.set(component, now())
    },
    settled: async (id) => {
      const i = log.get(id)
      if (i == null) throw new Error(`no incident ${id}`)
      if (CLOSED.has(i.status) && !active.has(i.component)) return structuredClone(i)
      if (CLOSED.has(i.status) && active.get(i.component) !== id) return structuredClone(i)
      return await new Promise<Incident>((resolve) => {
        const list = waiters.get(id) ?? []
        list.push(resolve)
        waiters.set(id, list)
      })
    },
    on: (event, fn) => {
      let set = listeners.get(event)
      if (set == null) { set = new Set(); listeners.set(event, set) }
      const f = fn as (v: never) => void
      set.add(f)
      return () => { set.delete(f) }
    },
    recovery,
    policy,
    stats: () => ({ ...stats, droppedSteps: log.droppedSteps })
  }
}
