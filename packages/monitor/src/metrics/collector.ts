// System, device and per-process metrics at a configurable rate. One pass
// reads a handful of /proc and /sys files synchronously (tens of µs) and emits
// Samples; device telemetry from the firmware bridge (or anything else) enters
// through `ingest` and flows through the same listeners.
import type { Sample } from '@homeostat/interface'
import type { Supervisor } from '../supervisor.ts'
import { Emitter, realScheduler, silentLogger, type Logger, type Scheduler, type Unsubscribe } from '../events.ts'
import {
  CLOCK_TICKS_PER_S, cpuUtilPct, diskUsage, dirSizeBytes, pageSizeBytes, parseCpuStat, parseLoadavg, parseMeminfo,
  parseNetDev, parseProcPidStat, parseProcStat, readFreqRatio, readText, readThermal, type CpuTimes
} from './proc.ts'

export const METRICS_DEFAULTS = {
  /** 1 Hz: fast enough for second-scale detection, cheap enough for a Pi. */
  intervalMs: 1000,
  /** Mounts watched with statfs. */
  diskPaths: ['/'] as readonly string[],
  /** Component name of node-wide metrics. */
  nodeComponent: 'node',
  /** Directory sizes (limits.disk) are walked at most this often: a walk costs far more than a /proc read. */
  dirScanIntervalMs: 5000,
  /** Entries walked per directory scan (bounds the cost of a huge directory). */
  dirMaxEntries: 20_000,
  /** Interfaces whose names match are skipped (loopback and virtual noise). */
  netExclude: /^(lo|ifb\d*|veth|docker|br-|virbr)/,
  /** Longest accepted metric / component name from `ingest`. */
  maxNameLength: 128,
  /** Distinct component/metric series kept in `latest`; new series beyond it are refused (a hostile bridge cannot grow memory). */
  maxSeries: 4096
} as const

export interface MetricsOptions {
  supervisor?: Supervisor
  now?: () => number
  logger?: Logger
  scheduler?: Scheduler
  intervalMs?: number
  diskPaths?: readonly string[]
  nodeComponent?: string
  dirScanIntervalMs?: number
  dirMaxEntries?: number
  /** Turn groups off (e.g. a simulation feeds everything through ingest). */
  system?: boolean
  processes?: boolean
  procRoot?: string
  sysRoot?: string
}

export interface MetricsEvents extends Record<string, unknown> {
  sample: Sample
  /** All samples of one collection pass (or one ingest call). */
  samples: Sample[]
}

export interface MetricsStats {
  collections: number
  samples: number
  ingested: number
  /** Ingested samples refused (bad name, non-finite value). */
  rejected: number
  /** Duration of the last collection pass, µs. */
  lastCollectUs: number
}

export interface MetricsCollector {
  start: () => void
  stop: () => void
  /** One collection pass now; returns (and emits) its samples. */
  collect: () => Sample[]
  /** Accepts external samples (device telemetry); returns how many were accepted. */
  ingest: (samples: Sample | readonly Sample[]) => number
  /** Latest value per `component/metric`. */
  latest: () => Map<string, Sample>
  on: <K extends keyof MetricsEvents>(event: K, fn: (v: MetricsEvents[K]) => void) => Unsubscribe
  stats: () => MetricsStats
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/

/** `/` → `root`, `/var/lib` → `var_lib`: a mount as a metric-name segment. */
export function mountLabel (path: string): string {
  const s = path.replace(/^\/+|\/+$/g, '').replace(/[^A-Za-z0-9_-]+/g, '_')
  return s === '' ? 'root' : s
}

export function createMetricsCollector (options: MetricsOptions = {}): MetricsCollector {
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const sched = options.scheduler ?? realScheduler
  const intervalMs = options.intervalMs ?? METRICS_DEFAULTS.intervalMs
  const diskPaths = options.diskPaths ?? METRICS_DEFAULTS.diskPaths
  const nodeName = options.nodeComponent ?? METRICS_DEFAULTS.nodeComponent
  const dirScanMs = options.dirScanIntervalMs ?? METRICS_DEFAULTS.dirScanIntervalMs
  const dirMax = options.dirMaxEntries ?? METRICS_DEFAULTS.dirMaxEntries
  const proc = options.procRoot ?? '/proc'
  const sys = options.sysRoot ?? '/sys'
  const wantSystem = options.system ?? true
  const wantProcs = (options.processes ?? true) && options.supervisor !== undefined
  if (!(intervalMs > 0)) throw new RangeError('intervalMs must be > 0')
  const events = new Emitter<MetricsEvents>(logger)
  const latest = new Map<string, Sample>()
  const stats: MetricsStats = { collections: 0, samples: 0, ingested: 0, rejected: 0, lastCollectUs: 0 }
  const pageBytes = pageSizeBytes()

  let prevCpu: CpuTimes | undefined
  let prevNet: { atMs: number, byIf: Map<string, { rx: number, tx: number }> } | undefined
  let prevThrottle: { atMs: number, usec: number } | undefined
  const prevProc = new Map<string, { pid: number, atMs: number, ticks: number }>()
  const dirCache = new Map<string, { atMs: number, mb: number }>()
  let timer: unknown
  let running = false

  const emitAll = (batch: Sample[]): void => {
    for (const s of batch) {
      latest.set(`${s.component}/${s.metric}`, s)
      events.emit('sample', s)
    }
    if (batch.length > 0) events.emit('samples', batch)
  }

  const collectSystem = (atMs: number, out: Sample[]): void => {
    const push = (metric: string, value: number): void => { if (Number.isFinite(value)) out.push({ metric, component: nodeName, value, atMs }) }
    const stat = readText(`${proc}/stat`)
    const cpu = stat !== undefined ? parseProcStat(stat) : undefined
    if (cpu !== undefined) {
      if (prevCpu !== undefined) {
        const u = cpuUtilPct(prevCpu, cpu)
        if (u !== undefined) { push('cpu.util_pct', u.utilPct); push('cpu.iowait_pct', u.iowaitPct) }
      }
      prevCpu = cpu
    }
    const mi = readText(`${proc}/meminfo`)
    if (mi !== undefined) {
      const m = parseMeminfo(mi)
      if (m.MemTotal !== undefined && m.MemAvailable !== undefined && m.MemTotal > 0) {
        push('mem.used_pct', 100 * (1 - m.MemAvailable / m.MemTotal))
        push('mem.available_mb', m.MemAvailable / 1024)
      }
      if (m.SwapTotal !== undefined && m.SwapTotal > 0 && m.SwapFree !== undefined) push('swap.used_pct', 100 * (1 - m.SwapFree / m.SwapTotal))
    }
    const la = parseLoadavg(readText(`${proc}/loadavg`) ?? '')
    if (la !== undefined) { push('load.1', la[0]); push('load.5', la[1]); push('load.15', la[2]) }
    for (const p of diskPaths) {
      const d = diskUsage(p)
      if (d !== undefined) { push(`disk.${mountLabel(p)}.used_pct`, d.usedPct); push(`disk.${mountLabel(p)}.free_mb`, d.freeMb) }
    }
    const nd = readText(`${proc}/net/dev`)
    if (nd !== undefined) {
      const byIf = parseNetDev(nd)
      if (prevNet !== undefined && atMs > prevNet.atMs) {
        const dtS = (atMs - prevNet.atMs) / 1000
        for (const [name, v] of byIf) {
          if (METRICS_DEFAULTS.netExclude.test(name)) continue
          const p = prevNet.byIf.get(name)
          if (p === undefined || v.rx < p.rx || v.tx < p.tx) continue
          push(`net.${name}.rx_kbps`, (v.rx - p.rx) * 8 / 1000 / dtS)
          push(`net.${name}.tx_kbps`, (v.tx - p.tx) * 8 / 1000 / dtS)
        }
      }
      prevNet = { atMs, byIf }
    }
    for (const z of readThermal(sys)) push(`thermal.${z.name}.temp_c`, z.tempC)
    const fr = readFreqRatio(sys)
    if (fr !== undefined) push('cpu.freq_ratio', fr)
    const cs = readText(`${sys}/fs/cgroup/cpu.stat`)
    const thr = cs !== undefined ? parseCpuStat(cs) : undefined
    if (thr !== undefined) {
      if (prevThrottle !== undefined && atMs > prevThrottle.atMs) push('cgroup.throttled_pct', 100 * (thr.throttledUsec - prevThrottle.usec) / 1000 / (atMs - prevThrottle.atMs))
      prevThrottle = { atMs, usec: thr.throttledUsec }
    }
  }

  const collectProcesses = (atMs: number, out: Sample[]): void => {
    const sup = options.supervisor!
    for (const info of sup.list()) {
      const name = info.name
      if (info.pid !== undefined && info.state === 'running') {
        const st = parseProcPidStat(readText(`${proc}/${info.pid}/stat`) ?? '')
        if (st !== undefined) {
          out.push({ metric: 'proc.rss_mb', component: name, value: st.rssPages * pageBytes / 1048576, atMs })
          const ticks = st.utimeTicks + st.stimeTicks
          const prev = prevProc.get(name)
          if (prev !== undefined && prev.pid === info.pid && atMs > prev.atMs) {
            out.push({ metric: 'proc.cpu_pct', component: name, value: Math.max(0, 100 * (ticks - prev.ticks) / CLOCK_TICKS_PER_S / ((atMs - prev.atMs) / 1000)), atMs })
          }
          prevProc.set(name, { pid: info.pid, atMs, ticks })
        }
      } else {
        prevProc.delete(name)
      }
      const disk = info.spec.limits.disk
      if (disk !== undefined) {
        const c = dirCache.get(name)
        if (c === undefined || atMs - c.atMs >= dirScanMs) {
          const r = dirSizeBytes(disk.path, dirMax)
          const mb = r.bytes / 1048576
          dirCache.set(name, { atMs, mb })
          out.push({ metric: 'dir.used_mb', component: name, value: mb, atMs })
        }
      }
    }
  }

  const collect = (): Sample[] => {
    const t0 = performance.now()
    const atMs = now()
    const out: Sample[] = []
    try {
      if (wantSystem) collectSystem(atMs, out)
      if (wantProcs) collectProcesses(atMs, out)
    } catch (err) {
      logger.error({ err }, 'metrics collection failed')
    }
    stats.collections++
    stats.samples += out.length
    stats.lastCollectUs = Math.round((performance.now() - t0) * 1000)
    emitAll(out)
    return out
  }

  const loop = (): void => {
    if (!running) return
    collect()
    timer = sched.setTimeout(loop, intervalMs)
  }

  return {
    start () {
      if (running) return
      running = true
      loop()
    },
    stop () {
      running = false
      if (timer !== undefined) sched.clearTimeout(timer)
      timer = undefined
    },
    collect,
    ingest (input) {
      const list = Array.isArray(input) ? input as readonly Sample[] : [input as Sample]
      const ok: Sample[] = []
      for (const s of list) {
        const valid = s !== null && typeof s === 'object' &&
          typeof s.metric === 'string' && s.metric.length <= METRICS_DEFAULTS.maxNameLength && NAME_RE.test(s.metric) &&
          typeof s.component === 'string' && s.component.length <= METRICS_DEFAULTS.maxNameLength && NAME_RE.test(s.component) &&
          typeof s.value === 'number' && Number.isFinite(s.value) &&
          typeof s.atMs === 'number' && Number.isFinite(s.atMs)
        if (valid && latest.size >= METRICS_DEFAULTS.maxSeries && !latest.has(`${s.component}/${s.metric}`)) { stats.rejected++; continue }
        if (valid) ok.push({ metric: s.metric, component: s.component, value: s.value, atMs: s.atMs })
        else stats.rejected++
      }
      stats.ingested += ok.length
      emitAll(ok)
      return ok.length
    },
    latest: () => new Map(latest),
    on: (event, fn) => events.on(event, fn),
    stats: () => ({ ...stats })
  }
}
