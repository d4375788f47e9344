// Runs each component's probes on their own period, applies failure/success
// thresholds, and reports transitions. A probe that cannot run (probe error)
// is retried with backoff a few times and then given up — reported, never
// retried forever. `checkNow` runs every probe of a component once, for
// recovery's verification.
import type { ProbeSpec } from '../config.ts'
import type { ComponentInfo, Supervisor } from '../supervisor.ts'
import { backoffDelayMs } from '../backoff.ts'
import { Emitter, realScheduler, silentLogger, type Logger, type Scheduler, type Unsubscribe } from '../events.ts'
import type { ProbeResult } from './types.ts'
import { httpProbe } from './http.ts'
import { createHttpConnection, type HttpConnection } from './http-client.ts'
import { tcpProbe } from './tcp.ts'
import { execProbe } from './exec.ts'
import { heartbeatProbe } from './heartbeat.ts'
import { systemdProbe, systemdAvailable } from './systemd.ts'
import { processProbe } from './process.ts'

export const PROBE_DEFAULTS = {
  /** Consecutive probe errors (the probe itself cannot run) before giving up on it. */
  maxProbeErrors: 3,
  /** Retry delay after a probe error starts here and doubles (a missing binary will not appear in a second). */
  probeErrorBackoffMs: 1000,
  /** …capped here. */
  probeErrorBackoffMaxMs: 60_000,
  /**
   * HTTP probes reuse one kept-alive connection (a new TCP connection per probe was most of the agent's CPU),
   * but every this-many runs open a fresh one, so a server that stops accepting connections is still caught.
   */
  httpFreshConnectionEvery: 10,
  /**
   * A probe still waiting this long on a process the kernel shows stopped (SIGSTOP, a tracer) or a zombie
   * cannot be answered until someone continues it: it fails now instead of at its timeout. 250 ms is a
   * quarter of the default timeout, long past a healthy answer on the same host (a few ms).
   */
  pendingCorroborateMs: 250
} as const

export type ProbeState = 'unknown' | 'healthy' | 'unhealthy' | 'probe_error' | 'unsupported'

export interface ProbeStatusInfo {
  component: string
  probe: string
  kind: ProbeSpec['kind']
  state: ProbeState
  consecutiveFailures: number
  consecutiveSuccesses: number
  consecutiveErrors: number
  /** When the current run of failures began (the fault's onset as the probe saw it). */
  firstFailureAtMs?: number
  /** Gave up after maxProbeErrors probe errors (or unsupported): no longer scheduled. */
  gaveUp: boolean
  /** Unhealthy before its threshold because the kernel corroborated the failure (the process is stopped or a zombie): the detail. */
  corroborated?: string
  lastResult?: ProbeResult & { atMs: number }
}

export interface HealthVerdict {
  component: string
  atMs: number
  /** Process running and no probe failing. Probe errors / unsupported probes do not count against it. */
  healthy: boolean
  status: 'healthy' | 'unhealthy' | 'down' | 'unknown'
  processState?: string
  probes: ProbeStatusInfo[]
  /** Why not healthy, one line per reason. */
  reasons: string[]
  /** Probes that could not run, with the reason. */
  probeErrors: string[]
}

export interface ProbeRunnerEvents extends Record<string, unknown> {
  result: { component: string, probe: string, kind: ProbeSpec['kind'], result: ProbeResult, atMs: number }
  unhealthy: { component: string, probe: string, kind: ProbeSpec['kind'], status: ProbeStatusInfo, atMs: number }
  healthy: { component: string, probe: string, kind: ProbeSpec['kind'], status: ProbeStatusInfo, atMs: number }
  probe_error: { component: string, probe: string, kind: ProbeSpec['kind'], reason: string, errors: number, gaveUp: boolean, unsupported: boolean, atMs: number }
}

export interface ProbeRunnerOptions {
  supervisor: Supervisor
  now?: () => number
  logger?: Logger
  scheduler?: Scheduler
  maxProbeErrors?: number
  probeErrorBackoffMs?: number
  /** Systemd detection, injectable for tests. */
  systemdAvailable?: () => boolean
}

export interface ProbeRunner {
  start: () => void
  stop: () => void
  /** Runs every probe of `name` once now (plus process liveness) and returns the verdict; does not move the periodic thresholds or emit transitions. */
  checkNow: (name: string) => Promise<HealthVerdict>
  /** The last known verdict (thresholds applied), without running anything. */
  health: (name: string) => HealthVerdict
  /** Re-arms given-up probes of a component (e.g. after fixing the probe's command). */
  reset: (name: string) => void
  on: <K extends keyof ProbeRunnerEvents>(event: K, fn: (value: ProbeRunnerEvents[K]) => void) => Unsubscribe
  stats: () => { runs: number, failures: number, probeErrors: number, gaveUp: number }
}

interface Slot {
  component: string
  index: number
  spec: ProbeSpec
  status: ProbeStatusInfo
  timer?: unknown
  running: boolean
  generation: number
  /** Kept-alive connection of an HTTP probe, and runs since it was last fresh. */
  http?: { connection: HttpConnection, runs: number }
}

export const probeLabel = (spec: ProbeSpec, index: number): string => spec.name ?? `${spec.kind}#${index}`

export function createProbeRunner (options: ProbeRunnerOptions): ProbeRunner {
  const sup = options.supervisor
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const sched = options.scheduler ?? realScheduler
  const maxErrors = options.maxProbeErrors ?? PROBE_DEFAULTS.maxProbeErrors
  const errBackoff = { initialMs: options.probeErrorBackoffMs ?? PROBE_DEFAULTS.probeErrorBackoffMs, maxMs: PROBE_DEFAULTS.probeErrorBackoffMaxMs, multiplier: 2, jitter: 0.1 }
  const hasSystemd = options.systemdAvailable ?? systemdAvailable
  const events = new Emitter<ProbeRunnerEvents>(logger)
  const slots = new Map<string, Slot[]>()
  const counters = { runs: 0, failures: 0, probeErrors: 0, gaveUp: 0 }
  let started = false
  const unsubs: Unsubscribe[] = []

  const dropConnections = (s: Slot): void => { if (s.http !== undefined) { s.http.connection.close(); s.http.runs = 0 } }
  const build = (name: string): void => {
    for (const s of slots.get(name) ?? []) { if (s.timer !== undefined) sched.clearTimeout(s.timer); s.generation++; s.http?.connection.close() }
    const spec = sup.info(name).spec
    slots.set(name, spec.probes.map((p, index) => ({
      component: name,
      index,
      spec: p,
      running: false,
      generation: 0,
      status: { component: name, probe: probeLabel(p, index), kind: p.kind, state: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, consecutiveErrors: 0, gaveUp: false },
      ...(p.kind === 'http' ? { http: { connection: createHttpConnection(), runs: 0 } } : {})
    })))
  }

  const runOne = async (slot: Slot): Promise<ProbeResult> => {
    const p = slot.spec
    const info = sup.info(slot.component)
    switch (p.kind) {
      case 'process': return processProbe(info.state === 'running' ? info.pid : undefined, { pausedByUs: info.cpuLimit?.pausedByUs === true })
      case 'http': {
        const h = slot.http
        if (h === undefined) return await httpProbe(p)
        const fresh = h.runs++ % PROBE_DEFAULTS.httpFreshConnectionEvery === 0
        return await httpProbe({ ...p, connection: h.connection, fresh })
      }
      case 'tcp': return await tcpProbe(p)
      case 'exec': return await execProbe({ ...p, cwd: info.spec.cwd })
      case 'heartbeat': return await heartbeatProbe(p)
      case 'systemd': return await systemdProbe(p, hasSystemd)
    }
  }

  /**
   * A failing probe of a process the kernel says is stopped (SIGSTOP, a tracer) or a zombie is not a blip:
   * that second, independent signal stands in for the repeated failures the threshold waits for (a stop
   * we impose ourselves to hold a CPU limit does not count). Returns the corroborating detail.
   */
  const corroborated = (slot: Slot, info: ComponentInfo): string | undefined => {
    if (slot.spec.kind === 'process' || info.spec.shared || info.pid === undefined || info.cpuLimit?.pausedByUs === true) return undefined
    const p = processProbe(info.pid)
    return p.status === 'fail' && /stopped|zombie/.test(p.detail) ? p.detail : undefined
  }

  /** Resolves with a failure once a probe has waited `pendingCorroborateMs` on a process the kernel shows stopped or dead. */
  const stoppedWhilePending = (slot: Slot, info: ComponentInfo): { result: Promise<ProbeResult>, cancel: () => void, fired: () => boolean } => {
    let timer: unknown
    let fired = false
    const every = PROBE_DEFAULTS.pendingCorroborateMs
    const result = new Promise<ProbeResult>((resolve) => {
      if (slot.spec.kind === 'process' || info.spec.shared || info.pid === undefined || slot.spec.timeoutMs <= every) return
      const t0 = now()
      const look = (): void => {
        const latest = sup.info(slot.component)
        if (latest.pid !== info.pid || latest.cpuLimit?.pausedByUs === true) { if (now() - t0 + every < slot.spec.timeoutMs) timer = sched.setTimeout(look, every); return }
        const p = processProbe(info.pid)
        if (p.status === 'fail' && /stopped|zombie/.test(p.detail)) {
          fired = true
          resolve({ status: 'fail', latencyMs: now() - t0, detail: `no answer after ${now() - t0} ms and ${p.detail}` })
          return
        }
        if (now() - t0 + every < slot.spec.timeoutMs) timer = sched.setTimeout(look, every)
      }
      timer = sched.setTimeout(look, every)
    })
    return { result, cancel: () => { if (timer !== undefined) sched.clearTimeout(timer) }, fired: () => fired }
  }

  /** Applies one result to the slot's counters and emits transitions. */
  const apply = (slot: Slot, r: ProbeResult, info?: ComponentInfo): void => {
    const st = slot.status
    const atMs = now()
    counters.runs++
    st.lastResult = { ...r, atMs }
    events.emit('result', { component: slot.component, probe: st.probe, kind: st.kind, result: r, atMs })
    if (r.status === 'error' || r.status === 'unsupported') {
      counters.probeErrors++
      st.consecutiveErrors++
      const unsupported = r.status === 'unsupported'
      const gaveUp = unsupported || st.consecutiveErrors >= maxErrors
      if (gaveUp && !st.gaveUp) counters.gaveUp++
      st.gaveUp = gaveUp
      st.state = unsupported ? 'unsupported' : 'probe_error'
      logger.warn({ component: slot.component, probe: st.probe, reason: r.detail, errors: st.consecutiveErrors, gaveUp }, 'probe error')
      events.emit('probe_error', { component: slot.component, probe: st.probe, kind: st.kind, reason: r.detail, errors: st.consecutiveErrors, gaveUp, unsupported, atMs })
      return
    }
    st.consecutiveErrors = 0
    if (r.status === 'ok') {
      delete st.corroborated
      st.consecutiveSuccesses++
      st.consecutiveFailures = 0
      delete st.firstFailureAtMs
      if (st.state !== 'healthy' && (st.state !== 'unhealthy' || st.consecutiveSuccesses >= slot.spec.successThreshold)) {
        const was = st.state
        st.state = 'healthy'
        if (was === 'unhealthy') events.emit('healthy', { component: slot.component, probe: st.probe, kind: st.kind, status: { ...st }, atMs })
      }
    } else {
      counters.failures++
      st.consecutiveSuccesses = 0
      st.consecutiveFailures++
      st.firstFailureAtMs ??= atMs - (r.latencyMs ?? 0)
      const why = st.state !== 'unhealthy' && st.consecutiveFailures < slot.spec.failureThreshold && info !== undefined ? corroborated(slot, info) : undefined
      if (why !== undefined) { st.lastResult = { ...st.lastResult, detail: `${r.detail.includes(why) ? r.detail : `${r.detail}; ${why}`}: corroborated, not waiting for ${slot.spec.failureThreshold} failures` }; st.corroborated = why }
      if (st.state !== 'unhealthy' && (st.consecutiveFailures >= slot.spec.failureThreshold || why !== undefined)) {
        st.state = 'unhealthy'
        events.emit('unhealthy', { component: slot.component, probe: st.probe, kind: st.kind, status: { ...st }, atMs })
      }
    }
  }

  const resetCounters = (slot: Slot): void => {
    const st = slot.status
    st.consecutiveFailures = 0
    st.consecutiveSuccesses = 0
    delete st.firstFailureAtMs
    if (st.state === 'healthy' || st.state === 'unhealthy') st.state = 'unknown'
  }

  const schedule = (slot: Slot, delayMs: number): void => {
    if (!started || slot.status.gaveUp) return
    if (slot.timer !== undefined) sched.clearTimeout(slot.timer)
    const gen = slot.generation
    slot.timer = sched.setTimeout(() => {
      slot.timer = undefined
      if (gen !== slot.generation) return
      void tick(slot)
    }, Math.max(0, delayMs))
  }

  const tick = async (slot: Slot): Promise<void> => {
    const info = sup.info(slot.component)
    // A component that is not running is the supervisor's news (exit event);
    // probing it would only produce a second, noisier incident.
    if (info.state !== 'running') {
      resetCounters(slot)
      schedule(slot, slot.spec.periodMs)
      return
    }
    if (info.startedAtMs !== undefined && now() - info.startedAtMs < slot.spec.initialDelayMs) {
      schedule(slot, slot.spec.initialDelayMs - (now() - info.startedAtMs))
      return
    }
    if (slot.running) { schedule(slot, slot.spec.periodMs); return }
    slot.running = true
    const gen = slot.generation
    const t0 = performance.now()
    let r: ProbeResult
    const pending = stoppedWhilePending(slot, info)
    try { r = await Promise.race([runOne(slot), pending.result]) } catch (err) { r = { status: 'error', latencyMs: 0, detail: `probe threw: ${(err as Error).message}` } } finally { pending.cancel() }
    if (pending.fired()) dropConnections(slot) // the request on it will never be answered: a fresh connection next time
    slot.running = false
    if (gen !== slot.generation) return
    // A result that straddled a restart describes the old process: drop it.
    const after = sup.info(slot.component)
    if (after.pid !== info.pid || after.state !== 'running') { resetCounters(slot); schedule(slot, slot.spec.periodMs); return }
    apply(slot, r, after)
    if (r.status === 'error') schedule(slot, backoffDelayMs(slot.status.consecutiveErrors - 1, errBackoff))
    else schedule(slot, slot.spec.periodMs - (performance.now() - t0))
  }

  const verdict = (name: string): HealthVerdict => {
    const info = sup.info(name)
    const list = (slots.get(name) ?? []).map((s) => ({ ...s.status }))
    const reasons: string[] = []
    const probeErrors: string[] = []
    let status: HealthVerdict['status'] = 'healthy'
    if (info.state !== 'running') {
      status = 'down'
      reasons.push(`process ${info.state}${info.lastExit !== undefined ? ` (exit code ${String(info.lastExit.code)}, signal ${String(info.lastExit.signal)})` : ''}`)
    }
    for (const p of list) {
      if (p.state === 'unhealthy') {
        if (status === 'healthy') status = 'unhealthy'
        reasons.push(`${p.probe}: ${p.lastResult?.detail ?? 'failing'}`)
      } else if (p.state === 'probe_error' || p.state === 'unsupported') {
        probeErrors.push(`${p.probe}: ${p.lastResult?.detail ?? p.state}`)
      }
    }
    return { component: name, atMs: now(), healthy: status === 'healthy', status, processState: info.state, probes: list, reasons, probeErrors }
  }

  return {
    start () {
      if (started) return
      started = true
      for (const name of sup.names()) build(name)
      for (const list of slots.values()) for (const s of list) schedule(s, s.spec.initialDelayMs)
      unsubs.push(sup.on('spec', ({ name }) => {
        build(name)
        for (const s of slots.get(name) ?? []) schedule(s, s.spec.initialDelayMs)
      }))
      unsubs.push(sup.on('start', ({ name }) => {
        for (const s of slots.get(name) ?? []) {
          dropConnections(s) // the old process's sockets are gone
          resetCounters(s)
          s.generation++
          schedule(s, s.spec.initialDelayMs)
        }
      }))
    },
    stop () {
      started = false
      for (const u of unsubs.splice(0)) u()
      for (const list of slots.values()) for (const s of list) { if (s.timer !== undefined) sched.clearTimeout(s.timer); s.timer = undefined; s.generation++; s.http?.connection.close() }
    },
    async checkNow (name) {
      if (!slots.has(name)) build(name)
      const list = slots.get(name)!
      const info = sup.info(name)
      const fresh: ProbeStatusInfo[] = []
      const reasons: string[] = []
      const probeErrors: string[] = []
      let status: HealthVerdict['status'] = 'healthy'
      // A shared component runs elsewhere: only its probes can tell (watched = "running").
      const alive = info.spec.shared ? (info.state === 'running' ? { status: 'ok' as const, detail: 'shared: runs elsewhere' } : { status: 'fail' as const, detail: `not watched here (${info.state})` }) : processProbe(info.state === 'running' ? info.pid : undefined, { pausedByUs: info.cpuLimit?.pausedByUs === true })
      if (alive.status !== 'ok') {
        status = 'down'
        reasons.push(`process: ${alive.detail}`)
      }
      const results = await Promise.all(list.map(async (s) => {
        if (s.status.gaveUp || alive.status !== 'ok') return undefined
        try { return await runOne(s) } catch (err) { return { status: 'error', latencyMs: 0, detail: `probe threw: ${(err as Error).message}` } satisfies ProbeResult }
      }))
      // Out-of-band: the results describe now but do not move the periodic
      // thresholds (a verification polling a restarting server must not turn
      // its start-up into a new "unhealthy" transition).
      const atMs = now()
      list.forEach((s, i) => {
        const r = results[i]
        const st: ProbeStatusInfo = { ...s.status }
        if (r !== undefined) {
          st.lastResult = { ...r, atMs }
          if (r.status === 'error') st.state = 'probe_error'
          else if (r.status === 'unsupported') st.state = 'unsupported'
          else st.state = r.status === 'ok' ? 'healthy' : 'unhealthy'
        }
        fresh.push(st)
        if (r?.status === 'fail') {
          if (status === 'healthy') status = 'unhealthy'
          reasons.push(`${st.probe}: ${r.detail}`)
        } else if (st.state === 'probe_error' || st.state === 'unsupported') {
          probeErrors.push(`${st.probe}: ${st.lastResult?.detail ?? st.state}`)
        }
      })
      return { component: name, atMs: now(), healthy: status === 'healthy', status, processState: info.state, probes: fresh, reasons, probeErrors }
    },
    health: verdict,
    reset (name) {
      for (const s of slots.get(name) ?? []) {
        s.status.gaveUp = false
        s.status.consecutiveErrors = 0
        s.status.state = 'unknown'
        schedule(s, 0)
      }
    },
    on: (event, fn) => events.on(event, fn),
    stats: () => ({ ...counters })
  }
}
