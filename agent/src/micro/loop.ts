// The micro loop: supervisor exits, probe verdicts and any other anomaly
// source → incident → diagnose → policy → recovery (act, verify, roll back,
// escalate) → outcome. Everything is HLC-stamped and local: it needs no
// network at all. One recovery per component at a time; signals that a
// recovery itself causes (the old process's exit, a probe result that
// straddled the restart) are attributed to it and open no new incident.
import type { AnomalyReport } from '@homeostat/monitor'
import { encode, type Hlc } from '@homeostat/hlc'
import type { ActionKind, Anomaly, Diagnosis, Incident, IncidentStep, Outcome, PlannedAction, RecoveryPolicy, TargetKind, TuningOverrides } from '@homeostat/interface'
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
import { classifyExit, classifyProbe } from './classify.ts'
import { MICRO_DEFAULTS } from './defaults.ts'
import { createIncidentLog, incidentLogFrom, type IncidentLog, type IncidentManagerLike } from './incidents.ts'

type Unsubscribe = () => void

/** The supervisor as the micro loop uses it (the monitor's createSupervisor satisfies it). */
export interface MicroSupervisor extends RecoveryTarget {
  on: ((event: 'exit', fn: (e: { name: string, pid?: number, exit: { code: number | null, signal: string | null, atMs: number, expected: boolean, reason?: string, error?: string }, tail: { stdout: string[], stderr: string[] } }) => void) => Unsubscribe) &
  ((event: 'start', fn: (e: { name: string, pid?: number, atMs: number }) => void) => Unsubscribe)
  names: () => string[]
  info: (name: string) => TargetInfo & { spec?: object }
  /** stdout/stderr tails, copied into incidents as evidence. */
  tail?: (name: string) => { stdout: string[], stderr: string[] }
}

/** The probe runner as the micro loop uses it (the monitor's createProbeRunner satisfies it). */
export interface MicroProbes {
  checkNow: (name: string) => Promise<{ healthy: boolean, reasons: string[] }>
  on: ((event: 'unhealthy', fn: (e: { component: string, probe: string, kind: string, atMs: number, status: { firstFailureAtMs?: number, consecutiveFailures: number, lastResult?: { detail: string, latencyMs: number } } }) => void) => Unsubscribe) &
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

export interface MicroLoopOptions {
  node: string
  hlc: Hlc
  now?: () => number
  random?: () => number
  supervisor: MicroSupervisor
  probes?: MicroProbes
  /** Defaults to the fixed playbook. */
  policy?: RecoveryPolicy
  /** Root-cause ranking; defaults to "the incident's own component". */
  diagnose?: (incident: Incident, context: DiagnoseContext) => Promise<Diagnosis> | Diagnosis
  /** Extra detectors (metrics, predictive signals). */
  sources?: AnomalySource[]
  /** Verification per failure class; the default is the component's probes (or process liveness). */
  verifiers?: Record<string, ClassVerifier>
  /** Asked when a plan requires approval; without it such plans are escalated. */
  approve?: (incident: Incident, plan: PlannedAction) => Promise<boolean>
  /** Receives a copy of an incident whenever it changes (the agent's incident book). */
  publish?: (incident: Incident) => void
  /**
   * Keep incident records in the monitor's IncidentManager (persisted in the
   * store) instead of the loop's own in-memory log. The loop still decides
   * what opens an incident (anti-flapping) and writes every step through it.
   */
  incidents?: IncidentManagerLike
  recoveryConfig?: Record<string, ComponentRecoveryConfig>
  recoveryDefaults?: Partial<RecoveryDefaults>
  actions?: ActionTable
  logger?: { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void, debug: (o: object, m?: string) => void }
  defaults?: TuningOverrides<typeof MICRO_DEFAULTS>
}

export interface MicroEvents {
  incident: Incident
  step: { incident: Incident, step: IncidentStep }
  closed: Incident
  outcome: Outcome
  attributed: { incidentId: string, anomaly: Anomaly }
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
  /** Resolves when the incident closes (recovered, escalated or quarantined). */
  settled: (id: string) => Promise<Incident>
  on: <K extends keyof MicroEvents>(event: K, fn: (v: MicroEvents[K]) => void) => Unsubscribe
  readonly recovery: Recovery
  readonly policy: RecoveryPolicy
  stats: () => MicroStats
}

const CLOSED = new Set(['recovered', 'escalated', 'quarantined'])

export function createMicroLoop (options: MicroLoopOptions): MicroLoop {
  const d = { ...MICRO_DEFAULTS, ...options.defaults }
  const now = options.now ?? Date.now
  const { hlc, node, supervisor, probes } = options
  const logger = options.logger ?? { info () {}, warn () {}, error () {}, debug () {} }
  const policy = options.policy ?? createPlaybook({ now })
  const listeners = new Map<keyof MicroEvents, Set<(v: never) => void>>()
  const emit = <K extends keyof MicroEvents>(k: K, v: MicroEvents[K]): void => {
    for (const fn of listeners.get(k) ?? []) {
      try { (fn as (x: MicroEvents[K]) => void)(v) } catch (err) { stats.handlerErrors++; logger.error({ err }, 'micro loop listener threw') }
    }
  }
  const stats: MicroStats = { anomalies: 0, incidentsOpened: 0, recovered: 0, escalated: 0, quarantined: 0, attributedToRecovery: 0, ignoredQuarantined: 0, handlerErrors: 0, droppedSteps: 0, startupDeferred: 0 }

  const onStep = (incident: Incident, step: IncidentStep): void => { emit('step', { incident, step }) }
  const managed = options.incidents != null ? incidentLogFrom(options.incidents, { publish: options.publish, onStep, hlc, now }) : undefined
  const log: IncidentLog = managed ?? createIncidentLog({
    node,
    hlc,
    now,
    maxIncidents: d.maxIncidents,
    maxAnomaliesPerIncident: d.maxAnomaliesPerIncident,
    publish: options.publish,
    onStep
  })

  const defaultVerify = async (component: string): Promise<boolean> => {
    if (probes != null) return (await probes.checkNow(component)).healthy
    const i = supervisor.info(component)
    return i.state === 'running' && pidAlive(i.pid)
  }
  const verifiers = options.verifiers ?? {}

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
    random: options.random,
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
  const unsubs: Unsubscribe[] = []
  /** component → its last start, and whether a probe has passed since (startup grace). */
  const startup = new Map<string, { atMs: number, healthy: boolean, timer?: ReturnType<typeof setTimeout> }>()
  let seq = 0
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

  const supervises = (component: string): boolean => {
    try { return supervisor.info(component) != null } catch { return false }
  }

  const isQuarantined = (component: string): boolean => {
    if (recovery.isQuarantined(component)) return true
    try { return supervisor.info(component).state === 'quarantined' } catch { return false }
  }

  function report (r: AnomalyReport): { incidentId: string, opened: boolean } | undefined {
    stats.anomalies++
    const anomaly = makeAnomaly(r)
    const onset = anomaly.atMs
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
    const lastVerified = verifiedAt.get(r.component)
    if (lastVerified != null && onset <= lastVerified) {
      // Describes the process before the verified recovery: stale, not a new failure.
      stats.attributedToRecovery++
      return undefined
    }
    if (isQuarantined(r.component)) { stats.ignoredQuarantined++; return undefined }
    let targetKind: TargetKind = r.targetKind ?? 'process'
    if (r.targetKind == null) {
      try { targetKind = ((supervisor.info(r.component).spec as { targetKind?: TargetKind } | undefined)?.targetKind) ?? 'process' } catch {}
    }
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

  async function waitNotBusy (component: string, ownId: string): Promise<void> {
    // Another incident's recovery holds this target: wait for it (bounded by its own timeouts).
    for (let i = 0; i < 600 && recovery.inProgress(component) != null && recovery.inProgress(component) !== ownId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function handle (incident: Incident): Promise<void> {
    const extraHeld: string[] = []
    try {
      let diagnosis: Diagnosis
      try {
        diagnosis = options.diagnose != null ? await options.diagnose(structuredClone(incident), context()) : defaultDiagnose(incident)
      } catch (err) {
        log.step(incident.id, { kind: 'note', summary: `diagnosis failed (${errorInfo(err).message}); assuming the incident's own component` })
        diagnosis = defaultDiagnose(incident)
      }
      const top = diagnosis.candidates[0]
      log.step(incident.id, {
        kind: 'diagnosed',
        summary: top != null ? `root cause: ${top.component} (confidence ${top.confidence.toFixed(2)}): ${top.explanation}` : `no root cause found: ${diagnosis.explanation}`,
        evidence: top?.evidence,
        data: { candidates: diagnosis.candidates.slice(0, 5).map((c) => ({ component: c.component, score: c.score, confidence: c.confidence })), attributedToRecovery: diagnosis.attributedToRecovery }
      })
      const attempted: ActionKind[] = []
      for (let round = 0; ; round++) {
        let plan: PlannedAction
        if (round >= d.maxRoundsPerIncident) {
          plan = { action: 'escalate', target: incident.component, reason: `gave up after ${round} actions (${attempted.join(', ')})`, requiresApproval: false, alternatives: [] }
        } else {
          const target = diagnosis.candidates[0]?.component ?? incident.component
          const available = await recovery.available(target)
          plan = await policy.plan({ incident: structuredClone(incident), diagnosis, attempted: [...attempted], available })
        }
        if (incident.targetKind === 'node' && plan.target !== incident.component && plan.action !== 'escalate' && plan.action !== 'none' && !supervises(incident.component)) {
          // A node-wide signal (a system metric) names no workload: acting on one needs that workload's own signal
          // (its probes, limits or metrics open their own incident), not a guess from the host's numbers.
          plan = { ...plan, action: 'escalate', reason: `${incident.failureClass} on ${incident.component} is node-wide: no action on ${plan.target} without a signal of its own (policy proposed ${plan.action} ${plan.target})`, target: incident.component }
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
        const result = await recovery.execute(incident, plan)
        if (plan.action !== 'escalate' && plan.action !== 'none') {
          const outcome = outcomeOf(incident, plan, result)
          outcomes.push(outcome)
          if (outcomes.length > d.maxOutcomes) outcomes.splice(0, outcomes.length - d.maxOutcomes)
          try { policy.record(outcome) } catch (err) { logger.warn({ err }, 'policy.record threw') }
          emit('outcome', outcome)
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
      stats.droppedSteps = log.droppedSteps
      const final = log.get(incident.id) ?? incident
      emit('closed', final)
      for (const w of waiters.get(incident.id) ?? []) w(structuredClone(final))
      waiters.delete(incident.id)
    }
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
          if (prev?.timer != null) clearTimeout(prev.timer)
          startup.set(e.name, { atMs: e.atMs, healthy: false })
        }))
        unsubs.push(probes.on('result', (e) => {
          const st = startup.get(e.component)
          if (st != null && e.result.status === 'ok') {
            st.healthy = true
            if (st.timer != null) { clearTimeout(st.timer); st.timer = undefined }
          }
        }))
        unsubs.push(probes.on('unhealthy', (e) => {
          const detail = e.status.lastResult?.detail
          const st = startup.get(e.component)
          if (st != null && !st.healthy && now() - st.atMs < d.startupGraceMs) {
            // Still starting: not a failure yet. Open an incident only if it never becomes healthy within the grace.
            stats.startupDeferred++
            if (st.timer == null) {
              st.timer = setTimeout(() => {
                st.timer = undefined
                if (!started || st.healthy || startup.get(e.component) !== st) return
                report({ component: e.component, failureClass: 'unhealthy', metric: `probe.${e.kind}`, kind: 'probe', score: 1, value: e.status.consecutiveFailures, onsetMs: st.atMs, detail: `${e.probe} never passed within ${d.startupGraceMs} ms of start: ${detail ?? 'no detail'}`, evidence: tailOf(e.component) })
              }, Math.max(0, st.atMs + d.startupGraceMs - now()))
              st.timer.unref?.()
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
    },
    async stop (budgetMs = 10_000) {
      started = false
      for (const u of unsubs.splice(0)) u()
      for (const st of startup.values()) if (st.timer != null) clearTimeout(st.timer)
      managed?.close()
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => { timer = setTimeout(resolve, budgetMs) })])
      clearTimeout(timer)
    },
    report,
    incidents: () => log.list().map((i) => structuredClone(i)),
    incident: (id) => { const i = log.get(id); return i == null ? undefined : structuredClone(i) },
    outcomes: () => [...outcomes],
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
