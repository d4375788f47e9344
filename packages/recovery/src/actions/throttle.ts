// throttle: limit a CPU hog. cgroup v2 `cpu.max` when a writable cgroup v2
// hierarchy with the cpu controller is available (the configured cgroupRoot,
// else /sys/fs/cgroup); otherwise lower its priority with setpriority(2)
// (`renice`). Undo lifts the limit / restores the old nice value.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { getPriority, setPriority } from 'node:os'
import { join } from 'node:path'
import { ActionFailedError, UnsupportedActionError } from '../errors.ts'
import { infoOrThrow, pidAlive, specOf } from './process-util.ts'
import type { ActionImpl } from './types.ts'

/** `cpu.max` line for a fraction of one core: "<quota> <period>". Pure. */
export function cpuMaxLine (cpuFraction: number, periodUs: number): string {
  const quota = Math.max(1000, Math.round(cpuFraction * periodUs))
  return `${quota} ${periodUs}`
}

async function tryCgroup (root: string, component: string, pid: number, line: string): Promise<{ dir: string, undo: () => Promise<void> }> {
  const controllers = await readFile(join(root, 'cgroup.controllers'), 'utf8')
  if (!controllers.split(/\s+/).includes('cpu')) throw new Error(`cpu controller not available in ${root}`)
  // Let children of root use the cpu controller (harmless if already enabled).
  await writeFile(join(root, 'cgroup.subtree_control'), '+cpu').catch(() => {})
  const dir = join(root, `homeostat-${component.replace(/[^A-Za-z0-9_.-]/g, '_')}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'cpu.max'), line)
  await writeFile(join(dir, 'cgroup.procs'), String(pid))
  return { dir, undo: async () => { await writeFile(join(dir, 'cpu.max'), 'max') } }
}

export const throttle: ActionImpl = async (ctx) => {
  const info = infoOrThrow(ctx.target, ctx.component)
  const pid = info.pid
  if (pid == null || !pidAlive(pid)) throw new UnsupportedActionError('throttle', ctx.component, 'no running process')
  const fraction = ctx.config.throttle?.cpuFraction ?? specOf(info).limits?.cpu ?? ctx.defaults.throttleCpuFraction
  const line = cpuMaxLine(fraction, ctx.defaults.cgroupPeriodUs)
  const evidence: string[] = []
  const root = ctx.config.throttle?.cgroupRoot ?? '/sys/fs/cgroup'
  try {
    const cg = await tryCgroup(root, ctx.component, pid, line)
    return {
      summary: `throttled ${ctx.component} (pid ${pid}) to ${fraction} of a core with cgroup v2 cpu.max "${line}" in ${cg.dir}`,
      data: { method: 'cgroup', cpuMax: line, cgroup: cg.dir, pid },
      undo: async () => { await cg.undo(); return `lifted cpu.max on ${cg.dir}` }
    }
  } catch (err) {
    evidence.push(`cgroup v2 not usable at ${root}: ${(err as Error).message}`)
  }
  const nice = ctx.config.throttle?.nice ?? ctx.defaults.throttleNice
  let old: number
  try {
    old = getPriority(pid)
    setPriority(pid, nice)
  } catch (err) {
    throw new ActionFailedError('throttle', `setpriority(${pid}, ${nice}): ${(err as Error).message}`, { cause: err })
  }
  return {
    summary: `throttled ${ctx.component} (pid ${pid}) by renice ${old} → ${nice} (no writable cgroup v2)`,
    evidence,
    data: { method: 'nice', pid, oldNice: old, nice },
    undo: async () => {
      if (pidAlive(pid)) setPriority(pid, old)
      return `restored nice ${old} on pid ${pid}`
    }
  }
}
