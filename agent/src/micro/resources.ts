// Per-component resource watch for the limits declared in component specs
// (`limits.memoryMb`, `limits.cpu`, `limits.disk`): samples RSS and CPU from
// /proc/<pid> and a data directory's size, and reports
// - memory_leak (predictive) when the RSS trend reaches the limit within the
//   horizon, before the limit is hit — and `oom` if it is hit anyway;
// - cpu_hog when CPU use stays above the limit for a few samples;
// - disk_fill (predictive) when the directory will pass its limit within the
//   horizon or is already above the high-water mark.
// It is an AnomalySource for the micro loop and provides the verifiers that
// say whether the symptom is gone after an action.
import { readFile, readdir, lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { AnomalyReport, AnomalySource, ClassVerifier, MicroSupervisor } from './loop.ts'
import { linearTrend, timeToLimitMs, type Point } from './trend.ts'

export const RESOURCE_DEFAULTS = {
  /** Sampling period: fast enough to see a leak of tens of MB/s several times before a 100+ MB limit. */
  periodMs: 500,
  /** Samples in the trend window (4 s at 500 ms): long enough to ignore an allocation burst. */
  trendSamples: 8,
  /** Fewest samples before a prediction is trusted. */
  minTrendSamples: 4,
  /** Predict this far ahead: a restart takes < 1 s, so 5 s leaves a wide margin. */
  horizonMs: 5_000,
  /** A trend must explain this much of the variance (steady growth, not noise). */
  minR2: 0.8,
  /** Growth slower than this is not a leak worth acting on, MB/s. */
  minLeakMbPerS: 0.5,
  /** CPU above the limit for this many consecutive samples is a hog (1.5 s at 500 ms). */
  cpuSamples: 3,
  /** Disk directory above this fraction of its limit is a disk_fill even without a trend. */
  diskHighWater: 0.9,
  /** Verification passes when the directory is below this fraction of its limit. */
  diskClearFraction: 0.8,
  /** Bounded directory walk. */
  diskMaxEntries: 20_000,
  /** CPU window of an on-demand verification measurement, ms. */
  cpuVerifyWindowMs: 300
} as const

export type ResourceOptions = Partial<typeof RESOURCE_DEFAULTS> & {
  supervisor: MicroSupervisor
  now?: () => number
  /** Kill a process whose RSS reaches its memory limit (as a cgroup OOM would), with exit reason "oom". */
  enforceMemoryLimit?: boolean
}

interface Limits { memoryMb?: number, cpu?: number, disk?: { path: string, limitMb: number } }

interface Track {
  pid?: number
  mem: Point[]
  disk: Point[]
  lastCpu?: { tMs: number, cpuS: number }
  cpuOver: number
  cpuFraction?: number
  rssMb?: number
  diskMb?: number
  reported: Set<string>
}

const CLK_TCK = 100

/** utime+stime in seconds from /proc/<pid>/stat. */
export async function processCpuSeconds (pid: number): Promise<number | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch { return undefined }
}

/** Resident set size in MB from /proc/<pid>/status. */
export async function processRssMb (pid: number): Promise<number | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/status`, 'utf8')
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(s)
    return m == null ? undefined : Number(m[1]) / 1024
  } catch { return undefined }
}

/** Total size of regular files under `dir` (no symlinks followed, bounded). */
export async function dirSizeMb (dir: string, maxEntries: number): Promise<number | undefined> {
  let bytes = 0
  let seen = 0
  const stack = [dir]
  let any = false
  while (stack.length > 0) {
    const d = stack.pop() as string
    let names: string[]
    try { names = await readdir(d); any = true } catch { continue }
    for (const n of names) {
      if (++seen > maxEntries) return bytes / 1024 / 1024
      try {
        const st = await lstat(join(d, n))
        if (st.isDirectory()) stack.push(join(d, n))
        else if (st.isFile()) bytes += st.size
      } catch {}
    }
  }
  return any ? bytes / 1024 / 1024 : undefined
}

export interface ResourceWatch {
  source: AnomalySource
  verifiers: Record<string, ClassVerifier>
  /** One sampling pass now (what the timer runs). */
  sample: () => Promise<void>
  /** Last figures per component. */
  snapshot: () => Record<string, { rssMb?: number, cpuFraction?: number, diskMb?: number }>
  stats: () => { samples: number, reports: number, oomKills: number, maxRssFractionOfLimit: Record<string, number> }
}

export function createResourceWatch (options: ResourceOptions): ResourceWatch {
  const o = { ...RESOURCE_DEFAULTS, ...options }
  const sup = options.supervisor
  const now = options.now ?? Date.now
  const tracks = new Map<string, Track>()
  const counters = { samples: 0, reports: 0, oomKills: 0 }
  const maxFraction: Record<string, number> = {}
  let emit: ((r: AnomalyReport) => void) | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let sampling = false

  const limitsOf = (name: string): Limits => {
    try { return ((sup.info(name).spec as { limits?: Limits } | undefined)?.limits) ?? {} } catch { return {} }
  }
  const trackOf = (name: string): Track => {
    let t = tracks.get(name)
    if (t == null) { t = { mem: [], disk: [], cpuOver: 0, reported: new Set() }; tracks.set(name, t) }
    return t
  }
  const report = (t: Track, key: string, r: AnomalyReport): void => {
    if (t.reported.has(key)) return // one report per episode; cleared when the symptom clears or the pid changes
    t.reported.add(key)
    counters.reports++
    emit?.(r)
  }

  async function sampleOne (name: string): Promise<void> {
    const limits = limitsOf(name)
    if (limits.memoryMb == null && limits.cpu == null && limits.disk == null) return
    const t = trackOf(name)
    const info = sup.info(name)
    const tMs = now()
    const pid = info.state === 'running' ? info.pid ?? undefined : undefined
    if (pid !== t.pid) {
      // New process (or none): its history starts afresh.
      t.pid = pid; t.mem = []; t.lastCpu = undefined; t.cpuOver = 0; t.cpuFraction = undefined; t.rssMb = undefined
      t.reported.delete('memory'); t.reported.delete('cpu')
    }
    if (pid != null && limits.memoryMb != null) {
      const rss = await processRssMb(pid)
      if (rss != null) {
        t.rssMb = rss
        maxFraction[name] = Math.max(maxFraction[name] ?? 0, rss / limits.memoryMb)
        t.mem.push({ tMs, value: rss })
        if (t.mem.length > o.trendSamples) t.mem.shift()
        if (rss >= limits.memoryMb) {
          if (options.enforceMemoryLimit === true) {
            counters.oomKills++
            sup.signal(name, 'SIGKILL', 'oom')
          }
          report(t, 'memory', { component: name, failureClass: 'memory_leak', metric: 'process.rss_mb', kind: 'metric', score: 1, value: rss, onsetMs: t.mem[0].tMs, detail: `RSS ${rss.toFixed(0)} MB reached the ${limits.memoryMb} MB limit` })
        } else if (t.mem.length >= o.minTrendSamples) {
          const tr = linearTrend(t.mem)
          if (tr != null && tr.slopePerS >= o.minLeakMbPerS && tr.r2 >= o.minR2) {
            const ttl = timeToLimitMs(rss, limits.memoryMb, tr.slopePerS)
            if (ttl <= o.horizonMs) {
              report(t, 'memory', {
                component: name,
                failureClass: 'memory_leak',
                metric: 'process.rss_mb',
                kind: 'predictive',
                score: Math.min(1, Math.max(0.5, 1 - ttl / o.horizonMs)),
                value: rss,
                onsetMs: t.mem[0].tMs,
                detail: `RSS ${rss.toFixed(0)} MB growing ${tr.slopePerS.toFixed(1)} MB/s (R² ${tr.r2.toFixed(2)}): the ${limits.memoryMb} MB limit in ${(ttl / 1000).toFixed(1)} s`,
                evidence: t.mem.map((p) => `${new Date(p.tMs).toISOString()} rss ${p.value.toFixed(1)} MB`)
              })
            }
          }
        }
      }
    }
    if (pid != null && limits.cpu != null) {
      const cpuS = await processCpuSeconds(pid)
      if (cpuS != null) {
        if (t.lastCpu != null && tMs > t.lastCpu.tMs) {
          t.cpuFraction = (cpuS - t.lastCpu.cpuS) / ((tMs - t.lastCpu.tMs) / 1000)
          t.cpuOver = t.cpuFraction > limits.cpu ? t.cpuOver + 1 : 0
          if (t.cpuOver === 0) t.reported.delete('cpu')
          if (t.cpuOver >= o.cpuSamples) {
            report(t, 'cpu', { component: name, failureClass: 'cpu_hog', metric: 'process.cpu_cores', kind: 'metric', score: Math.min(1, t.cpuFraction / (limits.cpu * 2)), value: t.cpuFraction, onsetMs: tMs - o.cpuSamples * o.periodMs, detail: `CPU ${(t.cpuFraction * 100).toFixed(0)}% of a core, over the ${(limits.cpu * 100).toFixed(0)}% limit for ${t.cpuOver} samples` })
          }
        }
        t.lastCpu = { tMs, cpuS }
      }
    }
    if (limits.disk != null) {
      const mb = await dirSizeMb(limits.disk.path, o.diskMaxEntries)
      if (mb != null) {
        t.diskMb = mb
        t.disk.push({ tMs, value: mb })
        if (t.disk.length > o.trendSamples) t.disk.shift()
        const limit = limits.disk.limitMb
        if (mb < limit * o.diskClearFraction) t.reported.delete('disk')
        const tr = t.disk.length >= o.minTrendSamples ? linearTrend(t.disk) : undefined
        const ttl = tr != null && tr.r2 >= o.minR2 ? timeToLimitMs(mb, limit, tr.slopePerS) : Number.POSITIVE_INFINITY
        if (mb >= limit * o.diskHighWater || ttl <= o.horizonMs) {
          const onset = t.disk.find((p, i) => i > 0 && p.value > t.disk[i - 1].value)?.tMs ?? tMs
          report(t, 'disk', {
            component: name,
            failureClass: 'disk_fill',
            metric: 'disk.dir_mb',
            kind: mb >= limit ? 'metric' : 'predictive',
            score: Math.min(1, mb / limit),
            value: mb,
            onsetMs: onset,
            detail: `${limits.disk.path} holds ${mb.toFixed(1)} MB of its ${limit} MB limit${Number.isFinite(ttl) ? `; full in ${(ttl / 1000).toFixed(1)} s at ${tr!.slopePerS.toFixed(1)} MB/s` : ''}`
          })
        }
      }
    }
  }

  async function sample (): Promise<void> {
    if (sampling) return
    sampling = true
    try {
      counters.samples++
      for (const name of sup.names()) await sampleOne(name).catch(() => {})
    } finally { sampling = false }
  }

  const cpuNow = async (pid: number): Promise<number | undefined> => {
    const a = await processCpuSeconds(pid)
    const t0 = now()
    await new Promise((r) => setTimeout(r, o.cpuVerifyWindowMs))
    const b = await processCpuSeconds(pid)
    if (a == null || b == null) return undefined
    return (b - a) / ((now() - t0) / 1000)
  }

  const verifiers: Record<string, ClassVerifier> = {
    cpu_hog: async (component) => {
      const limit = limitsOf(component).cpu
      const info = sup.info(component)
      if (limit == null || info.pid == null) return true
      const f = await cpuNow(info.pid)
      return f != null && f <= limit
    },
    memory_leak: async (component) => {
      const limit = limitsOf(component).memoryMb
      const info = sup.info(component)
      if (limit == null || info.pid == null) return true
      const rss = await processRssMb(info.pid)
      // Well under the limit again (a fresh process, or the fallback).
      return rss != null && rss < limit * 0.5
    },
    disk_fill: async (component) => {
      const disk = limitsOf(component).disk
      if (disk == null) return true
      const mb = await dirSizeMb(disk.path, o.diskMaxEntries)
      const ok = mb != null && mb < disk.limitMb * o.diskClearFraction
      if (ok) { const t = trackOf(component); t.disk = []; t.reported.delete('disk') }
      return ok
    }
  }

  return {
    source: (fn) => {
      emit = fn
      timer = setInterval(() => { void sample() }, o.periodMs)
      timer.unref?.()
      return () => { if (timer != null) clearInterval(timer); timer = undefined; emit = undefined }
    },
    verifiers,
    sample,
    snapshot: () => Object.fromEntries([...tracks].map(([k, t]) => [k, { rssMb: t.rssMb, cpuFraction: t.cpuFraction, diskMb: t.diskMb }])),
    stats: () => ({ ...counters, maxRssFractionOfLimit: { ...maxFraction } })
  }
}
