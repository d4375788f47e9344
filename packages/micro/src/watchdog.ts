// The micro loop's watchdog: every supervised component is, at any moment,
// healthy, being handled by an incident, on hold for a retry, stopped on
// purpose, or done (a job that completed under `restart: on-failure`).
// Anything else is a supervision gap — an exit or a failing probe whose event
// was attributed to an incident that then closed, or dropped as stale — and
// the watchdog reports it as a new failure. Events are the fast path; this is
// the proof that nothing falls between them. Pure: the loop takes snapshots
// and acts on the gaps.
import type { AnomalyReport } from '@homeostat/monitor'
import { classifyExit, classifyProbe } from './classify.ts'

export interface ComponentSnapshot {
  name: string
  /** The supervisor's state: starting, running, exited (unexpectedly), stopped (on purpose), quarantined. */
  state: string
  shared: boolean
  restart: 'always' | 'on-failure' | 'never'
  lastExit?: { code: number | null, signal: string | null, atMs: number, reason?: string }
  startedAtMs?: number
  /** The first failing probe past its threshold (the probe runner's verdict), if any. */
  failing?: { probe: string, kind: string, detail: string, firstFailureAtMs?: number, consecutiveFailures: number, lastResultAtMs?: number }
  /** When its last recovery was verified: a failing verdict whose last result is older describes the process before it. */
  verifiedAtMs?: number
}

/** Does the component's restart policy want it running after this exit? (pure) */
export function shouldRun (s: Pick<ComponentSnapshot, 'restart' | 'lastExit'>): boolean {
  if (s.restart === 'never') return false
  if (s.restart === 'always') return true
  const e = s.lastExit
  return e === undefined || e.code !== 0 || e.signal !== null
}

/** A clean exit that the restart policy does not restart: a job that finished, not a failure (pure). */
export function completed (s: Pick<ComponentSnapshot, 'restart' | 'lastExit'>): boolean {
  const e = s.lastExit
  return s.restart === 'on-failure' && e !== undefined && e.code === 0 && e.signal === null && e.reason !== 'oom' && e.reason !== 'spawn_error'
}

export interface GapContext {
  /** An incident is handling this component (or it is its plan's target). */
  handled: (component: string) => boolean
  /** On hold, waiting for its retry (the retry will look at it). */
  onHold: (component: string) => boolean
  /** Still inside its start-up grace with no probe passed yet (a slow start is not a failure yet). */
  starting: (component: string) => boolean
  nowMs: number
}

/** The reports that close the gaps in `snapshots` (pure). */
export function supervisionGaps (snapshots: readonly ComponentSnapshot[], ctx: GapContext): AnomalyReport[] {
  const out: AnomalyReport[] = []
  for (const s of snapshots) {
    if (ctx.handled(s.name) || ctx.onHold(s.name)) continue
    if (s.state === 'exited') {
      if (!shouldRun(s)) continue
      const e = s.lastExit
      const how = e === undefined ? 'exited' : `exited ${Math.max(0, Math.round((ctx.nowMs - e.atMs) / 1000))} s ago (code ${String(e.code)}${e.signal !== null ? `, signal ${e.signal}` : ''}${e.reason !== undefined ? `, ${e.reason}` : ''})`
      out.push({
        component: s.name,
        failureClass: e === undefined ? 'crash' : classifyExit(e),
        metric: 'watchdog.not_running',
        kind: 'exit',
        score: 1,
        value: e?.code ?? -1,
        onsetMs: e?.atMs ?? ctx.nowMs,
        detail: `${s.name} is not running (it ${how}; restart: ${s.restart}) and no incident is handling it`
      })
      continue
    }
    const stale = s.failing !== undefined && s.verifiedAtMs !== undefined && (s.failing.lastResultAtMs ?? 0) <= s.verifiedAtMs
    if (s.state === 'running' && s.failing !== undefined && !stale && !ctx.starting(s.name)) {
      const f = s.failing
      out.push({
        component: s.name,
        failureClass: classifyProbe(f.kind, f.detail),
        metric: `probe.${f.kind}`,
        kind: 'probe',
        score: 1,
        value: f.consecutiveFailures,
        onsetMs: f.firstFailureAtMs ?? ctx.nowMs,
        detail: `${f.probe} still failing (${f.consecutiveFailures}×: ${f.detail}) and no incident is handling it`
      })
    }
  }
  return out
}
