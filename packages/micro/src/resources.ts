// The micro loop's resource and metric signals, from the monitor: a thin
// adapter over `createAnomalyWatch` (@homeostat/monitor) — the online
// detector on every series (system and per component), memory-leak and
// disk-fill predictions against declared limits, CPU over its limit, and OOM
// at the memory limit — and `createResourceVerifiers` (the "symptom gone?"
// checks after an action). One mechanism: every report goes through
// `source` into the loop, which opens, attaches or ignores it.
import {
  createAnomalyWatch, createMetricsCollector, createResourceMeasures, createResourceVerifiers, dirSizeBytes, VERIFY_DEFAULTS,
  type AnomalyWatch, type MetricsCollector, type MetricsOptions, type Supervisor, type WatchOptions, type WatchStats, type VerifyOptions
} from '@homeostat/monitor'
import type { AnomalySource, ClassVerifier, Measure } from './loop.ts'

export const RESOURCE_DEFAULTS = {
  /** Sampling period of the collector this adapter creates when none is given (the agent passes its own, at `system.sampleMs`). */
  intervalMs: 1000
} as const

export interface ResourceOptions {
  supervisor: Supervisor
  /** The collector feeding the watch; default: one of our own (started and stopped with the source). */
  metrics?: MetricsCollector
  /** Period of our own collector (ignored with `metrics`). */
  intervalMs?: number
  /** Further options of our own collector (e.g. `dirScanIntervalMs`; ignored with `metrics`). */
  collector?: Omit<MetricsOptions, 'supervisor' | 'intervalMs' | 'now' | 'logger'>
  now?: () => number
  logger?: WatchOptions['logger']
  /** Kill a process whose RSS reaches its memory limit (as a cgroup OOM would), with exit reason "oom". Default true (the watch's). */
  enforceMemoryLimit?: boolean
  /** Further watch options (thresholds, warm-up, horizons). */
  watch?: Omit<Partial<WatchOptions>, 'metrics' | 'supervisor'>
  verify?: Omit<Partial<VerifyOptions>, 'supervisor'>
}

export interface ResourceWatch {
  /** Plug into the micro loop: `sources: [rw.source]`. Subscribing starts the watch (and our own collector). */
  source: AnomalySource
  /** "Symptom gone?" checks per failure class: `verifiers: rw.verifiers`. */
  verifiers: Record<string, ClassVerifier>
  /** Each resource failure's own measure (disk usage, CPU share, RSS): `measure: rw.measure`. */
  measure: (component: string, failureClass: string) => Promise<Measure | undefined>
  /** MB under a directory now (bounded walk; undefined when truncated): `diskUsageMb: rw.diskUsageMb`. */
  diskUsageMb: (path: string) => number | undefined
  /** The monitor's watch (predictions for the API, direct `observe`). */
  watch: AnomalyWatch
  metrics: MetricsCollector
  stats: () => WatchStats & { maxRssFractionOfLimit: Record<string, number> }
}

export function createResourceWatch (options: ResourceOptions): ResourceWatch {
  const sup = options.supervisor
  const own = options.metrics === undefined
  const metrics = options.metrics ?? createMetricsCollector({ ...options.collector, supervisor: sup, intervalMs: options.intervalMs ?? RESOURCE_DEFAULTS.intervalMs, now: options.now, logger: options.logger })
  const watch = createAnomalyWatch({ ...options.watch, metrics, supervisor: sup, now: options.now, logger: options.logger, enforceMemoryLimit: options.enforceMemoryLimit })
  const verifiers = createResourceVerifiers({ ...options.verify, supervisor: sup }) as Record<string, ClassVerifier>
  const measure = createResourceMeasures({ ...options.verify, supervisor: sup })
  // Peak RSS as a fraction of the declared limit, per component (evidence that a leak was caught before the limit).
  const maxFraction: Record<string, number> = {}
  let subscribers = 0
  let offPeak: (() => void) | undefined

  const source: AnomalySource = (report) => {
    const off = watch.source(report)
    if (subscribers++ === 0) {
      offPeak = metrics.on('sample', (s) => {
        if (s.metric !== 'proc.rss_mb') return
        let limit: number | undefined
        try { limit = sup.info(s.component).spec.limits?.memoryMb } catch { return }
        if (limit !== undefined && limit > 0) maxFraction[s.component] = Math.max(maxFraction[s.component] ?? 0, s.value / limit)
      })
      watch.start()
      if (own) metrics.start()
    }
    let done = false
    return () => {
      if (done) return
      done = true
      off()
      if (--subscribers === 0) {
        offPeak?.(); offPeak = undefined
        watch.stop()
        if (own) metrics.stop()
      }
    }
  }

  const diskUsageMb = (path: string): number | undefined => {
    const r = dirSizeBytes(path, VERIFY_DEFAULTS.diskMaxEntries)
    return r.truncated ? undefined : r.bytes / 1048576
  }
  return {
    source,
    verifiers,
    measure,
    diskUsageMb,
    watch,
    metrics,
    stats: () => ({ ...watch.stats(), maxRssFractionOfLimit: { ...maxFraction } })
  }
}
