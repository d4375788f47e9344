// Recent per-component series for diagnosis: what the agent's monitor saw
// (probe latency and failures, resource use), kept as fixed-step rows so that
// an incident's window lines up across components and the rows before it are
// the normal history the ranker measures deviations against. Bounded: a ring
// of `points` rows per series, at most `maxSeries` series. No I/O, no clock:
// times come with the values and with the incident.
import type { Incident } from '@homeostat/interface'
import type { DiagnoseInput } from './diagnose.ts'
import { RANK_DEFAULTS, incidentRowsFor, summarizeNormal } from './rank.ts'

export const HISTORY_DEFAULTS = {
  /** One row per second: the probe period and sampling interval of the agent's defaults. */
  stepMs: 1000,
  /** Rows kept per series (10 min at 1 s): the incident window and, before it, normal history (the ranker wants ≥ 30 rows). */
  points: 600,
  /** Series kept at most (memory bound: 600 × 8 B × 512 ≈ 2.5 MB); later series are dropped and counted. */
  maxSeries: 512,
  /** The incident window starts this many rows before its onset: a cause's deviation precedes the symptom's. */
  lookbackSteps: 10,
  /** Smallest noise scale per metric, in its units (units only, not tuned): 1 ms of latency, half a percentage point. */
  minScale: { 'probe.latency_ms': 1, 'probe.failed_pct': 0.5 } as Readonly<Record<string, number>>,
  /** A metric recorded under this name, per component, is its load (requests per row): deviations become extensive. */
  loadMetric: 'requests',
  /**
   * How much later a component's own probe may see a failure its callers already feel (their calls
   * fail at once; its probe runs on its own schedule): one probe period at the default (1 s). Other
   * components' rows also count the rows this lag may push their failure into.
   */
  observationLagMs: 1000
}

export type HistoryOptions = Partial<typeof HISTORY_DEFAULTS>

export interface HistoryStats {
  series: number
  /** Values recorded. */
  recorded: number
  /** Values refused: not finite, older than the ring, or a new series over `maxSeries`. */
  dropped: number
}

export interface SeriesHistory {
  /**
   * One value of a component's metric at `atMs`. Values must be "bad up" (latency, failure
   * percentage, not availability). Several values in one row keep the worst (largest).
   */
  record: (component: string, metric: string, atMs: number, value: number) => void
  /**
   * Metric windows for an incident, as the diagnoser's `metrics` input: the incident's own metric
   * (or, when the history lacks it, the component's metric that deviates most in the window), the
   * same metric on every component, the window from `lookbackSteps` rows before the onset to
   * `nowMs` (the rows from the onset on are the incident's), and each series' earlier rows as its
   * normal history. Undefined when the history holds
   * nothing usable for the incident's component (the diagnosis then ranks from anomalies alone).
   */
  metricsFor: (incident: Incident, nowMs: number) => DiagnoseInput['metrics'] | undefined
  metrics: (component: string) => string[]
  stats: () => HistoryStats
}

interface Ring { values: Float64Array, last: number }

export function createSeriesHistory (options: HistoryOptions = {}): SeriesHistory {
  const o = { ...HISTORY_DEFAULTS, ...options, minScale: { ...HISTORY_DEFAULTS.minScale, ...options.minScale } }
  if (!(o.stepMs > 0) || !Number.isInteger(o.points) || o.points < 2 || !Number.isInteger(o.maxSeries) || o.maxSeries < 1) {
    throw new RangeError('history: stepMs > 0, points ≥ 2 and maxSeries ≥ 1 (whole numbers) expected')
  }
  const rings = new Map<string, Map<string, Ring>>() // component → metric → ring
  let count = 0
  const stats: HistoryStats = { series: 0, recorded: 0, dropped: 0 }
  const rowOf = (atMs: number): number => Math.floor(atMs / o.stepMs)

  const ringOf = (component: string, metric: string, create: boolean): Ring | undefined => {
    let byMetric = rings.get(component)
    let r = byMetric?.get(metric)
    if (r != null || !create) return r
    if (count >= o.maxSeries) return undefined
    if (byMetric == null) { byMetric = new Map(); rings.set(component, byMetric) }
    r = { values: new Float64Array(o.points).fill(NaN), last: Number.NEGATIVE_INFINITY }
    byMetric.set(metric, r)
    stats.series = ++count
    return r
  }

  /** Value of row `row` (NaN when missing or outside the ring). */
  const at = (r: Ring, row: number): number => (row > r.last || row <= r.last - o.points) ? NaN : r.values[((row % o.points) + o.points) % o.points]

  function record (component: string, metric: string, atMs: number, value: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) { stats.dropped++; return }
    const r = ringOf(component, metric, true)
    if (r == null) { stats.dropped++; return }
    const row = rowOf(atMs)
    if (row > r.last) {
      // Rows skipped since the last value are missing, not zero.
      const from = r.last === Number.NEGATIVE_INFINITY ? row : Math.max(r.last + 1, row - o.points + 1)
      for (let k = from; k < row; k++) r.values[((k % o.points) + o.points) % o.points] = NaN
      r.last = row
      r.values[((row % o.points) + o.points) % o.points] = value
    } else if (row > r.last - o.points) {
      const i = ((row % o.points) + o.points) % o.points
      const v = r.values[i]
      r.values[i] = Number.isNaN(v) ? value : Math.max(v, value)
    } else { stats.dropped++; return }
    stats.recorded++
  }

  const rows = (r: Ring, from: number, to: number): Array<number | null> => {
    const out: Array<number | null> = []
    for (let k = from; k <= to; k++) { const v = at(r, k); out.push(Number.isNaN(v) ? null : v) }
    return out
  }

  function metricsFor (incident: Incident, nowMs: number): DiagnoseInput['metrics'] | undefined {
    const own = rings.get(incident.component)
    if (own == null || own.size === 0) return undefined
    const onsets = incident.anomalies.filter((a) => a.component === incident.component).map((a) => a.atMs)
    const onsetMs = onsets.length > 0 ? Math.min(...onsets) : incident.openedAtMs
    const end = rowOf(nowMs)
    const oldest = end - o.points + 1
    const start = Math.max(oldest, Math.min(end, rowOf(onsetMs) - o.lookbackSteps))
    // The metric of the anomaly that opened the incident when the history has it (not one attached
    // later: an observation on the side must not choose what is explained); else the component's
    // most deviating metric.
    const opening = incident.anomalies[0]
    let metric = opening != null && opening.component === incident.component && own.has(opening.metric) ? opening.metric : undefined
    if (metric == null) {
      // Deviation after the onset against everything before it (normal rows and the lookback):
      // a young history's first rows (a start-up) must not set the reference.
      const onsetRow = rowOf(onsetMs)
      let bestZ = 0
      for (const [m, r] of own) {
        if (m === o.loadMetric) continue
        const before = rows(r, oldest, onsetRow - 1).filter((x): x is number => x != null)
        const after = rows(r, Math.max(oldest, onsetRow), end).filter((x): x is number => x != null)
        if (before.length === 0 || after.length === 0) continue
        const s = summarizeNormal(before, 'up')
        const scale = Math.max(s.n > 1 ? s.sigma : 0, 0.05 * Math.abs(s.median), o.minScale[m] ?? 0, 1e-12)
        const z = (Math.max(...after) - s.median) / scale
        if (z > bestZ) { bestZ = z; metric = m }
      }
    }
    if (metric == null) return undefined
    const series: NonNullable<DiagnoseInput['metrics']>['series'][number][] = []
    for (const [component, byMetric] of rings) {
      const r = byMetric.get(metric)
      if (r == null) continue
      const own = rows(r, start, end)
      // Another component's row also counts what it showed in the next rows within the observation
      // lag (its probe may see the failure up to that much later); the target's rows are as recorded.
      const lagRows = Math.round(o.observationLagMs / o.stepMs)
      const values = component === incident.component || lagRows === 0 ? own : own.map((v, i) => {
        let x = v
        for (let k = 1; k <= lagRows; k++) { const n = own[i + k]; if (n != null) x = x == null ? n : Math.max(x, n) }
        return x
      })
      if (component === incident.component && values.every((v) => v == null)) return undefined
      const load = byMetric.get(o.loadMetric)
      series.push({ component, metric, values, normal: rows(r, oldest, start - 1), ...(load != null ? { load: rows(load, start, end) } : {}) })
    }
    // The incident's rows: from its onset on, those where the target is at ≥ half its peak deviation
    // from everything before the onset (the ranker's own rule, RANK_DEFAULTS.incidentFraction); rows
    // before the onset (e.g. a start-up) are never part of what is explained.
    const firstIncidentRow = Math.min(end, Math.max(start, rowOf(onsetMs))) - start
    const targetValues = series.find((x) => x.component === incident.component)!.values
    const beforeOnset = [...(series.find((x) => x.component === incident.component)!.normal ?? []), ...targetValues.slice(0, firstIncidentRow)]
    const level = summarizeNormal(beforeOnset, 'up')
    const incidentRows = incidentRowsFor(targetValues.slice(firstIncidentRow), RANK_DEFAULTS.incidentFraction, level.n > 0 ? level.median : undefined).map((i) => i + firstIncidentRow)
    return { series, target: { component: incident.component, metric }, direction: 'up', incidentRows, ...(o.minScale[metric] != null ? { minScale: o.minScale[metric] } : {}) }
  }

  return {
    record,
    metricsFor,
    metrics: (component) => [...(rings.get(component)?.keys() ?? [])],
    stats: () => ({ ...stats })
  }
}
