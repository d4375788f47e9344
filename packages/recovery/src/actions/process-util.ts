// Small helpers for acting on real processes.
import type { ComponentSpec } from '@homeostat/interface'
import type { RecoveryTarget, TargetInfo } from '../target.ts'
import { UnknownComponentError } from '../errors.ts'

/** info() or undefined: the monitor's supervisor throws for an unknown name. */
export function safeInfo (target: RecoveryTarget, name: string): TargetInfo | undefined {
  try {
    return target.info(name) ?? undefined
  } catch {
    return undefined
  }
}

export function infoOrThrow (target: RecoveryTarget, name: string): TargetInfo {
  const info = safeInfo(target, name)
  if (info == null) throw new UnknownComponentError(name)
  return info
}

/** The parts of the monitor's ComponentSpec recovery reads (absent on other targets). */
export function specOf (info: TargetInfo): Partial<ComponentSpec> {
  return (info.spec ?? {}) as Partial<ComponentSpec>
}

/** True while `pid` exists (signal 0 probes without delivering anything). */
export function pidAlive (pid: number | null | undefined): boolean {
  if (pid == null || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const RUNNING = new Set(['running', 'starting'])

export function isRunningState (state: string): boolean {
  return RUNNING.has(state)
}

/** Polls until `pid` is gone or `timeoutMs` elapses; returns true if it exited. */
export async function waitForExit (pid: number | null | undefined, timeoutMs: number, sleep: (ms: number, signal?: AbortSignal) => Promise<void>, now: () => number, signal?: AbortSignal): Promise<boolean> {
  const deadline = now() + timeoutMs
  while (pidAlive(pid)) {
    if (now() >= deadline) return false
    await sleep(Math.min(20, Math.max(1, deadline - now())), signal)
  }
  return true
}

/** A shared component runs elsewhere: no pid of ours; its restart is a hook the target runs. */
export function isShared (info: TargetInfo): boolean {
  return specOf(info).shared === true
}

/** Starts a stopped/crashed component, or restarts a running one (a shared one is always restarted). */
export async function startOrRestart (target: RecoveryTarget, name: string, graceMs: number): Promise<void> {
  const info = infoOrThrow(target, name)
  if ((isRunningState(info.state) && info.pid != null) || isShared(info)) await target.restartComponent(name, { graceMs })
  else await target.startComponent(name)
}
