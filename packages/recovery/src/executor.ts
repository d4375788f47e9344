// The recovery executor: runs one planned action with a timeout, verifies that
// health came back by a deadline, rolls back what can be rolled back when it
// did not, and writes every step to the incident. One recovery per component
// at a time.
import { setTimeout as sleepTimer } from 'node:timers/promises'
import { actionsWhere, type ActionKind, type CostVector, type Incident, type IncidentStep, type PlannedAction } from '@homeostat/interface'
import { BUILTIN_ACTIONS } from './actions/index.ts'
import { previousArtifact } from './actions/artifact.ts'
import { fallbackPatch } from './actions/degrade.ts'
import { isShared, safeInfo, specOf } from './actions/process-util.ts'
import { previousArtifactVersion, type ComponentSpec } from '@homeostat/interface'
import type { ActionEffect, ActionTable } from './actions/types.ts'
import type { ComponentRecoveryConfig } from './config.ts'
import { RECOVERY_DEFAULTS, actionTimeoutMs, verifyTimeoutMs, type RecoveryDefaults } from './defaults.ts'
import { ActionTimeoutError, QuarantinedError, RecoveryBusyError, UnknownComponentError, UnsupportedActionError, VerifyFailedError, errorInfo } from './errors.ts'
import { silentLogger, type Logger, type RecoveryTarget, type StepInput, type StepRecorder, type Verify } from './target.ts'

export interface RecoveryOptions {
  target: RecoveryTarget
  /** Health check used after every action. */
  verify: Verify
  /** Writes a step to an incident (stamping HLC time). */
  record: StepRecorder
  /** Per-component action configuration (see parseRecoveryConfig). */
  config?: Record<string, ComponentRecoveryConfig>
  defaults?: Partial<RecoveryDefaults>
  now?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** [0,1) source for backoff jitter. */
  random?: () => number
  logger?: Logger
  /** Extra or replacement actions. */
  actions?: ActionTable
}

export type RecoveryStatus = 'recovered' | 'failed' | 'escalated' | 'quarantined' | 'noop'

export interface RecoveryResult {
  incidentId: string
  component: string
  action: ActionKind
  status: RecoveryStatus
  success: boolean
  actedAtMs: number
  /** When verification passed (success only). */
  verifiedAtMs?: number
  /** Acted → verified (or → verification given up), ms. */
  durationMs: number
  /** Health checks made during verification. */
  checks: number
  rolledBack: boolean
  error?: { code: string, message: string }
  cost: CostVector
  steps: IncidentStep[]
}

export interface RecoveryStats {
  executed: number
  recovered: number
  failed: number
  rolledBack: number
  escalated: number
  quarantined: number
  timeouts: number
  busyRejected: number
}

export interface Recovery {
  /** Runs `plan` for `incident` and returns what happened. Throws RecoveryBusyError if the component is already being recovered. */
  execute: (incident: Incident, plan: PlannedAction) => Promise<RecoveryResult>
  /** Actions this component supports right now (for PlanRequest.available). */
  available: (component: string) => Promise<ActionKind[]>
  /** The incident id whose recovery of `component` is in progress, if any. */
  inProgress: (component: string) => string | undefined
  isQuarantined: (component: string) => boolean
  /** Operator release of a quarantined component (it is not started). */
  release: (component: string) => void
  /** The component ran healthy long enough: its restarts so far no longer raise the restart back-off. */
  resetBackoff: (component: string) => void
  /** Times (ms) of recent restarts by recovery, oldest first. */
  restartHistory: (component: string) => readonly number[]
  stats: () => RecoveryStats
}

/** Actions that take the component down while they run. */
const DISRUPTIVE = actionsWhere('disruptive')
const RESTART_HISTORY_MAX = 64

function mergeDefaults (d?: Partial<RecoveryDefaults>): RecoveryDefaults {
  return {
    ...RECOVERY_DEFAULTS,
    ...d,
    backoff: { ...RECOVERY_DEFAULTS.backoff, ...d?.backoff },
    actionTimeoutMs: { ...RECOVERY_DEFAULTS.actionTimeoutMs, ...d?.actionTimeoutMs },
    verifyTimeoutMs: { ...RECOVERY_DEFAULTS.verifyTimeoutMs, ...d?.verifyTimeoutMs }
  }
}

export function createRecovery (options: RecoveryOptions): Recovery {
  const { target, verify, record } = options
  const defaults = mergeDefaults(options.defaults)
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? (async (ms: number, signal?: AbortSignal) => { await sleepTimer(ms, undefined, { signal }) })
  const random = options.random ?? Math.random
  const logger = options.logger ?? silentLogger
  const actions: ActionTable = { ...BUILTIN_ACTIONS, ...options.actions }
  const config = options.config ?? {}
  const busy = new Map<string, string>()
  const quarantined = new Set<string>()
  const restarts = new Map<string, number[]>()
  const stats: RecoveryStats = { executed: 0, recovered: 0, failed: 0, rolledBack: 0, escalated: 0, quarantined: 0, timeouts: 0, busyRejected: 0 }

  const cfgOf = (c: string): ComponentRecoveryConfig => config[c] ?? {}
  const trim = (lines: string[] | undefined): string[] | undefined =>
    lines == null || lines.length === 0 ? undefined : lines.slice(0, defaults.evidenceLines).map((l) => l.slice(0, 1024))

  async function withTimeout<T> (what: ActionKind, ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController()
    const timer = new AbortController()
    try {
      return await Promise.race([
        run(ac.signal),
        sleep(ms, timer.signal).then(() => {
          ac.abort()
          throw new ActionTimeoutError(what, ms)
        }, () => new Promise<never>(() => {}))
      ])
    } finally {
      timer.abort()
    }
  }

  function costOf (action: ActionKind, cpuBefore: NodeJS.CpuUsage, disruptionMs: number): CostVector {
    const cpu = process.cpuUsage(cpuBefore)
    return {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      memoryMb: 0,
      bandwidthKb: 0,
      disruptionSeconds: DISRUPTIVE.has(action) ? Math.max(0, disruptionMs) / 1000 : 0
    }
  }

  async function verifyUntil (incident: Incident, component: string, action: ActionKind, deadlineMs: number): Promise<{ ok: boolean, checks: number, evidence: string[] }> {
    let checks = 0
    let streak = 0
    const evidence: string[] = []
    while (true) {
      checks++
      let healthy = false
      try {
        healthy = await verify({ component, action, incident, check: checks })
      } catch (err) {
        if (evidence.length < 4) evidence.push(`check ${checks}: ${errorInfo(err).message}`)
      }
      streak = healthy ? streak + 1 : 0
      if (streak >= defaults.verifyStableChecks) return { ok: true, checks, evidence }
      const left = deadlineMs - now()
      if (left <= 0) return { ok: false, checks, evidence }
      await sleep(Math.min(defaults.verifyIntervalMs, left))
    }
  }

  async function execute (incident: Incident, plan: PlannedAction): Promise<RecoveryResult> {
    const component = plan.target
    const holder = busy.get(component)
    if (holder != null) {
      stats.busyRejected++
      throw new RecoveryBusyError(component, holder)
    }
    busy.set(component, incident.id)
    stats.executed++
    const steps: IncidentStep[] = []
    const step = async (s: StepInput): Promise<void> => {
      const stamped = await record(incident.id, { ...s, evidence: trim(s.evidence) })
      steps.push(stamped)
    }
    const cpuBefore = process.cpuUsage()
    const startedAtMs = now()
    const base = { incidentId: incident.id, component, action: plan.action, steps }
    try {
      if (plan.action === 'none') {
        await step({ kind: 'note', summary: `no action: ${plan.reason}` })
        return { ...base, status: 'noop', success: false, actedAtMs: startedAtMs, durationMs: 0, checks: 0, rolledBack: false, cost: costOf('none', cpuBefore, 0) }
      }
      if (plan.action === 'escalate') {
        stats.escalated++
        await step({ kind: 'escalated', summary: `escalated to an operator: ${plan.reason}`, data: { to: 'operator' } })
        return { ...base, status: 'escalated', success: false, actedAtMs: startedAtMs, durationMs: 0, checks: 0, rolledBack: false, cost: costOf('escalate', cpuBefore, 0) }
      }
      if (quarantined.has(component) && plan.action !== 'quarantine') throw new QuarantinedError(component)
      if (safeInfo(target, component) == null) throw new UnknownComponentError(component)
      const impl = actions[plan.action]
      if (impl == null) throw new UnsupportedActionError(plan.action, component, 'no implementation')

      let effect: ActionEffect
      try {
        effect = await withTimeout(plan.action, actionTimeoutMs(defaults, plan.action), async (signal) => await impl({
          component,
          incident,
          target,
          config: cfgOf(component),
          defaults,
          now,
          sleep,
          random,
          logger,
          signal,
          recentRestartsMs: restarts.get(component) ?? []
        }))
      } catch (err) {
        const info = errorInfo(err)
        if (err instanceof ActionTimeoutError) stats.timeouts++
        stats.failed++
        const actedAtMs = now()
        await step({ kind: 'acted', summary: `${plan.action} on ${component} failed: ${info.message}`, data: { action: plan.action, ok: false, error: info } })
        await step({ kind: 'escalated', summary: `${plan.action} failed (${info.code}); escalating to the next action`, data: { to: 'next_action', from: plan.action, error: info } })
        return { ...base, status: 'failed', success: false, actedAtMs, durationMs: actedAtMs - startedAtMs, checks: 0, rolledBack: false, error: info, cost: costOf(plan.action, cpuBefore, actedAtMs - startedAtMs) }
      }
      const actedAtMs = now()
      if (effect.restarted === true) {
        const h = restarts.get(component) ?? []
        h.push(actedAtMs)
        if (h.length > RESTART_HISTORY_MAX) h.splice(0, h.length - RESTART_HISTORY_MAX)
        restarts.set(component, h)
      }
      await step({ kind: plan.action === 'quarantine' ? 'quarantined' : 'acted', summary: effect.summary, evidence: effect.evidence, data: { action: plan.action, ok: true, reason: plan.reason, actionMs: actedAtMs - startedAtMs, ...effect.data } })

      if (plan.action === 'quarantine') {
        quarantined.add(component)
        stats.quarantined++
        stats.escalated++
        await step({ kind: 'escalated', summary: `${component} is quarantined; an operator should look at it (the micro loop retries it on a back-off)`, data: { to: 'operator' } })
        return { ...base, status: 'quarantined', success: false, actedAtMs, durationMs: actedAtMs - startedAtMs, checks: 0, rolledBack: false, cost: costOf('quarantine', cpuBefore, 0) }
      }

      const deadline = actedAtMs + verifyTimeoutMs(defaults, plan.action)
      const v = await verifyUntil(incident, component, plan.action, deadline)
      const doneAtMs = now()
      if (v.ok) {
        stats.recovered++
        await step({ kind: 'verified', summary: `health of ${component} is back ${doneAtMs - actedAtMs} ms after ${plan.action} (${v.checks} checks)`, evidence: v.evidence, data: { action: plan.action, checks: v.checks, verifyMs: doneAtMs - actedAtMs } })
        await step({ kind: 'recovered', summary: `${component} recovered by ${plan.action}`, data: { action: plan.action, mttrMs: doneAtMs - incident.openedAtMs } })
        return { ...base, status: 'recovered', success: true, actedAtMs, verifiedAtMs: doneAtMs, durationMs: doneAtMs - actedAtMs, checks: v.checks, rolledBack: false, cost: costOf(plan.action, cpuBefore, doneAtMs - startedAtMs) }
      }
      stats.failed++
      const failure = new VerifyFailedError(plan.action, deadline - actedAtMs, v.checks)
      let rolledBack = false
      if (effect.undo != null) {
        try {
          const undo = effect.undo
          const line = await withTimeout(plan.action, actionTimeoutMs(defaults, plan.action), async () => await undo())
          rolledBack = true
          stats.rolledBack++
          await step({ kind: 'rolled_back', summary: line, data: { action: plan.action, error: errorInfo(failure) } })
        } catch (err) {
          await step({ kind: 'note', summary: `could not undo ${plan.action}: ${errorInfo(err).message}`, data: { error: errorInfo(err) } })
        }
      }
      await step({ kind: 'escalated', summary: `${failure.message}; escalating to the next action`, evidence: v.evidence, data: { to: 'next_action', from: plan.action, error: errorInfo(failure), checks: v.checks } })
      return { ...base, status: 'failed', success: false, actedAtMs, durationMs: doneAtMs - actedAtMs, checks: v.checks, rolledBack, error: errorInfo(failure), cost: costOf(plan.action, cpuBefore, doneAtMs - startedAtMs) }
    } catch (err) {
      // Refused before acting (quarantined, unknown, unsupported).
      const info = errorInfo(err)
      stats.failed++
      await step({ kind: 'note', summary: `${plan.action} on ${component} refused: ${info.message}`, data: { action: plan.action, error: info } }).catch(() => {})
      return { ...base, status: 'failed', success: false, actedAtMs: now(), durationMs: 0, checks: 0, rolledBack: false, error: info, cost: costOf(plan.action, cpuBefore, 0) }
    } finally {
      busy.delete(component)
    }
  }

  async function available (component: string): Promise<ActionKind[]> {
    const info = safeInfo(target, component)
    if (info == null) return ['escalate']
    if (quarantined.has(component)) return ['escalate']
    const c = cfgOf(component)
    // A shared component runs elsewhere: its restart hook is the one action this node has on it.
    if (isShared(info)) return ['restart', 'quarantine', 'escalate'].filter((a) => a === 'escalate' || actions[a as ActionKind] != null) as ActionKind[]
    const out: ActionKind[] = ['restart', 'kill']
    if (c.reloadable === true) out.push('reload')
    const spec = specOf(info)
    const specRollback = spec.artifact != null && spec.name != null && previousArtifactVersion(spec as ComponentSpec) != null
    if (specRollback || (c.artifact != null && (await previousArtifact(c.artifact.path)) != null)) out.push('rollback')
    if (c.fallback != null || fallbackPatch(spec as Record<string, unknown>) != null) out.push('degrade')
    if (info.pid != null) out.push('throttle')
    if (c.freeDisk != null) out.push('free_disk')
    out.push('quarantine', 'escalate')
    return out.filter((a) => a === 'escalate' || actions[a] != null)
  }

  return {
    execute,
    available,
    inProgress: (c) => busy.get(c),
    isQuarantined: (c) => quarantined.has(c),
    release: (c) => { quarantined.delete(c); restarts.delete(c) },
    resetBackoff: (c) => { restarts.delete(c) },
    restartHistory: (c) => restarts.get(c) ?? [],
    stats: () => ({ ...stats })
  }
}
