// The monitor as one service: supervisor + probe runner + metrics collector +
// anomaly watch + incident manager, wired so that exits, probe verdicts,
// probe errors, metric anomalies and predictions open incidents.
//
// Who decides recovery? With `autoRestart: true` (plain supervision) the
// supervisor restarts crashed components itself and the monitor records the
// restart and its verification on the incident. The micro loop passes
// `autoRestart: false` and owns every recovery decision; it can either use
// these incidents (`openIncidents: true`) or its own incident book fed by
// `watch.source` (`openIncidents: false`).
import type { Hlc } from '@homeostat/hlc'
import type { Sample } from '@homeostat/interface'
import type { Store } from '@homeostat/store'
import { createSupervisor, type Supervisor, type SupervisorOptions } from './supervisor.ts'
import { createProbeRunner, type HealthVerdict, type ProbeRunner, type ProbeRunnerOptions } from './probes/runner.ts'
import { createMetricsCollector, type MetricsCollector, type MetricsOptions } from './metrics/collector.ts'
import { createAnomalyWatch, type AnomalyWatch, type WatchOptions } from './watch.ts'
import { createIncidentManager, isClosed, type AnomalyReport, type IncidentManager } from './incidents.ts'
import { silentLogger, type Logger, type Scheduler, type Unsubscribe } from './events.ts'

export const MONITOR_DEFAULTS = {
  /** Evidence lines copied from a crashed component's stderr / stdout tails. */
  evidenceStderrLines: 20,
  evidenceStdoutLines: 10,
  /** After an auto-restart, health must come back within this to be recorded as recovered. */
  verifyTimeoutMs: 10_000,
  /** Poll period of that verification. */
  verifyPollMs: 200,
  /** …and it must stay healthy this long: a process that crashes half a second after each start is not recovered. */
  verifyStableMs: 2_000,
  /** Plain supervision restarts a hung component (as a Kubernetes liveness probe does), at most this many times… */
  hangRestartMax: 3,
  /** …within this window; then it is quarantined (a restart does not cure it). */
  hangRestartWindowMs: 300_000
} as const

export interface MonitorOptions {
  node: string
  hlc: Hlc
  now?: () => number
  store?: Store
  logger?: Logger
  scheduler?: Scheduler
  components: SupervisorOptions['components']
  /** Default true; the micro loop passes false. */
  autoRestart?: boolean
  /** Open incidents from exits, probes and the watch (default true). */
  openIncidents?: boolean
  supervisor?: Omit<SupervisorOptions, 'components' | 'now' | 'logger' | 'scheduler' | 'autoRestart'>
  probes?: Omit<ProbeRunnerOptions, 'supervisor' | 'now' | 'logger' | 'scheduler'>
  metrics?: Omit<MetricsOptions, 'supervisor' | 'now' | 'logger' | 'scheduler'>
  watch?: Omit<WatchOptions, 'metrics' | 'supervisor' | 'now' | 'logger'>
  verifyTimeoutMs?: number
  verifyStableMs?: number
  /** Restart a component whose probes report a hang (default: = autoRestart). */
  restartOnHang?: boolean
  /** Feed successful probe latencies into the metrics path as `probe.<kind>.latency_ms` (default true), so the detector sees a slowing service. */
  probeLatencyMetrics?: boolean
}

export interface Monitor {
  readonly supervisor: Supervisor
  readonly probes: ProbeRunner
  readonly metrics: MetricsCollector
  readonly watch: AnomalyWatch
  readonly incidents: IncidentManager
  /** Restores incidents from the store, starts the workloads, probes, metrics and the watch. */
  start: () => Promise<void>
  /** Stops watching and every workload; flushes incidents. */
  stop: (opts?: { graceMs?: number }) => Promise<void>
  /** External samples (device telemetry from the firmware bridge). */
  ingest: (samples: Sample | readonly Sample[]) => number
  checkNow: (name: string) => Promise<HealthVerdict>
  health: (name: string) => HealthVerdict
}

/**
 * Failure class of an unhealthy probe (pure; tested from a table). Alive but not answering is a hang: a probe
 * that timed out, a stopped (SIGSTOP) or zombie process, a stale heartbeat. A process that is gone is a crash;
 * anything else (refused, bad status, body mismatch, slow, a missing heartbeat file) is `unhealthy`.
 */
export function classifyProbeFailure (kind: string, detail = ''): string {
  if (/timeout|timed out|stopped|zombie|old \(max/i.test(detail)) return 'hang'
  if (kind === 'process') return 'crash'
  return 'unhealthy'
}

/** Failure class of an unexpected exit. */
export function classifyExit (exit: { reason?: string, code: number | null, signal: string | null }): string {
  if (exit.reason === 'oom') return 'oom'
  if (exit.reason === 'spawn_error') return 'spawn_error'
  return 'crash'
}

export function createMonitor (options: MonitorOptions): Monitor {
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const autoRestart = options.autoRestart ?? true
  const openIncidents = options.openIncidents ?? true
  const verifyTimeoutMs = options.verifyTimeoutMs ?? MONITOR_DEFAULTS.verifyTimeoutMs
  const verifyStableMs = options.verifyStableMs ?? MONITOR_DEFAULTS.verifyStableMs
  const restartOnHang = options.restartOnHang ?? autoRestart
  /** A newer restart of a component supersedes the verification of the previous one. */
  const verifyGen = new Map<string, number>()
  const hangRestarts = new Map<string, number[]>()
  const common = { now, logger, ...(options.scheduler !== undefined ? { scheduler: options.scheduler } : {}) }
  const supervisor = createSupervisor({ ...options.supervisor, ...common, components: options.components, autoRestart })
  const probes = createProbeRunner({ ...options.probes, ...common, supervisor })
  const metrics = createMetricsCollector({ ...options.metrics, ...common, supervisor })
  const watch = createAnomalyWatch({ ...options.watch, now, logger, metrics, supervisor, nodeComponent: options.metrics?.nodeComponent })
  const incidents = createIncidentManager({ node: options.node, hlc: options.hlc, now, logger, ...(options.store !== undefined ? { store: options.store } : {}) })
  const unsubs: Unsubscribe[] = []
  let started = false

  const report = (r: AnomalyReport): void => {
    if (!openIncidents) return
    try { incidents.report(r) } catch (err) { logger.error({ err, component: r.component }, 'could not open incident') }
  }

  const active = (name: string): ReturnType<IncidentManager['list']> => incidents.list({ component: name, status: 'active' })

  const verifyAfterRestart = async (name: string, ids: string[]): Promise<void> => {
    const gen = (verifyGen.get(name) ?? 0) + 1
    verifyGen.set(name, gen)
    const deadline = now() + verifyTimeoutMs
    let last: HealthVerdict | undefined
    let healthySince: number | undefined
    let stable = false
    while (started && verifyGen.get(name) === gen) {
      // Someone else closed them (quarantine, recovery): nothing left to verify.
      if (ids.every((id) => { const i = incidents.get(id); return i === undefined || isClosed(i) })) return
      last = await probes.checkNow(name)
      const t = now()
      if (last.healthy) healthySince ??= t
      else healthySince = undefined
      if (healthySince !== undefined && t - healthySince >= verifyStableMs) { stable = true; break }
      if (t >= deadline) break
      await new Promise((r) => setTimeout(r, MONITOR_DEFAULTS.verifyPollMs))
    }
    if (verifyGen.get(name) !== gen || !started) return
    for (const id of ids) {
      const inc = incidents.get(id)
      if (inc === undefined || isClosed(inc)) continue
      try {
        if (stable && last !== undefined) {
          incidents.step(id, { kind: 'verified', summary: `${name} healthy for ${verifyStableMs} ms after restart`, evidence: last.probes.map((p) => `${p.probe}: ${p.lastResult?.detail ?? p.state}`) })
          incidents.step(id, { kind: 'recovered', summary: `${name} recovered by supervisor restart` })
        } else {
          incidents.step(id, { kind: 'note', summary: `${name} not stably healthy ${verifyTimeoutMs} ms after restart: ${last?.reasons.join('; ') ?? 'stopped'}` })
        }
      } catch (err) { logger.warn({ err, id }, 'could not record verification') }
    }
  }

  const restartHung = async (name: string, id: string): Promise<void> => {
    const times = hangRestarts.get(name) ?? []
    const t = now()
    while (times.length > 0 && t - times[0]! > MONITOR_DEFAULTS.hangRestartWindowMs) times.shift()
    try {
      if (times.length >= MONITOR_DEFAULTS.hangRestartMax) {
        await supervisor.quarantine(name, `hung ${times.length + 1} times within ${MONITOR_DEFAULTS.hangRestartWindowMs} ms; restarts do not cure it`)
        return
      }
      times.push(t)
      hangRestarts.set(name, times)
      incidents.step(id, { kind: 'acted', summary: `supervisor restarting hung ${name} (SIGTERM, then SIGKILL after the grace period)`, data: { action: 'restart', by: 'supervisor' } })
      await supervisor.restartComponent(name, { reason: 'hang' })
      await verifyAfterRestart(name, [id])
    } catch (err) { logger.warn({ err, component: name }, 'restarting a hung component failed') }
  }

  const wire = (): void => {
    unsubs.push(supervisor.on('exit', (e) => {
      if (e.exit.expected) return
      const cls = classifyExit(e.exit)
      const evidence = [
        ...e.tail.stderr.slice(-MONITOR_DEFAULTS.evidenceStderrLines).map((l) => `stderr: ${l}`),
        ...e.tail.stdout.slice(-MONITOR_DEFAULTS.evidenceStdoutLines).map((l) => `stdout: ${l}`)
      ]
      report({
        component: e.name,
        failureClass: cls,
        metric: 'process.exit',
        kind: 'exit',
        score: 1,
        value: e.exit.code ?? -1,
        onsetMs: e.exit.atMs,
        targetKind: supervisor.info(e.name).spec.targetKind,
        detail: e.exit.error ?? `exited with code ${String(e.exit.code)}, signal ${String(e.exit.signal)}${e.exit.reason !== undefined ? ` (${e.exit.reason})` : ''}`,
        evidence,
        data: { pid: e.pid, code: e.exit.code, signal: e.exit.signal }
      })
    }))
    unsubs.push(probes.on('unhealthy', (e) => {
      const detail = e.status.lastResult?.detail ?? 'failing'
      report({
        component: e.component,
        failureClass: classifyProbeFailure(e.kind, detail),
        metric: `probe.${e.kind}`,
        kind: 'probe',
        score: 1,
        value: e.status.lastResult?.latencyMs ?? 0,
        onsetMs: e.status.firstFailureAtMs ?? e.atMs,
        targetKind: supervisor.info(e.component).spec.targetKind,
        detail: `${e.probe} failed ${e.status.consecutiveFailures}× : ${detail}`,
        data: { probe: e.probe, failures: e.status.consecutiveFailures }
      })
    }))
    if (restartOnHang && openIncidents) {
      unsubs.push(probes.on('unhealthy', (e) => {
        const detail = e.status.lastResult?.detail ?? ''
        if (classifyProbeFailure(e.kind, detail) !== 'hang') return
        const inc = incidents.findOpen(e.component, 'hang')
        if (inc === undefined) return
        void restartHung(e.component, inc.id)
      }))
    }
    unsubs.push(probes.on('probe_error', (e) => {
      if (!e.gaveUp) return
      report({
        component: e.component,
        failureClass: 'probe_error',
        metric: `probe.${e.kind}`,
        kind: 'probe',
        score: 0.5,
        value: e.errors,
        detail: `probe ${e.probe} cannot run${e.unsupported ? ' (unsupported here)' : ''}: ${e.reason}; gave up after ${e.errors} attempt(s)`,
        data: { probe: e.probe, errors: e.errors, unsupported: e.unsupported }
      })
    }))
    unsubs.push(watch.on('report', report))
    if (options.probeLatencyMetrics ?? true) {
      unsubs.push(probes.on('result', (e) => {
        if (e.result.status === 'ok' && e.kind !== 'process') metrics.ingest({ metric: `probe.${e.kind}.latency_ms`, component: e.component, value: e.result.latencyMs, atMs: e.atMs })
      }))
    }
    if (autoRestart && openIncidents) {
      unsubs.push(supervisor.on('start', (e) => {
        if (e.restarts === 0) return
        const ids = active(e.name).filter((i) => i.failureClass === 'crash' || i.failureClass === 'oom').map((i) => i.id)
        if (ids.length === 0) return
        for (const id of ids) {
          try { incidents.step(id, { kind: 'acted', summary: `supervisor restarted ${e.name} (pid ${e.pid}, restart ${e.restarts})`, data: { action: 'restart', by: 'supervisor' } }) } catch { /* closed meanwhile */ }
        }
        void verifyAfterRestart(e.name, ids)
      }))
      unsubs.push(supervisor.on('quarantined', (e) => {
        for (const inc of active(e.name)) {
          try { incidents.step(inc.id, { kind: 'quarantined', summary: `${e.name} quarantined: ${e.reason}` }) } catch { /* closed */ }
        }
      }))
    }
  }

  return {
    supervisor,
    probes,
    metrics,
    watch,
    incidents,
    async start () {
      if (started) return
      started = true
      await incidents.load()
      wire()
      await supervisor.start()
      probes.start()
      watch.start()
      metrics.start()
    },
    async stop (opts = {}) {
      started = false
      metrics.stop()
      watch.stop()
      probes.stop()
      for (const u of unsubs.splice(0)) u()
      await supervisor.stop(opts)
      await incidents.flush()
    },
    ingest: (s) => metrics.ingest(s),
    checkNow: async (name) => await probes.checkNow(name),
    health: (name) => probes.health(name)
  }
}
