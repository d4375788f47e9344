// The fixed playbook: a readable table of what to try, in order, for each
// failure class. It never repeats an action that already failed for the
// incident, skips actions the target does not support, ends in escalation,
// and quarantines a crash-looping component. It implements RecoveryPolicy, so
// the micro loop can swap it for the constrained planner.
import type { ActionKind, AlternativeAction, Outcome, PlanRequest, PlannedAction, RecoveryPolicy } from '@homeostat/interface'
import { actionsWhere, CRASH_LOOP_DEFAULTS, RESTART_LOOP_CLASSES } from '@homeostat/interface'
import { countInWindow } from './backoff.ts'

/** What to try, in order, per failure class. `escalate` is implied at the end of every row. */
export const PLAYBOOK: Readonly<Record<string, readonly ActionKind[]>> = {
  /** A process exited: start it again; if the new version is bad, go back one; then stop trying. */
  crash: ['restart', 'rollback', 'quarantine'],
  /** Alive but not answering: it will not exit on its own, so kill it (short grace) and start it. */
  hang: ['kill', 'restart', 'rollback', 'quarantine'],
  /** Probe failing for another reason (wrong status, slow): a clean restart first. */
  unhealthy: ['restart', 'rollback', 'quarantine'],
  /** Memory growing towards the limit: restart before the limit is hit; if it comes back, run the smaller fallback. */
  memory_leak: ['restart', 'degrade', 'quarantine'],
  /** The memory limit was hit (the process was OOM-killed): start it again; if it keeps happening, the smaller fallback. */
  oom: ['restart', 'degrade', 'quarantine'],
  /** Burning CPU: limit it first (keeps serving), restart if that does not help. */
  cpu_hog: ['throttle', 'restart'],
  /** Over its declared CPU limit: hold it to the limit (a restart would burn it again); a lighter fallback if holding fails. */
  cpu_limit: ['throttle', 'degrade'],
  /**
   * Disk filling: delete what is configured as disposable; if the component keeps writing past its own
   * limit, stop it (quarantine frees its files once nothing writes them). A restart would write again.
   */
  disk_fill: ['free_disk', 'quarantine'],
  /** A bad model/artifact shows as errors after a deploy. */
  bad_artifact: ['rollback', 'degrade', 'restart'],
  /** The command cannot be started (missing binary, bad cwd): restarting cannot help; a human must fix the config. */
  spawn_error: [],
  /** The probe itself cannot run (its command is missing): says nothing about the workload; report it, never retry it forever. */
  probe_error: [],
  /** Anything else: one restart, then a human. */
  unknown: ['restart']
}

export interface PlaybookOptions {
  /** Replace or extend rows of the table. */
  table?: Record<string, readonly ActionKind[]>
  /** Crash-loop detection: this many restarts of one component within `windowMs` → quarantine. */
  crashLoop?: { maxRestarts?: number, windowMs?: number }
  now?: () => number
}

export const PLAYBOOK_DEFAULTS = {
  /** Shared with the planner (see CRASH_LOOP_DEFAULTS for why these values). */
  crashLoop: CRASH_LOOP_DEFAULTS
} as const

const RESTARTING = actionsWhere('startsProcess')
const HISTORY_MAX = 64

/** Next action for a request under `table` (pure, tested from a table). */
export function nextPlaybookAction (table: Readonly<Record<string, readonly ActionKind[]>>, request: Pick<PlanRequest, 'attempted' | 'available'> & { failureClass: string }, crashLooping: boolean): { action: ActionKind, reason: string } {
  const row = table[request.failureClass] ?? table.unknown ?? []
  const available = new Set(request.available)
  const tried = new Set(request.attempted)
  if (crashLooping && available.has('quarantine') && !tried.has('quarantine') && RESTART_LOOP_CLASSES.has(request.failureClass)) {
    return { action: 'quarantine', reason: `crash loop: too many restarts in the window, so quarantine instead of restarting again` }
  }
  for (const a of row) {
    if (tried.has(a)) continue
    if (!available.has(a)) continue
    const after = request.attempted.length > 0 ? ` after ${request.attempted.join(', ')} did not work` : ''
    return { action: a, reason: `playbook for ${request.failureClass}: ${a}${after}` }
  }
  return { action: 'escalate', reason: `playbook for ${request.failureClass} is exhausted (tried ${request.attempted.join(', ') || 'nothing applicable'})` }
}

export interface Playbook extends RecoveryPolicy {
  /** Recent restart times per component as seen through outcomes. */
  restarts: (component: string) => readonly number[]
}

export function createPlaybook (options: PlaybookOptions = {}): Playbook {
  const table = { ...PLAYBOOK, ...options.table }
  const maxRestarts = options.crashLoop?.maxRestarts ?? PLAYBOOK_DEFAULTS.crashLoop.maxRestarts
  const windowMs = options.crashLoop?.windowMs ?? PLAYBOOK_DEFAULTS.crashLoop.windowMs
  const now = options.now ?? Date.now
  const restarts = new Map<string, number[]>()

  return {
    async plan (request: PlanRequest): Promise<PlannedAction> {
      const incident = request.incident
      const target = request.diagnosis?.candidates[0]?.component ?? incident.component
      const history = restarts.get(target) ?? []
      // The loop's count (incidents since the component last ran healthy) when it gives one: a workload that
      // ran healthy between faults is not crash-looping. Else restarts in the window, from outcomes.
      const recent = request.recentFailures !== undefined ? Math.max(0, request.recentFailures - 1) : countInWindow(history, now(), windowMs)
      const looping = recent >= maxRestarts
      const { action, reason } = nextPlaybookAction(table, { failureClass: incident.failureClass, attempted: request.attempted, available: request.available }, looping)
      const row = table[incident.failureClass] ?? table.unknown ?? []
      const alternatives: AlternativeAction[] = row.map((a) => ({
        action: a,
        expectedReward: 0,
        expectedCost: 0,
        admissible: request.available.includes(a) && !request.attempted.includes(a),
        why: request.attempted.includes(a) ? 'already tried for this incident' : request.available.includes(a) ? 'next in the playbook' : 'not available for this component'
      }))
      return {
        action,
        target,
        reason: looping && action === 'quarantine' ? `${reason} (${recent} restarts ${request.recentFailures !== undefined ? 'since it last ran healthy' : `in ${windowMs / 1000} s`})` : reason,
        requiresApproval: false,
        alternatives
      }
    },
    record (outcome: Outcome): void {
      if (!RESTARTING.has(outcome.action)) return
      const h = restarts.get(outcome.component) ?? []
      h.push(now())
      if (h.length > HISTORY_MAX) h.splice(0, h.length - HISTORY_MAX)
      restarts.set(outcome.component, h)
    },
    restarts: (c) => restarts.get(c) ?? []
  }
}
