// The micro loop in the daemon: the engine (@homeostat/micro) wired to the
// monitor's supervisor, probe runner, metrics collector and anomaly watch
// (metric anomalies as observations, leaks, CPU and disk limits, OOM), the
// recovery policy (the constrained planner by default, or the fixed
// playbook), the operator approval gate and the agent's incident book. Works
// with no network at all. It answers for the components view, observations,
// the budget and policy views, the `system` status section and the operator's
// component verbs; it takes from the other loops only what loops/index.ts
// hands it (where the fleet places relocatable components, the fleet priors'
// summary).
import type { Logger } from 'pino'
import { createSupervisor, createProbeRunner, createMetricsCollector, METRICS_DEFAULTS, type Supervisor, type ProbeRunner, type MetricsCollector } from '@homeostat/monitor'
import { ACTION_KINDS, ACTION_TRAITS, type Anomaly, type RecoveryPolicy, type Incident, type PlannedAction } from '@homeostat/interface'
import { createPlaybook } from '@homeostat/recovery'
import { createPlanner, createStoreAuditStore, hostCapacity, STATIC_FRACTION, type Planner } from '@homeostat/planner'
import { createStoreJsonStore } from '@homeostat/learning'
import { logImport } from '../../state/legacy-import.ts'
import { createAgentDiagnosis, type AgentDiagnosis } from './diagnosis.ts'
import { encode as encodeHlc } from '@homeostat/hlc'
import { join } from 'node:path'
import { totalmem } from 'node:os'
import { createMicroLoop, createResourceWatch, type MicroLoop, type ResourceWatch, type ResourceOptions } from '@homeostat/micro'
import type { AgentLoop, ComponentActionResult, ComponentVerb, LoopContext, LoopProvides } from '../contract.ts'
import { ComponentActionError } from '../../errors.ts'
import type { LoadedConfig } from '../../config/load.ts'
import type { AgentConfig } from '../../config/schema.ts'
import type { BudgetView, ComponentView, PolicyView } from '../../state/providers.ts'
import { Gauge } from 'prom-client'
import { statGauge } from '../../metrics.ts'

/** Where the fleet runs a relocatable component (the meso loop's placement), for the components view. */
export interface Placement {
  /** This node runs it now. */
  runsHere: (name: string) => boolean
  /** The node that runs it, if any node does (a name, or a peer id when its name is unknown). */
  runsOn: (name: string) => string | undefined
}

export interface MicroLoopWiring extends AgentLoop {
  readonly supervisor: () => Supervisor | undefined
  readonly loop: () => MicroLoop | undefined
  /** The monitor's anomaly watch as the loop uses it (predictions, stats, verifiers). */
  readonly watch: () => ResourceWatch | undefined
  /** The /proc and /sys collector feeding it (`ingest` is how device telemetry enters). */
  readonly metrics: () => MetricsCollector | undefined
  /** A fresh health check of a component (its probes now). */
  readonly health: (component: string) => Promise<boolean>
  /** The components view (also this loop's `components` provider); other loops read it here. */
  readonly components: () => ComponentView[]
  /** Installs fleet priors from the cloud peer into the planner; returns entries installed (0 with the playbook). Throws on a bad document. */
  readonly importPriors: (doc: unknown) => number
}

export interface MicroWiringOptions {
  /** A recovery policy (the planner); default: the fixed playbook. */
  policy?: (ctx: LoopContext) => RecoveryPolicy | undefined
  /** Wraps the policy (e.g. the meso loop's intervention claims). */
  wrapPolicy?: Array<(p: RecoveryPolicy) => RecoveryPolicy>
  /** Options of the monitor's anomaly watch (thresholds, warm-up, horizons); default its WATCH_DEFAULTS. */
  watch?: ResourceOptions['watch']
  /** Where the fleet runs relocatable components (the meso loop's); absent without a mesh. */
  placement?: () => Placement | undefined
  /** The fleet priors last imported, for the policy view (the macro loop's edge half). */
  fleetPriors?: () => unknown
  /** Peers' recent anomalies (the meso loop's), for the diagnosis; absent without a mesh. */
  remoteAnomalies?: () => readonly Anomaly[]
}

function adaptLogger (log: Logger): { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void, debug: (o: object, m?: string) => void } {
  return {
    info: (o, m) => log.info(o, m),
    warn: (o, m) => log.warn(o, m),
    error: (o, m) => log.error(o, m),
    debug: (o, m) => log.debug(o, m)
  }
}

/** Risk of an action, in [0,1], as the approval gate sees it (ACTION_TRAITS, the planner's table too). */
export const ACTION_RISK: Readonly<Record<string, number>> = Object.fromEntries(ACTION_KINDS.map((a) => [a, ACTION_TRAITS[a].risk]))

/**
 * The approval threshold applied on top of any policy: a plan whose action's
 * risk is above `policy.approvalRiskThreshold` requires approval (the policy
 * may require it for other reasons too).
 */
export function withApprovalThreshold (p: RecoveryPolicy, threshold: () => number): RecoveryPolicy {
  return {
    async plan (req) {
      const plan = await p.plan(req)
      const risk = ACTION_RISK[plan.action] ?? 1
      if (!plan.requiresApproval && risk > threshold()) {
        return { ...plan, requiresApproval: true, reason: `${plan.reason} (risk ${risk.toFixed(2)} is above the approval threshold ${threshold().toFixed(2)})` }
      }
      return plan
    },
    record: (o) => { p.record(o) },
    cancel: (incidentId, action, reason) => p.cancel?.(incidentId, action, reason)
  }
}

/** `system.detection` in the monitor's watch option names (pure). */
export function watchOptionsOf (d: AgentConfig['system']['detection']): NonNullable<ResourceOptions['watch']> & { detectorOptions: Record<string, number> } {
  return {
    metricScoreThreshold: d.scoreThreshold,
    detectorWarmupSamples: d.warmupSamples,
    detectorConfirmSamples: d.confirmSamples,
    detectorConfirmWindow: d.confirmWindow,
    detectorRearmSamples: d.rearmSamples,
    leakHorizonMs: d.leakHorizonMs,
    diskHorizonMs: d.diskHorizonMs,
    detectorOptions: { windowSamples: d.windowSamples, learningSamples: d.learningSamples, utcOffsetMs: d.utcOffsetMs }
  }
}

export function createMicroLoopWiring (ctx: LoopContext, opts: MicroWiringOptions = {}): MicroLoopWiring {
  const log = ctx.logger.child({ loop: 'micro' })
  let supervisor: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let watch: ResourceWatch | undefined
  let diagnosis: AgentDiagnosis | undefined
  let loop: MicroLoop | undefined
  let planner: Planner | undefined
  let system: MetricsCollector | undefined
  let started = false

  const components = (): ComponentView[] => {
    if (supervisor === undefined) return []
    return supervisor.list().map((i): ComponentView => {
      let health: ComponentView['health'] = 'unknown'
      let detail: string | undefined
      try {
        const v = probes?.health(i.name)
        if (v !== undefined) {
          health = v.status === 'healthy' ? 'ok' : v.status === 'unknown' ? 'unknown' : 'failed'
          // Healthy only once every probe has passed at least once; failures below the threshold are "degraded".
          if (health === 'ok' && v.probes.some((p) => p.lastResult === undefined && !p.gaveUp)) health = 'unknown'
          else if (health === 'ok' && v.probes.some((p) => p.consecutiveFailures > 0)) health = 'degraded'
          const reasons = (v as { reasons?: string[] }).reasons
          if (reasons !== undefined && reasons.length > 0) detail = reasons.slice(0, 2).join('; ').slice(0, 256)
        }
      } catch {}
      if (i.state === 'quarantined') { health = 'failed'; detail = detail ?? 'quarantined' }
      if (i.state !== 'running' && i.state !== 'starting' && health === 'ok') health = 'failed'
      const active = ctx.incidents.list({ node: ctx.nodeName, component: i.name, limit: 1 })[0]
      if (health === 'ok' && active !== undefined && (active.status === 'open' || active.status === 'recovering')) health = 'degraded'
      if (i.spec.shared && detail === undefined) detail = 'shared: runs elsewhere, healed by one node of the fleet at a time'
      // The fleet view: a relocatable component that runs elsewhere is on standby here, not failed.
      const place = i.spec.relocatable && ctx.config().config.mesh.enabled ? opts.placement?.() : undefined
      if (place !== undefined && !place.runsHere(i.name) && i.state !== 'quarantined') {
        const where = place.runsOn(i.name)
        return { name: i.name, state: 'standby', health: where === undefined ? 'unknown' : 'ok', pid: i.pid, restarts: i.restarts, detail: where === undefined ? 'relocatable: not placed on any node yet' : `relocatable: runs on ${where}` }
      }
      const hold = loop?.holds().find((h) => h.component === i.name)
      if (hold !== undefined) {
        detail = hold.phase === 'waiting'
          ? `on hold: retry ${hold.attempt + 1} ${hold.waitingFor !== undefined ? `as soon as ${hold.waitingFor.what}, at the latest` : ''} in ${Math.max(0, Math.round((hold.retryAtMs - ctx.now()) / 1000))} s (${hold.reason})`.replace(/\s+/g, ' ').slice(0, 256)
          : `retried (attempt ${hold.attempt}): watching whether it stays healthy`
      }
      return { name: i.name, state: i.state, health, pid: i.pid, restarts: i.restarts, detail }
    })
  }

  /** A relocatable component under a mesh runs where the fleet places it, not where an operator asks. */
  const placedByFleet = (name: string): boolean => ctx.config().config.mesh.enabled && supervisor?.info(name).spec.relocatable === true

  /**
   * An operator's verb on a component. `release`: the cause of a quarantine is fixed; lift it. `start`: a
   * component that is not running (exited, stopped, quarantined) runs again now. `restart`: stop and start it.
   * A component this node runs itself starts at once; a relocatable one under a mesh is placed by the fleet
   * (the meso loop hears the supervisor's `released` and offers to host it again), so it is not started here.
   * Each verb ends any hold and back-off the loop had for it: the operator has taken over.
   */
  const componentAction = async (name: string, verb: ComponentVerb, by: string): Promise<ComponentActionResult> => {
    const s = supervisor
    if (s === undefined || !started) throw new ComponentActionError('ERR_NOT_READY', 'the micro loop is not running yet')
    if (!s.names().includes(name)) throw new ComponentActionError('ERR_NO_SUCH_COMPONENT', `no component "${name}" on ${ctx.nodeName}`)
    const before = s.info(name)
    const fleet = placedByFleet(name)
    const runningNow = before.state === 'running' || before.state === 'starting'
    if (verb === 'release' && before.state !== 'quarantined') throw new ComponentActionError('ERR_NOT_QUARANTINED', `component "${name}" is ${before.state}, not quarantined: nothing to release`)
    if (verb === 'start' && runningNow) throw new ComponentActionError('ERR_ALREADY_RUNNING', `component "${name}" is already ${before.state} (pid ${before.pid ?? '-'}); use restart to restart it`)
    if (verb !== 'release' && fleet) throw new ComponentActionError('ERR_NOT_STARTABLE', `component "${name}" is relocatable: the fleet places it (release a quarantine with \`homeostat release ${name}\`)`)
    if (before.state === 'quarantined') { s.release(name); loop?.recovery.release(name) }
    loop?.forget(name)
    let startIt = !fleet && !(verb === 'release' && before.spec.shared)
    try {
      if (verb === 'restart' && runningNow) await s.restartComponent(name, { reason: `restart by ${by}` })
      else if (startIt) await s.startComponent(name)
    } catch (err) {
      startIt = false
      log.warn({ component: name, by, verb, err: (err as Error).message }, 'component did not start')
    }
    const after = s.info(name)
    const state = after.state
    const started2 = startIt && (state === 'running' || state === 'starting')
    log.warn({ component: name, by, verb, state, placedByFleet: fleet, childPid: after.pid }, verb === 'release' ? 'quarantine released by an operator' : `component ${verb}ed by an operator`)
    ctx.events.emit('component', { component: name, action: verb === 'release' ? 'released' : verb === 'start' ? 'started' : 'restarted', by, state, placedByFleet: fleet })
    return { component: name, action: verb, state, started: started2, placedByFleet: fleet }
  }

  const approve = async (incident: Incident, plan: PlannedAction): Promise<boolean> => {
    const { decision } = ctx.approvals.request({
      incidentId: incident.id,
      component: plan.target,
      action: plan.action,
      reason: plan.reason,
      risk: ACTION_RISK[plan.action],
      timeoutMs: ctx.config().config.policy.approvalTimeoutMs
    })
    return (await decision) === 'approved'
  }

  const build = (cfg: LoadedConfig): void => {
    // children.json: what this agent started, so that a restarted agent stops the copies a killed one left behind.
    supervisor = createSupervisor({ components: cfg.config.components, autoRestart: false, logger: adaptLogger(log) as never, childFile: join(cfg.dataDir, 'children.json'), now: ctx.now, scheduler: ctx.timers })
    probes = createProbeRunner({ supervisor, logger: adaptLogger(log) as never, now: ctx.now, scheduler: ctx.timers })
    // /proc and /sys: node-wide CPU, memory, load, disk, network, thermal, and per component RSS, CPU and directory size —
    // for /metrics, status and the dashboard, and the input of the monitor's anomaly watch below.
    system = createMetricsCollector({ supervisor, intervalMs: cfg.config.system.sampleMs, processes: true, logger: adaptLogger(log) as never, now: ctx.now, scheduler: ctx.timers })
    // The monitor's anomaly watch on that collector: the online detector on every series (system and component metrics),
    // leak and disk-fill predictions, CPU over its limit, OOM at the memory limit; all open incidents through the loop.
    const fromConfig = watchOptionsOf(cfg.config.system.detection)
    watch = createResourceWatch({ supervisor, metrics: system, now: ctx.now, enforceMemoryLimit: true, logger: adaptLogger(log) as never, watch: { ...fromConfig, ...opts.watch, detectorOptions: { ...fromConfig.detectorOptions, ...opts.watch?.detectorOptions } } })
    const threshold = () => ctx.config().config.policy.approvalRiskThreshold
    const pc = cfg.config.policy
    let policy: RecoveryPolicy
    if (opts.policy !== undefined) policy = withApprovalThreshold(opts.policy(ctx) ?? createPlaybook({ now: ctx.now }), threshold)
    else if (pc.engine === 'playbook') policy = withApprovalThreshold(createPlaybook({ now: ctx.now }), threshold)
    else {
      // The constrained planner. Its static β is 0.15 × capacity; budgetFraction scales the capacity it sees so β = budgetFraction × capacity.
      const scale = pc.budgetFraction / STATIC_FRACTION
      planner = createPlanner({
        mode: pc.budgetMode,
        nodeId: ctx.nodeName,
        windowMs: pc.budgetWindowMs,
        capacity: () => {
          const c = hostCapacity({ windowMs: pc.budgetWindowMs, memoryMb: Math.round(totalmem() / 1048576) })
          return { cpuSeconds: c.cpuSeconds * scale, memoryMb: c.memoryMb * scale, bandwidthKb: c.bandwidthKb * scale, disruptionSeconds: c.disruptionSeconds * scale }
        },
        // In the agent's store; an agent upgraded from the old files imports them once and renames them aside.
        store: createStoreJsonStore(ctx.store(), 'learning', { legacy: { dir: join(cfg.dataDir, 'learning'), onImport: logImport(log, 'learning') } }),
        auditStore: createStoreAuditStore(ctx.store(), 'audit', { legacy: { file: join(cfg.dataDir, 'audit.log'), onImport: logImport(log, 'audit.log') } }),
        health: () => { const cs = components(); return cs.length === 0 ? 1 : cs.filter((c) => c.health === 'ok' || c.health === 'unknown').length / cs.length },
        // The agent's approval queue is the gate (CLI, API and dashboard decide there).
        approval: { mode: 'flag', riskThreshold: pc.approvalRiskThreshold, timeoutMs: pc.approvalTimeoutMs }
      })
      policy = planner
    }
    for (const w of opts.wrapPolicy ?? []) policy = w(policy)
    // Root-cause ranking over the declared dependency graph, the HLC-ordered anomaly timeline and the
    // components' recent series (probe latency and failures, process CPU and RSS): see ./diagnosis.ts.
    diagnosis = createAgentDiagnosis({
      components: cfg.config.components.map((c) => ({ name: c.name, dependsOn: c.dependsOn })),
      stamp: () => encodeHlc(ctx.hlc.now()),
      now: ctx.now
    })
    const history = diagnosis.history
    probes.on('result', (e) => {
      // A probe that could not run says nothing about the workload.
      if (e.result.status !== 'ok' && e.result.status !== 'fail') return
      history.record(e.component, 'probe.latency_ms', e.atMs, e.result.latencyMs)
      history.record(e.component, 'probe.failed_pct', e.atMs, e.result.status === 'fail' ? 100 : 0)
    })
    system.on('sample', (s) => {
      if (s.component !== METRICS_DEFAULTS.nodeComponent && (s.metric === 'proc.cpu_pct' || s.metric === 'proc.rss_mb')) history.record(s.component, s.metric, s.atMs, s.value)
    })
    loop = createMicroLoop({
      node: ctx.nodeName,
      hlc: ctx.hlc,
      now: ctx.now,
      timers: ctx.timers,
      supervisor,
      probes,
      policy,
      diagnose: (incident, context) => diagnosis!.diagnose(incident, { timeline: context.timeline, recovering: context.recovering, remote: opts.remoteAnomalies?.() ?? [] }),
      sources: [watch.source],
      ...(opts.remoteAnomalies !== undefined ? { remoteAnomalies: opts.remoteAnomalies } : {}),
      verifiers: watch.verifiers,
      measure: watch.measure,
      diskUsageMb: watch.diskUsageMb,
      placedByFleet,
      approve,
      publish: (inc) => { ctx.incidents.upsert(inc, 'local') },
      recoveryConfig: cfg.config.recovery,
      logger: adaptLogger(log)
    })
  }

  const registerMetrics = (): void => {
    new Gauge({
      name: 'homeostat_system_metric',
      help: 'Latest /proc and /sys readings (node-wide and per component), e.g. metric="mem.used_pct" component="node"',
      labelNames: ['component', 'metric'],
      registers: [ctx.metrics.registry],
      collect () {
        this.reset()
        let n = 0
        for (const s of system?.latest().values() ?? []) {
          if (n++ >= 512) break
          if (Number.isFinite(s.value)) this.set({ component: s.component, metric: s.metric }, s.value)
        }
      }
    })
    new Gauge({
      name: 'homeostat_micro_components',
      help: 'Supervised components by state',
      labelNames: ['state'],
      registers: [ctx.metrics.registry],
      collect () {
        this.reset()
        const counts: Record<string, number> = {}
        for (const c of supervisor?.list() ?? []) counts[c.state] = (counts[c.state] ?? 0) + 1
        for (const [k, v] of Object.entries(counts)) this.set({ state: k }, v)
      }
    })
    new Gauge({
      name: 'homeostat_micro_component_restarts',
      help: 'Restarts per component since the agent started',
      labelNames: ['component'],
      registers: [ctx.metrics.registry],
      collect () { this.reset(); for (const c of (supervisor?.list() ?? []).slice(0, 256)) this.set({ component: c.name }, c.restarts) }
    })
    statGauge(ctx.metrics.registry, 'homeostat_micro_loop_stat', 'Micro loop counters (anomalies, incidentsOpened, recovered, escalated, quarantined, attributedToRecovery, …; cumulative)', () => loop?.stats())
    statGauge(ctx.metrics.registry, 'homeostat_micro_probe_stat', 'Probe runner counters (runs, failures, probeErrors, gaveUp; cumulative)', () => probes?.stats())
  }

  const budget = (): BudgetView => {
    if (planner === undefined) return { available: false }
    const b = planner.budget()
    const frac = (c: { cpuSeconds: number, memoryMb: number, bandwidthKb: number, disruptionSeconds: number }) =>
      Math.max(...(['cpuSeconds', 'memoryMb', 'bandwidthKb', 'disruptionSeconds'] as const).map((k) => b.beta[k] > 0 ? c[k] / b.beta[k] : 0))
    return {
      available: true,
      mode: b.mode,
      betaUnits: 1,
      spentUnits: b.utilisation,
      windowMs: b.windowMs,
      lambda: b.lambda,
      entries: b.entries.slice(-200).map((e) => ({ atMs: e.atMs, incidentId: e.incidentId, action: e.action, costUnits: frac(e.cost), admitted: true, reason: e.state })),
      detail: { beta: b.beta, available: b.available, spent: b.spent, reserved: b.reserved, remaining: b.remaining, adaptiveFraction: b.adaptiveFraction, historical: b.historical }
    }
  }

  const policyView = (): PolicyView => {
    const p = ctx.config().config.policy
    const cells = new Map<string, { failureClass: string, action: string, ok: number, n: number, cost: number }>()
    for (const o of loop?.outcomes() ?? []) {
      const k = `${o.failureClass}\u0000${o.action}`
      const c = cells.get(k) ?? { failureClass: o.failureClass, action: o.action, ok: 0, n: 0, cost: 0 }
      c.n++
      if (o.success) c.ok++
      c.cost += o.cost.cpuSeconds + o.cost.disruptionSeconds
      cells.set(k, c)
    }
    const fleet = opts.fleetPriors?.()
    return {
      kind: planner !== undefined ? 'constrained' : 'playbook',
      source: planner !== undefined ? `constrained planner (@homeostat/planner), λ = ${planner.lambda().toFixed(3)}` : 'fixed playbook (@homeostat/recovery)',
      approvalRiskThreshold: p.approvalRiskThreshold,
      budgetMode: p.budgetMode,
      budgetFraction: p.budgetFraction,
      actions: [...cells.values()].map((c) => ({ failureClass: c.failureClass, action: c.action, successRate: c.ok / c.n, trials: c.n, meanCost: c.cost / c.n })),
      ...(fleet !== undefined ? { detail: { fleetPriors: fleet } } : {})
    }
  }

  const cfgComponents = (): string[] => ctx.config().config.components.map((c) => c.name)
  const systemStatus = (): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const s of system?.latest().values() ?? []) if (s.component === 'node' && Number.isFinite(s.value)) out[s.metric] = Math.round(s.value * 100) / 100
    return out
  }

  const provides = (): LoopProvides => ({
    providers: { components, observations: () => loop?.observations() ?? [], budget, policy: policyView },
    // The diagnosis' series history: how many series it holds, what it recorded and dropped, per component its metrics.
    status: { system: systemStatus, diagnosisHistory: () => diagnosis === undefined ? null : { ...diagnosis.history.stats(), metrics: Object.fromEntries(cfgComponents().map((c) => [c, diagnosis!.history.metrics(c)])) } },
    componentAction
  })

  return {
    name: 'micro',
    provides,
    components,
    // Fleet priors weigh half: the fleet's experience must not drown this node's own.
    importPriors: (doc) => planner === undefined ? 0 : planner.learning.importPriors(doc, { weight: 0.5 }),
    supervisor: () => supervisor,
    health: async (component) => probes === undefined ? false : (await probes.checkNow(component)).healthy,
    loop: () => loop,
    watch: () => watch,
    metrics: () => system,
    async start () {
      build(ctx.config())
      if (planner !== undefined) {
        const r = await planner.start()
        log.info({ learning: r.learning, audit: r.audit }, 'planner loaded its learning state and audit chain')
      }
      const l = loop!
      l.on('outcome', (o) => { ctx.events.emit('outcome', o) })
      // An operator reads the journal: what was not healed, what is retried and when, what the watchdog caught.
      l.on('closed', (inc) => {
        if (inc.status !== 'escalated' && inc.status !== 'quarantined') return
        const last = [...inc.steps].reverse().find((x) => x.kind === 'escalated' || x.kind === 'quarantined')
        log.warn({ component: inc.component, incident: inc.id, failureClass: inc.failureClass, status: inc.status, reason: last?.summary }, `${inc.component} was not healed (${inc.status}): ${last?.summary ?? inc.status}`)
      })
      l.on('hold', (h) => {
        const inS = Math.max(0, Math.round((h.retryAtMs - ctx.now()) / 1000))
        log.warn({ component: h.component, attempt: h.attempt + 1, retryInS: inS, waitingFor: h.waitingFor?.what, incident: h.incidentId }, `${h.component} is retried in ${inS} s${h.waitingFor !== undefined ? ` or as soon as ${h.waitingFor.what}` : ''} (retry ${h.attempt + 1})`)
        ctx.events.emit('component', { component: h.component, action: 'hold', attempt: h.attempt + 1, retryAtMs: h.retryAtMs, reason: h.reason })
      })
      l.on('retry', (h) => {
        log.warn({ component: h.component, attempt: h.attempt, action: h.action }, `retrying ${h.component} (attempt ${h.attempt}): ${h.action}`)
        ctx.events.emit('component', { component: h.component, action: 'retry', attempt: h.attempt, what: h.action })
      })
      l.on('released', (r) => {
        log.warn({ component: r.component, attempts: r.attempts, healthyMs: r.healthyMs }, `${r.component} stayed healthy after ${r.attempts} retr${r.attempts === 1 ? 'y' : 'ies'}: no longer on hold`)
        ctx.events.emit('component', { component: r.component, action: 'hold-ended', attempts: r.attempts })
      })
      l.on('gap', (g) => { log.warn({ component: g.component, detail: g.detail }, 'supervision gap closed by the watchdog: opening an incident') })
      l.on('observation', (o) => { log.info({ component: o.component, metric: o.metric, value: o.value, score: o.score, why: o.why }, `observation (no action): ${o.detail}`) })
      supervisor!.on('orphan', (o) => { ctx.events.emit('component', { component: o.name, action: 'orphan-stopped', pid: o.pid, signal: o.signal }) })
      registerMetrics()
      loop!.start()
      // With a mesh, relocatable components run where the meso loop places them (one node of the
      // fleet at a time); without one this node is the whole fleet and runs them itself.
      const cfg = ctx.config().config
      await supervisor!.start({ except: cfg.mesh.enabled ? cfg.components.filter((c) => c.relocatable).map((c) => c.name) : [] })
      probes!.start()
      system!.start()
      started = true
      log.info({ components: supervisor!.names() }, 'supervising')
    },
    async stop () {
      // Stop whatever exists, even after a half-finished start: no workload may outlive the agent.
      started = false
      system?.stop()
      await loop?.stop(1500)
      try { await planner?.stop() } catch (err) { log.warn({ err: (err as Error).message }, 'planner stop failed') }
      probes?.stop()
      await supervisor?.stop({ graceMs: 1000, reason: 'agent stopping' })
    },
    async reload (next) {
      if (supervisor === undefined) return
      const cur = new Set(supervisor.names())
      const want = new Set(next.config.components.map((c) => c.name))
      const added = [...want].filter((n) => !cur.has(n))
      const removed = [...cur].filter((n) => !want.has(n))
      if (added.length > 0 || removed.length > 0) {
        throw new Error(`components cannot be added or removed while running (added: ${added.join(', ') || 'none'}; removed: ${removed.join(', ') || 'none'}); restart the agent`)
      }
      // Where a component runs (here, or wherever the fleet places it) is decided at start-up.
      const flipped = next.config.components.filter((c) => supervisor!.info(c.name).spec.relocatable !== c.relocatable).map((c) => c.name)
      if (flipped.length > 0) throw new Error(`components cannot become relocatable or stop being relocatable while running (${flipped.join(', ')}); restart the agent`)
      // Spec changes take effect at each component's next start.
      for (const c of next.config.components) supervisor.updateSpec(c.name, c)
    },
    ready: () => started
  }
}
