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
  /** CPU is measured over this window after the action (long enough for 30 ticks at 100 Hz, short next to a verify deadline). */
  cpuWindowMs: 300,
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
  return {
    memory_leak: memory,
    oom: memory,
    cpu_hog: async (component) => {
      const { limits, pid } = look(component)
      if (limits.cpu === undefined) return true
      if (pid === undefined) return false
      const a = processCpuSeconds(pid, proc)
      const t0 = performance.now()
      await sleep(o.cpuWindowMs)
      const b = processCpuSeconds(pid, proc)
      const s = (performance.now() - t0) / 1000
      if (a === undefined || b === undefined || s <= 0) return false
      return (b - a) / s <= limits.cpu
    },
    disk_fill: async (component) => {
      const { limits } = look(component)
      if (limits.disk === undefined) return true
      const r = dirSizeBytes(limits.disk.path, o.diskMaxEntries)
      return !r.truncated && r.bytes / 1048576 < limits.disk.limitMb * o.diskClearFraction
    }
  }
}
