// throttle: hold a CPU hog to its share (`throttle.cpuFraction`, else the
// spec's `limits.cpu`, else RECOVERY_DEFAULTS.throttleCpuFraction; in cores).
// Methods, in order, the first that works wins:
//   1. cgroup v2 `cpu.max` in `homeostat-<component>` under the configured
//      `cgroupRoot` (else defaults.cgroupV2Root), if it is a cgroup v2
//      directory with the cpu controller and writable;
//   2. cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` in
//      `homeostat-<component>` under the first of defaults.cgroupV1CpuRoots
//      that is a cpu hierarchy (made beside the process's current cpu cgroup,
//      so limits already on it still hold);
//   3. a duty cycle (SIGSTOP/SIGCONT of the process group) run by the target
//      (`limitCpu`; the monitor's supervisor uses its cpu limiter).
// Both cgroup methods move the process's whole group (every pid whose pgrp is
// the component's pid); its later children inherit the cgroup. Renice is not
// a method: nice only matters under contention, and a lone busy process keeps
// its whole core at nice 19. `throttle.nice`, if set, lowers every thread's
// priority in addition. The summary names the method and why the ones
// before it were not usable; undo lifts the limit.
import { appendFile, mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { join } from 'node:path'
import { processGroupPids } from '@homeostat/monitor'
import { UnsupportedActionError } from '../errors.ts'
import { infoOrThrow, pidAlive, specOf } from './process-util.ts'
import type { ActionContext, ActionEffect, ActionImpl } from './types.ts'

/** `cpu.max` line for `cores` of CPU: "<quota> <period>" (quota at least the kernel's 1 ms). Pure. */
export function cpuMaxLine (cores: number, periodUs: number): string {
  return `${cfsQuotaUs(cores, periodUs)} ${periodUs}`
}

/** cgroup v1 `cpu.cfs_quota_us` for `cores` of CPU per `periodUs` (at least the kernel's 1 ms). Pure. */
export function cfsQuotaUs (cores: number, periodUs: number): number {
  return Math.max(1000, Math.round(cores * periodUs))
}

/** The per-component cgroup's directory name. Pure. */
export function cgroupName (component: string): string {
  return `homeostat-${component.replace(/[^A-Za-z0-9_.-]/g, '_')}`
}

/**
 * The cpu-controller path of a cgroup v1 hierarchy in /proc/PID/cgroup text
 * ("4:cpu,cpuacct:/system.slice/x.service" → "/system.slice/x.service");
 * undefined when the process is in no v1 cpu hierarchy. Pure.
 */
export function v1CpuPath (procCgroup: string): string | undefined {
  for (const line of procCgroup.split('\n')) {
    const a = line.indexOf(':')
    const b = line.indexOf(':', a + 1)
    if (a < 0 || b < 0) continue
    if (line.slice(a + 1, b).split(',').includes('cpu')) return line.slice(b + 1)
  }
  return undefined
}

/** "EACCES on /sys/fs/cgroup/x/cpu.max" style, short enough for a summary. */
function why (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code === 'string') return e.path != null ? `${e.code} on ${e.path}` : `${e.code}: ${e.message}`
  return e?.message ?? String(err)
}

async function exists (path: string): Promise<boolean> {
  try { await stat(path); return true } catch { return false }
}

/** Writes one pid into a cgroup's `cgroup.procs` (one write per pid, as the kernel wants). */
async function movePid (dir: string, pid: number): Promise<void> {
  await appendFile(join(dir, 'cgroup.procs'), `${pid}\n`)
}

/** Moves the group into `dir`: the leader must move; another member that fails (exited meanwhile) is noted. */
async function moveGroup (dir: string, pids: readonly number[], leader: number, notes: string[]): Promise<number[]> {
  const moved: number[] = []
  for (const p of pids) {
    try {
      await movePid(dir, p)
      moved.push(p)
    } catch (err) {
      if (p === leader) throw err
      notes.push(`pid ${p} not moved into ${dir}: ${why(err)}`)
    }
  }
  return moved
}

/** Pids listed in the incident record (the group's size is recorded in full). */
const PIDS_IN_RECORD = 32

interface Applied { method: 'cgroup-v2' | 'cgroup-v1' | 'duty-cycle', how: string, data: Record<string, unknown>, undo: () => Promise<string> }

async function tryCgroupV2 (root: string, name: string, pids: readonly number[], leader: number, cores: number, periodUs: number, notes: string[]): Promise<Applied> {
  let controllers: string
  try { controllers = await readFile(join(root, 'cgroup.controllers'), 'utf8') } catch (err) {
    throw new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not a cgroup v2 hierarchy (no cgroup.controllers)' : why(err))
  }
  const list = controllers.trim().split(/\s+/).filter((c) => c !== '')
  if (!list.includes('cpu')) throw new Error(`no cpu controller (controllers: ${list.length > 0 ? list.join(' ') : 'none'})`)
  // Let children of root use the cpu controller (harmless if already enabled).
  await writeFile(join(root, 'cgroup.subtree_control'), '+cpu').catch(() => {})
  const dir = join(root, name)
  const line = cpuMaxLine(cores, periodUs)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'cpu.max'), line)
    const moved = await moveGroup(dir, pids, leader, notes)
    return {
      method: 'cgroup-v2',
      how: `cgroup v2 cpu.max "${line}" in ${dir}`,
      data: { cgroup: dir, cpuMax: line, moved: moved.length },
      undo: async () => { await writeFile(join(dir, 'cpu.max'), 'max'); return `lifted cpu.max on ${dir}` }
    }
  } catch (err) {
    await writeFile(join(dir, 'cpu.max'), 'max').catch(() => {})
    throw new Error(why(err))
  }
}

async function tryCgroupV1 (roots: readonly string[], name: string, pids: readonly number[], leader: number, cores: number, periodUs: number, notes: string[]): Promise<Applied> {
  const missing: string[] = []
  let root: string | undefined
  for (const r of roots) {
    if (await exists(join(r, 'cpu.cfs_quota_us'))) { root = r; break }
    missing.push(r)
  }
  if (root === undefined) throw new Error(roots.length === 0 ? 'no v1 cpu hierarchy configured' : `no cpu hierarchy at ${missing.join(', ')}`)
  // Where each member is now, to put it back on undo.
  const origin = new Map<number, string>()
  for (const p of pids) {
    const path = v1CpuPath(await readFile(`/proc/${p}/cgroup`, 'utf8').catch(() => ''))
    if (path !== undefined) origin.set(p, path)
  }
  // Beside the leader's current cgroup (its limits keep applying above ours); the hierarchy's root when that is not visible here (a container).
  const here = origin.get(leader)
  const parent = here !== undefined && here !== '/' && await exists(join(root, here, 'cpu.cfs_quota_us')) ? join(root, here) : root
  const dir = join(parent, name)
  const quota = cfsQuotaUs(cores, periodUs)
  let moved: number[] = []
  const lift = async (): Promise<void> => {
    await writeFile(join(dir, 'cpu.cfs_quota_us'), '-1')
    for (const p of moved) {
      if (!pidAlive(p)) continue
      const back = origin.get(p)
      await movePid(back !== undefined && await exists(join(root, back, 'cgroup.procs')) ? join(root, back) : parent, p).catch(() => {})
    }
    await rmdir(dir).catch(() => {}) // busy while a child it forked is still in it; the lifted quota leaves it harmless
  }
  try {
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
    await writeFile(join(dir, 'cpu.cfs_period_us'), String(periodUs))
    await writeFile(join(dir, 'cpu.cfs_quota_us'), String(quota))
    moved = await moveGroup(dir, pids, leader, notes)
  } catch (err) {
    await lift().catch(() => {})
    throw new Error(`${root}: ${why(err)}`)
  }
  return {
    method: 'cgroup-v1',
    how: `cgroup v1 cpu.cfs_quota_us ${quota} / cpu.cfs_period_us ${periodUs} in ${dir}`,
    data: { cgroup: dir, cfsQuotaUs: quota, cfsPeriodUs: periodUs, moved: moved.length },
    undo: async () => { await lift(); return `lifted cpu.cfs_quota_us on ${dir}` }
  }
}

function tryDutyCycle (ctx: ActionContext, cores: number): Applied {
  const t = ctx.target
  if (t.limitCpu == null) throw new Error('the target has no limitCpu')
  let r: ReturnType<NonNullable<typeof t.limitCpu>>
  try { r = t.limitCpu(ctx.component, cores) } catch (err) { throw new Error(`limitCpu failed: ${why(err)}`) }
  if (r == null) throw new Error('the target could not start one')
  return {
    method: 'duty-cycle',
    how: `duty cycle (SIGSTOP/SIGCONT of the process group, ${r.periodMs} ms period)`,
    data: { periodMs: r.periodMs },
    undo: async () => {
      t.unlimitCpu?.(ctx.component)
      return `lifted the duty-cycle limit on ${ctx.component}`
    }
  }
}

/** The threads of the group's processes (nice is per thread on Linux), at most `max`. */
function threadsOf (pids: readonly number[], max: number): number[] {
  const out: number[] = []
  for (const p of pids) {
    let tids: number[]
    try { tids = readdirSync(`/proc/${p}/task`).map(Number).filter(Number.isInteger) } catch { tids = [p] }
    for (const t of tids) { if (out.length < max) out.push(t) }
  }
  return out
}

/** Threads reniced at most (bounded work on a group with a runaway thread count). */
const NICE_MAX_THREADS = 4096

/** Lowers every thread's priority to `nice`; returns the old values to restore. */
function renice (pids: readonly number[], nice: number, notes: string[]): Array<[number, number]> {
  const old: Array<[number, number]> = []
  for (const tid of threadsOf(pids, NICE_MAX_THREADS)) {
    try {
      const was = getPriority(tid)
      setPriority(tid, nice)
      old.push([tid, was])
    } catch (err) { if (notes.length < 8) notes.push(`nice ${nice} on ${tid}: ${why(err)}`) }
  }
  return old
}

export const throttle: ActionImpl = async (ctx): Promise<ActionEffect> => {
  const info = infoOrThrow(ctx.target, ctx.component)
  const pid = info.pid
  if (pid == null || !pidAlive(pid)) throw new UnsupportedActionError('throttle', ctx.component, 'no running process')
  const cores = ctx.config.throttle?.cpuFraction ?? specOf(info).limits?.cpu ?? ctx.defaults.throttleCpuFraction
  const scanned = processGroupPids(pid)
  const pids = scanned.includes(pid) ? scanned : [pid, ...scanned]
  const name = cgroupName(ctx.component)
  const periodUs = ctx.defaults.cgroupPeriodUs
  const v2Root = ctx.config.throttle?.cgroupRoot ?? ctx.defaults.cgroupV2Root
  const skipped: string[] = []
  const notes: string[] = []

  let applied: Applied | undefined
  try { applied = await tryCgroupV2(v2Root, name, pids, pid, cores, periodUs, notes) } catch (err) {
    skipped.push(`cgroup v2 not usable at ${v2Root}: ${(err as Error).message}`)
  }
  if (applied === undefined) {
    try { applied = await tryCgroupV1(ctx.defaults.cgroupV1CpuRoots, name, pids, pid, cores, periodUs, notes) } catch (err) {
      skipped.push(`cgroup v1 not usable: ${(err as Error).message}`)
    }
  }
  if (applied === undefined) {
    try { applied = tryDutyCycle(ctx, cores) } catch (err) {
      skipped.push(`duty cycle not usable: ${(err as Error).message}`)
    }
  }
  if (applied === undefined) throw new UnsupportedActionError('throttle', ctx.component, `no way to hold a CPU limit: ${skipped.join('; ')}`)

  const nice = ctx.config.throttle?.nice
  const oldNice = nice === undefined ? [] : renice(pids, nice, notes)
  const group = pids.length === 1 ? '1 process' : `${pids.length} processes`
  const because = skipped.length > 0 ? ` (${skipped.join('; ')})` : ''
  const niced = nice === undefined ? '' : `; niced ${oldNice.length} threads to ${nice} (throttle.nice)`
  const a = applied
  return {
    summary: `throttled ${ctx.component} (pid ${pid}, ${group}) to ${cores} cores by ${a.how}${niced}${because}`,
    evidence: [...skipped, ...notes],
    data: { method: a.method, cores, pid, groupSize: pids.length, pids: pids.slice(0, PIDS_IN_RECORD), ...a.data, ...(nice === undefined ? {} : { nice, reniced: oldNice.length }) },
    undo: async () => {
      const line = await a.undo()
      let restored = 0
      for (const [tid, was] of oldNice) {
        try { setPriority(tid, was); restored++ } catch { /* exited */ }
      }
      return nice === undefined ? line : `${line}; restored the nice value of ${restored} threads`
    }
  }
}
