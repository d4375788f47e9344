// Test helpers for throttle: a minimal RecoveryTarget around one real
// process group whose limitCpu runs the monitor's real duty-cycle limiter,
// the CPU share of a group measured from /proc, and an ActionContext.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createCpuLimiter, CPU_LIMIT_DEFAULTS, type CpuLimiter } from '@homeostat/monitor'
import { RECOVERY_DEFAULTS, silentLogger, type ActionContext, type ComponentRecoveryConfig, type RecoveryDefaults, type RecoveryTarget } from '../src/index.ts'
import { makeIncident } from './helpers.ts'

export interface CpuTarget {
  target: RecoveryTarget
  child: ChildProcess
  /** The limiter limitCpu started, while it runs. */
  limiter: () => CpuLimiter | undefined
  /** Stops the limiter and kills the group. */
  close: () => void
}

/**
 * One component `name` running `sh -c script` in its own process group.
 * `dutyCycle: false` leaves limitCpu out (a target that cannot duty-cycle).
 */
export function makeCpuTarget (name: string, script: string, o: { cpu?: number, dutyCycle?: boolean } = {}): CpuTarget {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
  let limiter: CpuLimiter | undefined
  const no = (what: string) => (): never => { throw new Error(`${what} is not part of this test target`) }
  const target: RecoveryTarget = {
    startComponent: no('startComponent'),
    stopComponent: no('stopComponent'),
    restartComponent: no('restartComponent'),
    signal: no('signal'),
    updateSpec: no('updateSpec'),
    quarantine: no('quarantine'),
    info: (n) => n === name ? { name, pid: child.pid, state: 'running', spec: o.cpu === undefined ? {} : { limits: { cpu: o.cpu } } } : undefined
  }
  if (o.dutyCycle !== false) {
    target.limitCpu = (n, cores) => {
      if (n !== name || child.pid === undefined) return undefined
      limiter?.stop()
      const l = createCpuLimiter({ pgid: child.pid, cores, onGone: () => { if (limiter === l) limiter = undefined } })
      limiter = l
      l.start()
      return { method: 'duty-cycle', periodMs: CPU_LIMIT_DEFAULTS.periodMs }
    }
    target.unlimitCpu = (n) => {
      if (n !== name) return
      limiter?.stop()
      limiter = undefined
    }
  }
  return {
    target,
    child,
    limiter: () => limiter,
    close: () => {
      limiter?.stop()
      try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
    }
  }
}

/** pgrp, utime+stime and state of every process, from /proc. */
function procTable (): Array<{ pid: number, pgrp: number, ticks: number, state: string }> {
  const out = []
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue
    let text: string
    try { text = readFileSync(`/proc/${n}/stat`, 'latin1') } catch { continue }
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    out.push({ pid: Number(n), pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]), state: f[0]! })
  }
  return out
}

/** CPU ms of the live processes of group `pgid`. */
export function groupCpuMs (pgid: number): number {
  return procTable().filter((p) => p.pgrp === pgid).reduce((a, p) => a + p.ticks * 10, 0)
}

/** The pids of group `pgid` and their states. */
export function groupStates (pgid: number): Array<{ pid: number, state: string }> {
  return procTable().filter((p) => p.pgrp === pgid).map(({ pid, state }) => ({ pid, state }))
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** True when no member of group `pgid` is seen stopped (state T) over `ms`, sampled every 5 ms. */
export async function neverStopped (pgid: number, ms: number): Promise<boolean> {
  for (let t = 0; t < ms; t += 5) {
    if (groupStates(pgid).some((p) => p.state === 'T')) return false
    await sleep(5)
  }
  return true
}

/** CPU share (cores) of group `pgid` over the next `ms`. */
export async function groupShare (pgid: number, ms: number): Promise<number> {
  const a = groupCpuMs(pgid)
  const t0 = performance.now()
  await sleep(ms)
  return (groupCpuMs(pgid) - a) / (performance.now() - t0)
}

/** An ActionContext for calling an action directly. */
export function actionContext (target: RecoveryTarget, component: string, config: ComponentRecoveryConfig = {}, defaults: Partial<RecoveryDefaults> = {}): ActionContext {
  return {
    component,
    incident: makeIncident(component, 'cpu_hog'),
    target,
    config,
    defaults: { ...RECOVERY_DEFAULTS, ...defaults },
    now: Date.now,
    sleep,
    random: Math.random,
    logger: silentLogger,
    signal: new AbortController().signal,
    recentRestartsMs: []
  }
}
