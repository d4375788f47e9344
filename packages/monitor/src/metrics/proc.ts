// Parsers for /proc and /sys text, as pure functions (tested from strings),
// plus the small synchronous readers the collector uses. Reads of /proc are
// in-memory and take microseconds; synchronous reads avoid the thread-pool
// round trip that would cost more than the read itself.
import { readFileSync, readdirSync, lstatSync, statfsSync } from 'node:fs'
import { join } from 'node:path'

export interface CpuTimes { total: number, idle: number, iowait: number }

/** The aggregate `cpu` line of /proc/stat (jiffies). */
export function parseProcStat (text: string): CpuTimes | undefined {
  const line = text.slice(0, text.indexOf('\n'))
  if (!line.startsWith('cpu ')) return undefined
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest/guest_nice are included in user/nice)
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
  return { total, idle: (f[3] ?? 0) + (f[4] ?? 0), iowait: f[4] ?? 0 }
}

/** CPU utilisation between two /proc/stat readings, percent. */
export function cpuUtilPct (a: CpuTimes, b: CpuTimes): { utilPct: number, iowaitPct: number } | undefined {
  const dt = b.total - a.total
  if (!(dt > 0)) return undefined
  return { utilPct: 100 * (1 - (b.idle - a.idle) / dt), iowaitPct: 100 * (b.iowait - a.iowait) / dt }
}

/** /proc/meminfo → kB values by key. */
export function parseMeminfo (text: string): Record<string, number> {
  const r: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line)
    if (m !== null) r[m[1]!] = Number(m[2])
  }
  return r
}

export function parseLoadavg (text: string): [number, number, number] | undefined {
  const f = text.trim().split(/\s+/).slice(0, 3).map(Number)
  return f.length === 3 && f.every(Number.isFinite) ? [f[0]!, f[1]!, f[2]!] : undefined
}

/** /proc/net/dev → cumulative rx/tx bytes per interface. */
export function parseNetDev (text: string): Map<string, { rx: number, tx: number }> {
  const out = new Map<string, { rx: number, tx: number }>()
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':')
    if (i < 0) continue
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number)
    if (f.length >= 9) out.set(line.slice(0, i).trim(), { rx: f[0]!, tx: f[8]! })
  }
  return out
}

export interface ProcStat { state: string, ppid: number, pgrp: number, utimeTicks: number, stimeTicks: number, rssPages: number, startTicks: number }

/** /proc/PID/stat (fields after the parenthesised comm, which may contain spaces and parentheses). */
export function parseProcPidStat (text: string): ProcStat | undefined {
  const i = text.lastIndexOf(')')
  if (i < 0) return undefined
  const f = text.slice(i + 2).trim().split(' ')
  // f[0] is field 3 (state); ppid field 4 → f[1]; pgrp field 5 → f[2]; utime field 14 → f[11]; stime f[12]; starttime field 22 → f[19]; rss field 24 → f[21]
  const n = (k: number): number => Number(f[k])
  if (f.length < 22) return undefined
  return { state: f[0]!, ppid: n(1), pgrp: n(2), utimeTicks: n(11), stimeTicks: n(12), startTicks: n(19), rssPages: n(21) }
}

/** Linux USER_HZ is 100 on every architecture the kernel exposes it for. */
export const CLOCK_TICKS_PER_S = 100

let pageSizeCache: number | undefined
/**
 * Page size in bytes, calibrated once from this process's own statm vs VmRSS
 * (4 KiB on x86, 16 KiB on a Raspberry Pi 5 kernel, 64 KiB on some arm64).
 */
export function pageSizeBytes (): number {
  if (pageSizeCache !== undefined) return pageSizeCache
  pageSizeCache = 4096
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1])
    const kb = parseMeminfo(readFileSync('/proc/self/status', 'utf8')).VmRSS
    if (pages > 0 && kb !== undefined && kb > 0) {
      const est = (kb * 1024) / pages
      for (const p of [4096, 16384, 65536]) if (Math.abs(est - p) / p < 0.25) pageSizeCache = p
    }
  } catch { /* not Linux */ }
  return pageSizeCache
}

export function readText (path: string): string | undefined {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}

export interface ThermalZone { name: string, tempC: number }

/** /sys/class/thermal/thermal_zone*: millidegrees → °C, named by `type`. */
export function readThermal (sysRoot = '/sys'): ThermalZone[] {
  const base = join(sysRoot, 'class/thermal')
  let names: string[]
  try { names = readdirSync(base).filter((n) => n.startsWith('thermal_zone')) } catch { return [] }
  const out: ThermalZone[] = []
  for (const z of names) {
    const t = Number(readText(join(base, z, 'temp')))
    if (!Number.isFinite(t)) continue
    const type = (readText(join(base, z, 'type')) ?? z).trim().replace(/[^A-Za-z0-9_-]/g, '_')
    let name = type !== '' ? type : z
    // Two zones of one type (e.g. two "cpu-thermal") keep distinct series.
    if (out.some((o) => o.name === name)) name = `${name}_${z.slice('thermal_zone'.length)}`
    out.push({ name, tempC: t / 1000 })
  }
  return out
}

/** Current/max CPU frequency ratio of cpu0 (< 1 when throttled or idle-scaled); undefined without cpufreq. */
export function readFreqRatio (sysRoot = '/sys'): number | undefined {
  const base = join(sysRoot, 'devices/system/cpu/cpu0/cpufreq')
  const cur = Number(readText(join(base, 'scaling_cur_freq')))
  const max = Number(readText(join(base, 'cpuinfo_max_freq')))
  return cur > 0 && max > 0 ? cur / max : undefined
}

/** cgroup v2 cpu.stat throttling counters, if this process's cgroup exposes them. */
export function parseCpuStat (text: string): { nrPeriods: number, nrThrottled: number, throttledUsec: number } | undefined {
  const r = parseMeminfo(text.replace(/ /g, ': '))
  if (r.nr_periods === undefined) return undefined
  return { nrPeriods: r.nr_periods, nrThrottled: r.nr_throttled ?? 0, throttledUsec: r.throttled_usec ?? 0 }
}

export function diskUsage (path: string): { usedPct: number, freeMb: number, totalMb: number } | undefined {
  try {
    const s = statfsSync(path)
    const total = s.blocks * s.bsize
    if (!(total > 0)) return undefined
    const free = s.bavail * s.bsize
    const used = (s.blocks - s.bfree) * s.bsize
    // df's Use%: used / (used + available to unprivileged users)
    return { usedPct: 100 * used / (used + free), freeMb: free / 1048576, totalMb: total / 1048576 }
  } catch { return undefined }
}

/**
 * Bytes under a directory (files only, no symlinks followed), walking at most
 * `maxEntries` entries. `truncated` says the walk stopped early (size is then a lower bound).
 */
export function dirSizeBytes (dir: string, maxEntries: number): { bytes: number, entries: number, truncated: boolean } {
  let bytes = 0
  let entries = 0
  const stack = [dir]
  while (stack.length > 0) {
    const d = stack.pop()!
    let names: string[]
    try { names = readdirSync(d) } catch { continue }
    for (const n of names) {
      if (++entries > maxEntries) return { bytes, entries: entries - 1, truncated: true }
      const p = join(d, n)
      try {
        const s = lstatSync(p)
        if (s.isDirectory()) stack.push(p)
        else if (s.isFile()) bytes += s.size
      } catch { /* vanished */ }
    }
  }
  return { bytes, entries, truncated: false }
}
