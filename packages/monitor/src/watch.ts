// Turns samples into anomaly reports:
//  - every series through the online detector (./detect), score ≥ threshold → a metric anomaly;
//  - declared limits (component `limits`) → predictive and limit signals:
//      memory_leak: the RSS trend (Theil–Sen) reaches limits.memoryMb within leakHorizonMs;
//      oom:         RSS at/over the limit (and, by default, the process is killed as a cgroup would);
//      cpu_limit:   CPU above limits.cpu for cpuHogSamples consecutive samples;
//      disk_fill:   a component's directory (limits.disk) or a mount reaches its limit within the horizon.
// Reports have the micro loop's AnomalySource shape: `watch.source` plugs in directly.
// A detector's anomaly and a node-wide reading are `observationOnly`: alone, they
// never act on a workload (a probe, a limit or a confirmed forecast must say so).
// Every report's onset is the first sample that met its condition (the first
// failing observation), so detection latency is measured from there.
import type { Sample, TargetKind } from '@homeostat/interface'
import type { Supervisor } from './supervisor.ts'
import type { MetricsCollector } from './metrics/collector.ts'
import type { AnomalyReport } from './incidents.ts'
import { Emitter, silentLogger, type Logger, type Unsubscribe } from './events.ts'
import { TrendWindow, predictMultiScale, type Prediction } from './trend.ts'
import { createDetector, DETECTOR_DEFAULTS, type Detector, type DetectorOptions } from './detect/index.ts'
import { ALARM_DEFAULTS, SeriesAlarm, type AlarmOptions } from './detect/alarm.ts'

export const WATCH_DEFAULTS = {
  /** Detector score from which a value counts towards a metric anomaly (the alarm's; see detect/alarm.ts). */
  metricScoreThreshold: ALARM_DEFAULTS.threshold,
  /** Detector scores are ignored for a series' first samples (a young series reaches new extremes all the time). */
  detectorWarmupSamples: ALARM_DEFAULTS.warmupSamples,
  /**
   * A detector anomaly is confirmed once the score reached the threshold in this many of the series'
   * last `detectorConfirmWindow` samples (a lone spike is host noise; a fault persists). The watch's
   * detectors run without the detector's own suppression: the alarm keeps one report per event.
   */
  detectorConfirmSamples: ALARM_DEFAULTS.confirmSamples,
  /** Samples the confirmation looks back over (≤ 30). */
  detectorConfirmWindow: ALARM_DEFAULTS.confirmWindow,
  /** Unconfirmed samples in a row that end a metric anomaly, so that the series may report again. */
  detectorRearmSamples: ALARM_DEFAULTS.rearmSamples,
  /** Series with a detector; beyond this new series are not scored (memory bound: ~10 KB per detector). */
  maxDetectors: 512,
  /** Points in a trend window (Theil–Sen is O(n²): 60 points = 1770 pairs). */
  trendMaxPoints: 60,
  /** Trend window span: two minutes of history at 1 Hz. */
  trendWindowMs: 120_000,
  /** Fewest points before a prediction is trusted. */
  trendMinPoints: 5,
  /** …and the shortest span they must cover (an allocation burst at start-up is not a leak). */
  trendMinSpanMs: 4_000,
  /** Fraction of point pairs that must agree on growth (steady, not noisy). */
  trendMinAgreement: 0.75,
  /** Predict a leak this far ahead: a restart takes about a second, so 30 s leaves room for a graceful one. */
  leakHorizonMs: 30_000,
  /** Growth slower than this (MB/s) is not acted on as a leak. */
  leakMinMbPerS: 0.05,
  /** Kill a process at its memory limit (reason "oom"), as a cgroup memory.max would. */
  enforceMemoryLimit: true,
  /** CPU above limits.cpu for this many consecutive samples is a hog. */
  cpuHogSamples: 3,
  /** Disk: predict this far ahead (a directory or mount filling within 10 min needs action now). */
  diskHorizonMs: 600_000,
  /** A directory above this fraction of its limit is disk_fill even without a trend. */
  diskHighWater: 0.9,
  /** Mount usage treated as full, percent. */
  mountFullPct: 98,
  /** While a condition persists it is re-reported at most this often (the incident manager dedups anyway). */
  rereportMs: 30_000
} as const

/** Option types of the defaults, widened (the defaults are `as const`: 0.7, not any number). */
type Widen<T> = { -readonly [K in keyof T]?: T[K] extends number ? number : T[K] extends boolean ? boolean : T[K] }

export type WatchOptions = Widen<typeof WATCH_DEFAULTS> & {
  metrics: MetricsCollector
  supervisor?: Supervisor
  now?: () => number
  logger?: Logger
  /** Component name of node-wide metrics (as in the collector). */
  nodeComponent?: string
  /** Which series get the online detector (default: all). */
  detectSeries?: (s: Sample) => boolean
  detectorOptions?: Partial<DetectorOptions>
}

export interface WatchEvents extends Record<string, unknown> {
  report: AnomalyReport
}

export interface WatchStats {
  samples: number
  reports: number
  detectors: number
  detectorBytes: number
  oomKills: number
}

export interface AnomalyWatch {
  start: () => void
  stop: () => void
  /** Feed one sample directly (what start() subscribes to the collector). */
  observe: (s: Sample) => void
  /** The micro loop's AnomalySource: `sources: [watch.source]`. */
  source: (report: (r: AnomalyReport) => void) => Unsubscribe
  on: <K extends keyof WatchEvents>(event: K, fn: (v: WatchEvents[K]) => void) => Unsubscribe
  /** Latest predictions per `component/metric` (for the API / dashboard). */
  predictions: () => Map<string, Prediction & { limit: number }>
  stats: () => WatchStats
}

/**
 * The detector and alarm configuration a watch with these options runs on every series (pure):
 * what `bench/nab` scores as the daemon's configuration.
 */
export function watchDetection (options: Partial<Pick<WatchOptions, 'metricScoreThreshold' | 'detectorWarmupSamples' | 'detectorConfirmSamples' | 'detectorConfirmWindow' | 'detectorRearmSamples' | 'detectorOptions'>> = {}): { detector: DetectorOptions, alarm: AlarmOptions } {
  const pick = <T>(v: T | undefined, d: T): T => v === undefined ? d : v
  return {
    detector: { ...DETECTOR_DEFAULTS, suppressSamples: 0, ...options.detectorOptions },
    alarm: {
      threshold: pick(options.metricScoreThreshold, WATCH_DEFAULTS.metricScoreThreshold),
      confirmSamples: pick(options.detectorConfirmSamples, WATCH_DEFAULTS.detectorConfirmSamples),
      confirmWindow: pick(options.detectorConfirmWindow, WATCH_DEFAULTS.detectorConfirmWindow),
      warmupSamples: pick(options.detectorWarmupSamples, WATCH_DEFAULTS.detectorWarmupSamples),
      rearmSamples: pick(options.detectorRearmSamples, WATCH_DEFAULTS.detectorRearmSamples)
    }
  }
}

/** Failure class of a metric anomaly (pure; tested from a table). */
export function classifyMetric (metric: string): string {
  if (metric === 'proc.cpu_pct') return 'cpu_hog'
  if (metric === 'proc.rss_mb') return 'memory_anomaly'
  if (metric.startsWith('cgroup.throttled')) return 'cpu_throttling'
  if (metric.startsWith('cpu.freq')) return 'throttling'
  if (metric.startsWith('cpu.')) return 'cpu_saturation'
  if (metric.startsWith('mem.') || metric.startsWith('swap.')) return 'memory_pressure'
  if (metric.startsWith('disk.') || metric.startsWith('dir.')) return 'disk_fill'
  if (metric.startsWith('net.')) return 'network'
  if (metric.startsWith('thermal.')) return 'thermal'
  if (metric.startsWith('load.')) return 'overload'
  if (metric.startsWith('probe.')) return 'probe_latency'
  return 'metric_anomaly'
}

interface Track {
  pid?: number
  mem: TrendWindow
  disk: TrendWindow
  cpuOver: number
  /** First sample of the current run of over-limit CPU samples. */
  cpuSinceMs?: number
  /** First sample at which the leak forecast fell within the horizon (this episode). */
  leakSinceMs?: number
  /** First sample at which the directory met the disk_fill condition (this episode). */
  diskSinceMs?: number
}

export function createAnomalyWatch (options: WatchOptions): AnomalyWatch {
  const o = { ...WATCH_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof WATCH_DEFAULTS & WatchOptions
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const nodeName = options.nodeComponent ?? 'node'
  const sup = options.supervisor
  const events = new Emitter<WatchEvents>(logger)
  const detection = watchDetection(options)
  const detectors = new Map<string, { detector: Detector, alarm: SeriesAlarm, times: number[] }>()
  const tracks = new Map<string, Track>()
  const mounts = new Map<string, TrendWindow>()
  const lastReport = new Map<string, number>()
  const predictions = new Map<string, Prediction & { limit: number }>()
  const stats: WatchStats = { samples: 0, reports: 0, detectors: 0, detectorBytes: 0, oomKills: 0 }
  let unsub: Unsubscribe | undefined

  // Spacing at a quarter of the nominal interval: a 1 Hz sample arriving a millisecond early must not be skipped.
  const newWindow = (): TrendWindow => new TrendWindow(o.trendMaxPoints, o.trendWindowMs, o.trendWindowMs / o.trendMaxPoints / 4)

  const emit = (r: AnomalyReport, force = false): void => {
    const k = `${r.component}\u0000${r.failureClass}`
    const t = now()
    const last = lastReport.get(k)
    if (!force && last !== undefined && t - last < o.rereportMs) return
    lastReport.set(k, t)
    stats.reports++
    events.emit('report', r)
  }
  const clear = (component: string, failureClass: string): void => { lastReport.delete(`${component}\u0000${failureClass}`) }

  const trackOf = (name: string): Track => {
    let t = tracks.get(name)
    if (t === undefined) { t = { mem: newWindow(), disk: newWindow(), cpuOver: 0 }; tracks.set(name, t) }
    const pid = sup?.info(name).pid
    if (pid !== undefined && pid !== t.pid) {
      // A new process: its memory and CPU history start over (the directory's does not).
      t.pid = pid
      t.mem.clear()
      t.cpuOver = 0
      t.cpuSinceMs = undefined
      t.leakSinceMs = undefined
      clear(name, 'memory_leak')
      clear(name, 'oom')
      clear(name, 'cpu_limit')
    }
    return t
  }

  const predictive = (pts: TrendWindow, limit: number, minSlopePerS: number): Prediction | undefined => {
    if (pts.points().length < o.trendMinPoints || pts.spanMs() < o.trendMinSpanMs) return undefined
    return predictMultiScale(pts.points(), limit, { minPoints: o.trendMinPoints, minSpanMs: o.trendMinSpanMs, minAgreement: o.trendMinAgreement, minSlopePerS })
  }

  const limitsOf = (name: string): ReturnType<Supervisor['info']>['spec']['limits'] | undefined => {
    if (sup === undefined) return undefined
    try { return sup.info(name).spec.limits } catch { return undefined }
  }

  const onResource = (s: Sample): void => {
    const limits = limitsOf(s.component)
    if (limits === undefined) return
    if (s.metric === 'proc.rss_mb' && limits.memoryMb !== undefined) {
      const t = trackOf(s.component)
      t.mem.push(s.atMs, s.value)
      const limit = limits.memoryMb
      if (s.value >= limit) {
        emit({ component: s.component, failureClass: 'oom', metric: s.metric, kind: 'metric', score: 1, value: s.value, detail: `RSS ${s.value.toFixed(1)} MB at/over the ${limit} MB limit` }, true)
        if (o.enforceMemoryLimit && sup !== undefined && sup.signal(s.component, 'SIGKILL', 'oom')) {
          stats.oomKills++
          logger.warn({ component: s.component, rssMb: s.value, limitMb: limit }, 'memory limit reached: killed')
        }
        return
      }
      const p = predictive(t.mem, limit, o.leakMinMbPerS)
      if (p !== undefined) predictions.set(`${s.component}/${s.metric}`, { ...p, limit })
      else predictions.delete(`${s.component}/${s.metric}`)
      if (p !== undefined && p.timeToLimitMs <= o.leakHorizonMs) {
        t.leakSinceMs ??= s.atMs
        emit({
          component: s.component,
          failureClass: 'memory_leak',
          metric: s.metric,
          kind: 'predictive',
          score: Math.min(1, Math.max(0.5, 1 - p.timeToLimitMs / o.leakHorizonMs)),
          value: s.value,
          onsetMs: t.leakSinceMs,
          detail: `RSS ${s.value.toFixed(1)} MB growing ${p.slopePerS.toFixed(2)} MB/s: reaches the ${limit} MB limit in ~${Math.round(p.timeToLimitMs / 1000)} s`,
          data: { timeToLimitMs: Math.round(p.timeToLimitMs), predictedAtMs: Math.round(p.atMs), slopeMbPerS: p.slopePerS, limitMb: limit, agreement: p.agreement, trendSinceMs: t.mem.points()[0]?.tMs }
        })
      } else {
        t.leakSinceMs = undefined
      }
    } else if (s.metric === 'proc.cpu_pct' && limits.cpu !== undefined) {
      const t = trackOf(s.component)
      const limitPct = limits.cpu * 100
      t.cpuOver = s.value > limitPct ? t.cpuOver + 1 : 0
      if (t.cpuOver === 1) t.cpuSinceMs = s.atMs
      if (t.cpuOver === 0) { t.cpuSinceMs = undefined; clear(s.component, 'cpu_limit') }
      if (t.cpuOver >= o.cpuHogSamples) {
        emit({ component: s.component, failureClass: 'cpu_limit', metric: s.metric, kind: 'metric', score: Math.min(1, s.value / limitPct / 2 + 0.5), value: s.value, onsetMs: t.cpuSinceMs, detail: `CPU ${s.value.toFixed(0)} % over the ${limitPct.toFixed(0)} % limit for ${t.cpuOver} samples`, data: { limitPct, samples: t.cpuOver } })
      }
    } else if (s.metric === 'dir.used_mb' && limits.disk !== undefined) {
      const t = trackOf(s.component)
      t.disk.push(s.atMs, s.value)
      const limit = limits.disk.limitMb
      const p = predictive(t.disk, limit, 0)
      if (p !== undefined) predictions.set(`${s.component}/${s.metric}`, { ...p, limit })
      if (s.value >= limit * o.diskHighWater || (p !== undefined && p.timeToLimitMs <= o.diskHorizonMs)) {
        t.diskSinceMs ??= s.atMs
        emit({
          component: s.component,
          failureClass: 'disk_fill',
          metric: s.metric,
          kind: p !== undefined && s.value < limit * o.diskHighWater ? 'predictive' : 'metric',
          score: s.value >= limit ? 1 : Math.max(0.5, s.value / limit),
          value: s.value,
          onsetMs: t.diskSinceMs,
          detail: p !== undefined
            ? `${limits.disk.path} at ${s.value.toFixed(1)} MB growing ${p.slopePerS.toFixed(2)} MB/s: reaches ${limit} MB in ~${Math.round(p.timeToLimitMs / 1000)} s`
            : `${limits.disk.path} at ${s.value.toFixed(1)} MB of ${limit} MB`,
          data: { limitMb: limit, path: limits.disk.path, ...(p !== undefined ? { timeToLimitMs: Math.round(p.timeToLimitMs), slopeMbPerS: p.slopePerS } : {}) }
        })
      } else {
        t.diskSinceMs = undefined
        clear(s.component, 'disk_fill')
      }
    }
  }

  const onMount = (s: Sample): void => {
    let w = mounts.get(s.metric)
    if (w === undefined) { w = new TrendWindow(o.trendMaxPoints, Math.max(o.trendWindowMs, 600_000), Math.max(o.trendWindowMs, 600_000) / o.trendMaxPoints / 2); mounts.set(s.metric, w) }
    w.push(s.atMs, s.value)
    const p = predictive(w, o.mountFullPct, 0)
    if (p !== undefined) predictions.set(`${s.component}/${s.metric}`, { ...p, limit: o.mountFullPct })
    if (s.value >= o.mountFullPct || (p !== undefined && p.timeToLimitMs <= o.diskHorizonMs)) {
      emit({
        component: s.component,
        failureClass: 'disk_fill',
        metric: s.metric,
        kind: p !== undefined ? 'predictive' : 'metric',
        score: Math.max(0.5, s.value / 100),
        value: s.value,
        targetKind: 'node',
        observationOnly: true,
        observationWhy: 'a node-wide disk: no component declares it as its own (limits.disk), so nothing is acted on; an operator must look',
        detail: `${s.metric} ${s.value.toFixed(1)} %${p !== undefined ? `, full in ~${Math.round(p.timeToLimitMs / 1000)} s` : ''}`,
        ...(p !== undefined ? { data: { timeToLimitMs: Math.round(p.timeToLimitMs) } } : {})
      })
    }
  }

  /**
   * Default series selection: everything except what the limit watchers own
   * (a directory or mount filling, a process's RSS/CPU against its declared
   * limit): those grow by design and are judged against the limit instead.
   */
  const defaultSelect = (s: Sample): boolean => {
    if (s.metric === 'dir.used_mb' || /^disk\..+\.(used_pct|free_mb)$/.test(s.metric)) return false
    if (s.metric === 'proc.rss_mb' || s.metric === 'proc.cpu_pct') {
      const l = limitsOf(s.component)
      if (l !== undefined && (s.metric === 'proc.rss_mb' ? l.memoryMb : l.cpu) !== undefined) return false
    }
    return true
  }

  const onDetector = (s: Sample): void => {
    if (!(options.detectSeries ?? defaultSelect)(s)) return
    const k = `${s.component}/${s.metric}`
    let d = detectors.get(k)
    if (d === undefined) {
      if (detectors.size >= o.maxDetectors) return
      d = { detector: createDetector(detection.detector), alarm: new SeriesAlarm(detection.alarm), times: [] }
      detectors.set(k, d)
      stats.detectors = detectors.size
    }
    const score = d.detector.update(s.value, s.atMs)
    const step = d.alarm.push(score)
    // The times of the last `confirmWindow` samples: the onset of a confirmed anomaly is among them.
    d.times.push(s.atMs)
    if (d.times.length > detection.alarm.confirmWindow) d.times.shift()
    if (step.alert) {
      const targetKind: TargetKind = s.component === nodeName ? 'node' : 'process'
      emit({
        component: s.component,
        failureClass: classifyMetric(s.metric),
        metric: s.metric,
        kind: 'metric',
        score,
        value: s.value,
        targetKind,
        // The first sample of the confirmation window that reached the threshold: the first failing observation.
        onsetMs: d.times[Math.max(0, d.times.length - 1 - step.onsetAgo)] ?? s.atMs,
        observationOnly: true,
        observationWhy: targetKind === 'node' ? 'a node-wide metric anomaly: it names no workload to act on' : 'a metric anomaly alone: no probe failing, no limit crossed, no confirmed forecast',
        detail: `${s.metric} = ${Number(s.value.toFixed(3))} (anomaly score ${score.toFixed(2)})`,
        data: { detector: true, threshold: detection.alarm.threshold, confirmSamples: detection.alarm.confirmSamples, ofLast: detection.alarm.confirmWindow }
      })
    }
  }

  const observe = (s: Sample): void => {
    stats.samples++
    try {
      if (s.component !== nodeName) onResource(s)
      else if (/^disk\..+\.used_pct$/.test(s.metric)) onMount(s)
      onDetector(s)
    } catch (err) {
      logger.error({ err, metric: s.metric, component: s.component }, 'watch failed on a sample')
    }
  }

  return {
    start () { unsub ??= options.metrics.on('sample', observe) },
    stop () { unsub?.(); unsub = undefined },
    observe,
    source: (report) => events.on('report', report),
    on: (event, fn) => events.on(event, fn),
    predictions: () => new Map(predictions),
    stats: () => {
      let bytes = 0
      for (const d of detectors.values()) bytes += d.detector.stateBytes()
      return { ...stats, detectorBytes: bytes }
    }
  }
}
