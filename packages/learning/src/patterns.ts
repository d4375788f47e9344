// Recurring-pattern mining over the failure history's event ring. Pure
// functions of (events, options), so they are tested from tables:
// - crash loops: a component failing ≥ k times inside a sliding window;
// - triggers: "failure F on a component follows trigger T within a window"
//   more often than chance (support, confidence, lift);
// - time of day: a class's failures concentrating in some hours (χ² over 24
//   hourly bins).
import type { FailureEvent } from './history.ts'

export interface CrashLoop {
  component: string
  /** Most failures seen inside one window. */
  count: number
  firstAtMs: number
  lastAtMs: number
}

export interface TriggerRule {
  trigger: string
  failureClass: string
  /** Times the failure followed the trigger within the window. */
  support: number
  /** support / occurrences of the trigger. */
  confidence: number
  /** confidence / base probability that any window of that length holds such a failure. */
  lift: number
}

export interface TimeOfDayPattern {
  failureClass: string
  failures: number
  /** χ² statistic against a uniform spread over 24 hours (23 degrees of freedom). */
  chiSquare: number
  /** Hours (0–23, in the configured offset) holding at least twice the uniform share. */
  peakHours: number[]
}

export interface PatternReport {
  crashLoops: CrashLoop[]
  triggers: TriggerRule[]
  timeOfDay: TimeOfDayPattern[]
}

export interface PatternOptions {
  crashLoopWindowMs?: number
  crashLoopMinFailures?: number
  triggerWindowMs?: number
  minSupport?: number
  minConfidence?: number
  minLift?: number
  /** χ² threshold; 35.17 is the 95th percentile of χ²(23). */
  chiSquareThreshold?: number
  minTimeOfDayFailures?: number
  /** Offset of local time from UTC, minutes (time-of-day patterns follow the site's clock). */
  utcOffsetMinutes?: number
}

export const PATTERN_DEFAULTS = {
  /** systemd's default StartLimitIntervalSec is 10 s × 5 bursts; a workload failing 3 times in 10 minutes is looping for our purposes. */
  crashLoopWindowMs: 600_000,
  crashLoopMinFailures: 3,
  /** A deploy or config change usually bites within minutes; 15 minutes keeps slow leaks out. */
  triggerWindowMs: 900_000,
  /** Three co-occurrences before calling it a pattern: two can be coincidence. */
  minSupport: 3,
  /** Half of the triggers followed by the failure. */
  minConfidence: 0.5,
  /** Twice as likely as chance. */
  minLift: 2,
  chiSquareThreshold: 35.17,
  /** Below ~24 failures a 24-bin χ² is meaningless. */
  minTimeOfDayFailures: 24,
  utcOffsetMinutes: 0
} as const

export function findCrashLoops (events: readonly FailureEvent[], windowMs: number, minFailures: number): CrashLoop[] {
  const byComponent = new Map<string, number[]>()
  for (const e of events) {
    if (e.kind !== 'failure') continue
    const list = byComponent.get(e.component) ?? []
    list.push(e.atMs)
    byComponent.set(e.component, list)
  }
  const out: CrashLoop[] = []
  for (const [component, times] of byComponent) {
    times.sort((a, b) => a - b)
    let best = 0
    let bestFirst = 0
    let bestLast = 0
    let lo = 0
    for (let hi = 0; hi < times.length; hi++) {
      while (times[hi]! - times[lo]! >= windowMs) lo++
      const count = hi - lo + 1
      if (count > best) { best = count; bestFirst = times[lo]!; bestLast = times[hi]! }
    }
    if (best >= minFailures) out.push({ component, count: best, firstAtMs: bestFirst, lastAtMs: bestLast })
  }
  return out.sort((a, b) => b.count - a.count || a.component.localeCompare(b.component))
}

export function findTriggers (events: readonly FailureEvent[], o: Required<Pick<PatternOptions, 'triggerWindowMs' | 'minSupport' | 'minConfidence' | 'minLift'>>): TriggerRule[] {
  const sorted = [...events].sort((a, b) => a.atMs - b.atMs)
  if (sorted.length === 0) return []
  const span = Math.max(sorted[sorted.length - 1]!.atMs - sorted[0]!.atMs, o.triggerWindowMs)
  // Antecedents: explicit triggers, and failures (a failure of one class can trigger another).
  const antecedentCount = new Map<string, number>()
  const pair = new Map<string, number>()
  const classCount = new Map<string, number>()
  for (const e of sorted) if (e.kind === 'failure') classCount.set(e.label, (classCount.get(e.label) ?? 0) + 1)
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!
    const aLabel = a.kind === 'trigger' ? a.label : `failure:${a.label}`
    antecedentCount.set(aLabel, (antecedentCount.get(aLabel) ?? 0) + 1)
    const seen = new Set<string>()
    for (let j = i + 1; j < sorted.length && sorted[j]!.atMs - a.atMs <= o.triggerWindowMs; j++) {
      const b = sorted[j]!
      if (b.kind !== 'failure' || b.atMs === a.atMs) continue
      if (a.kind === 'failure' && b.label === a.label && b.component === a.component) continue // that is a loop, not a trigger
      if (seen.has(b.label)) continue // count each (antecedent occurrence, class) once
      seen.add(b.label)
      const k = `${aLabel}\u0000${b.label}`
      pair.set(k, (pair.get(k) ?? 0) + 1)
    }
  }
  const out: TriggerRule[] = []
  for (const [k, support] of pair) {
    const [trigger, failureClass] = k.split('\u0000') as [string, string]
    const confidence = support / (antecedentCount.get(trigger) ?? 1)
    // Chance that a random window of this length holds ≥ 1 failure of the class (Poisson).
    const rate = (classCount.get(failureClass) ?? 0) / span
    const base = 1 - Math.exp(-rate * o.triggerWindowMs)
    const lift = base > 0 ? confidence / base : Infinity
    if (support >= o.minSupport && confidence >= o.minConfidence && lift >= o.minLift) {
      out.push({ trigger, failureClass, support, confidence, lift })
    }
  }
  return out.sort((a, b) => b.support - a.support || b.confidence - a.confidence || a.trigger.localeCompare(b.trigger))
}

export function findTimeOfDay (events: readonly FailureEvent[], minFailures: number, chiSquareThreshold: number, utcOffsetMinutes: number): TimeOfDayPattern[] {
  const bins = new Map<string, number[]>()
  for (const e of events) {
    if (e.kind !== 'failure') continue
    const hour = Math.floor((((e.atMs + utcOffsetMinutes * 60_000) % 86_400_000) + 86_400_000) % 86_400_000 / 3600_000)
    const b = bins.get(e.label) ?? new Array<number>(24).fill(0)
    b[hour]!++
    bins.set(e.label, b)
  }
  const out: TimeOfDayPattern[] = []
  for (const [failureClass, b] of bins) {
    const n = b.reduce((s, x) => s + x, 0)
    if (n < minFailures) continue
    const expected = n / 24
    const chiSquare = b.reduce((s, x) => s + (x - expected) ** 2 / expected, 0)
    if (chiSquare < chiSquareThreshold) continue
    const peakHours = b.flatMap((x, hour) => x >= 2 * expected ? [hour] : [])
    out.push({ failureClass, failures: n, chiSquare, peakHours })
  }
  return out.sort((a, b) => b.chiSquare - a.chiSquare)
}

export function minePatterns (events: readonly FailureEvent[], options: PatternOptions = {}): PatternReport {
  const o = { ...PATTERN_DEFAULTS, ...options }
  return {
    crashLoops: findCrashLoops(events, o.crashLoopWindowMs, o.crashLoopMinFailures),
    triggers: findTriggers(events, o),
    timeOfDay: findTimeOfDay(events, o.minTimeOfDayFailures, o.chiSquareThreshold, o.utcOffsetMinutes)
  }
}
