// "Is the symptom gone?" checks for the resource classes the anomaly watch
// reports (memory_leak, oom, cpu_hog, disk_fill), measured on demand from
// /proc and the component's directory after a recovery action. The micro
// loop runs the class verifier and then its probes: the first says the
// symptom is gone, the second that the component still serves.
// Classes without a verifier here (metric anomalies, crashes, hangs) are
// verified by the probes alone.
import { readText, parseProcPidStat, pageSizeBytes, dirSizeBytes, CLOCK_TICKS_PER_S } from './metrics/proc.ts'
import type { Supervisor } from './supervisor.ts'

export const VERIFY_DEFAULTS = {
  /**
   * CPU is measured over this window after the action: 10 periods of a duty-cycle limit (100 ms each), so a
   * held process reads within a few percent of its share (a 300 ms window read a duty cycle ±15 %), and 100
   * ticks at 100 Hz.
   */
  cpuWindowMs: 1_000,
  /** A CPU share within this fraction over its limit counts as held (ticks are 10 ms; the limiter aims at 95 %). */
  cpuTolerance: 0.1,
  /** RSS must be below this fraction of the limit: a fresh process or the fallback, not a leak paused at 95 %. */
  memoryClearFraction: 0.5,
  /** A directory must be below this fraction of its limit (under the watch's 0.9 high-water mark, so a freed disk does not re-fire at once). */
  diskClearFraction: 0.8,
  /** Entries walked per directory check (bounded cost on a huge directory). */
  diskMaxEntries: 20_000
} as const

/** A verifier says whether `component`'s symptom is gone (true) after an action. */
export type ResourceVerifier = (component: string, incident?: unknown) => Promise<boolean>

export type VerifyOptions = { -readonly [K in keyof typeof VERIFY_DEFAULTS]?: number } & {
  supervisor: Pick<Supervisor, 'info'>
  procRoot?: string
  /** Waits `ms` (tests may shorten it); default a timer. */
  sleep?: (ms: number) => Promise<void>
}

type Limits = NonNullable<ReturnType<Supervisor['info']>['spec']['limits']>

/** utime+stime in seconds, undefined when the process is gone. */
export function processCpuSeconds (pid: number, procRoot = '/proc'): number | undefined {
  const st = parseProcPidStat(readText(`${procRoot}/${pid}/stat`) ?? '')
  return st === undefined ? undefined : (st.utimeTicks + st.stimeTicks) / CLOCK_TICKS_PER_S
}

/** Resident set in MB, undefined when the process is gone. */
export function processRssMb (pid: number, procRoot = '/proc'): number | undefined {
  const st = parseProcPidStat(readText(`${procRoot}/${pid}/stat`) ?? '')
  return st === undefined || !Number.isFinite(st.rssPages) ? undefined : st.rssPages * pageSizeBytes() / 1048576
}

/** CPU used by `pid` over `windowMs`, in cores (its threads and reaped children count); undefined when it is gone. */
export async function cpuCores (pid: number, windowMs: number, procRoot = '/proc', sleep: (ms: number) => Promise<void> = async (ms) => await new Promise<void>((resolve) => setTimeout(resolve, ms))): Promise<number | undefined> {
  const a = processCpuSeconds(pid, procRoot)
  const t0 = performance.now()
  await sleep(windowMs)
  const b = processCpuSeconds(pid, procRoot)
  const s = (performance.now() - t0) / 1000
  if (a === undefined || b === undefined || s <= 0) return undefined
  return (b - a) / s
}

/** A failure's own measure: what "worse" means for it (higher is worse). */
export interface ResourceMeasure { value: number, unit: string, what: string, noise: number }

/**
 * The measure of each resource class, read now: a directory's size (disk_fill), the process's CPU share
 * (cpu_limit, cpu_hog), its RSS (memory_leak, oom). The micro loop compares it before and after an action:
 * an action that made it worse is not repeated.
 */
export function createResourceMeasures (options: VerifyOptions): (component: string, failureClass: string) => Promise<ResourceMeasure | undefined> {
  const o = { ...VERIFY_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof VERIFY_DEFAULTS & VerifyOptions
  const proc = options.procRoot ?? '/proc'
  const sleep = options.sleep ?? (async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)))
  return async (component, failureClass) => {
    let info
    try { info = options.supervisor.info(component) } catch { return undefined }
    const limits = info.spec.limits ?? {}
    if (failureClass === 'disk_fill' && limits.disk !== undefined) {
      const r = dirSizeBytes(limits.disk.path, o.diskMaxEntries)
      // 1 MB or 1 % of the limit: a log line or two is not harm.
      return r.truncated ? undefined : { value: r.bytes / 1048576, unit: 'MB', what: `${limits.disk.path} usage`, noise: Math.max(1, limits.disk.limitMb * 0.01) }
    }
    const pid = info.pid ?? undefined
    if (pid === undefined) return undefined
    if (failureClass === 'cpu_limit' || failureClass === 'cpu_hog') {
      const cores = await cpuCores(pid, Math.min(o.cpuWindowMs, 500), proc, sleep)
      return cores === undefined ? undefined : { value: cores, unit: 'cores', what: `${component}'s CPU share`, noise: 0.1 }
    }
    if (failureClass === 'memory_leak' || failureClass === 'oom') {
      const rss = processRssMb(pid, proc)
      return rss === undefined ? undefined : { value: rss, unit: 'MB', what: `${component}'s RSS`, noise: Math.max(5, (limits.memoryMb ?? 0) * 0.02) }
    }
    return undefined
  }
}

export function createResourceVerifiers (options: VerifyOptions): Record<string, ResourceVerifier> {
  const o = { ...VERIFY_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof VERIFY_DEFAULTS & VerifyOptions
  const sup = options.supervisor
  const proc = options.procRoot ?? '/proc'
  const sleep = options.sleep ?? (async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const look = (component: string): { limits: Limits, pid?: number } => {
    try {
      const i = sup.info(component)
      return { limits: i.spec.limits ?? {}, pid: i.pid ?? undefined }
    } catch { return { limits: {} } }
  }
  const memory: ResourceVerifier = async (component) => {
    const { limits, pid } = look(component)
    if (limits.memoryMb === undefined) return true
    if (pid === undefined) return false // not running again yet: the probes would say the same
    const rss = processRssMb(pid, proc)
    return rss !== undefined && rss < limits.memoryMb * o.memoryClearFraction
  }
  const cpu: ResourceVerifier = async (component) => {
    const { limits, pid } = look(component)
    if (limits.cpu === undefined) return true
    if (pid === undefined) return false
    const cores = await cpuCores(pid, o.cpuWindowMs, proc, sleep)
    return cores !== undefined && cores <= limits.cpu * (1 + o.cpuTolerance)
  }
  return {
    memory_leak: memory,
    oom: memory,
    cpu_limit: cpu,
    cpu_hog: cpu,
    disk_fill: async (component) => {
      const { limits } = look(component)
      if (limits.disk === undefined) return true
      const r = dirSizeBytes(limits.disk.path, o.diskMaxEntries)
      return !r.truncated && r.bytes / 1048576 < limits.disk.limitMb * o.diskClearFraction
    }
  }
}
