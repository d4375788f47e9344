// Separation: which anomalies an ongoing recovery explains (a restart's own
// blip), and which anomalous components form independent groups (no causal
// path between them, so they need separate repairs).
import { compare as compareHlc, compareClock, decode as decodeHlc, type HlcTimestamp } from '@homeostat/hlc'
import type { Anomaly, TuningOverrides } from '@homeostat/interface'
import { indexGraph, reachable, type DependencyGraph } from './graph.ts'

/** A recovery action in progress (or just finished) somewhere in the fleet. */
export interface RecoveryInProgress {
  component: string
  /** Node the recovery runs on; anomalies of this component on other nodes are not its blip. */
  node?: string
  action: string
  /** Encoded HLC when the action started. */
  startedHlc: string
  /** Encoded HLC when it finished (verified or failed); absent while running. */
  endedHlc?: string
}

export const SEPARATE_DEFAULTS = {
  /** How long (HLC wall ms) after a restart starts its blip may still show when it has not reported an end: a process restart plus warm-up. */
  expectedDurationMs: 60_000,
  /** After a recovery ends, dependents may still see errors until connections re-establish / caches warm. */
  settleMs: 15_000,
  /** Dependency hops over which a recovery's blip is expected (callers of callers see it too, fading). */
  maxHops: 2
} as const

export type SeparateOptions = TuningOverrides<typeof SEPARATE_DEFAULTS>

export interface RecoveryAttribution {
  anomalyId: string
  component: string
  recovery: RecoveryInProgress
  hops: number
}

function safeDecode (s: string): HlcTimestamp | null {
  try { return decodeHlc(s) } catch { return null }
}

/**
 * Anomalies explained by a recovery: on the recovering component (same node
 * when both say), or on a component depending on it within `maxHops`, whose
 * HLC is at or after the recovery's start and no later than its end +
 * settleMs (or start + expectedDurationMs while it runs).
 */
export function attributeToRecovery (anomalies: readonly Anomaly[], recoveries: readonly RecoveryInProgress[], graph: DependencyGraph, options: SeparateOptions = {}): { attributed: RecoveryAttribution[], remaining: Anomaly[] } {
  const o = { ...SEPARATE_DEFAULTS, ...options }
  const { dependents } = indexGraph(graph)
  // component → hops from each recovering component (BFS over dependents).
  const hopsFrom = new Map<string, Map<string, number>>()
  for (const r of recoveries) {
    if (hopsFrom.has(r.component)) continue
    const m = new Map<string, number>([[r.component, 0]])
    let frontier = [r.component]
    for (let h = 1; h <= o.maxHops; h++) {
      const next: string[] = []
      for (const n of frontier) for (const d of dependents.get(n) ?? []) if (!m.has(d)) { m.set(d, h); next.push(d) }
      frontier = next
    }
    hopsFrom.set(r.component, m)
  }
  const attributed: RecoveryAttribution[] = []
  const remaining: Anomaly[] = []
  for (const a of anomalies) {
    const t = safeDecode(a.hlc)
    let hit: RecoveryAttribution | null = null
    if (t != null) {
      for (const r of recoveries) {
        const hops = hopsFrom.get(r.component)?.get(a.component)
        if (hops == null) continue
        if (hops === 0 && r.node != null && r.node !== a.node) continue
        const start = safeDecode(r.startedHlc)
        if (start == null || compareClock(t, start) < 0) continue
        const end = r.endedHlc != null ? safeDecode(r.endedHlc) : null
        const limitWall = end != null ? end.wallMs + o.settleMs : start.wallMs + o.expectedDurationMs
        if (t.wallMs > limitWall) continue
        if (hit == null || hops < hit.hops) hit = { anomalyId: a.id, component: a.component, recovery: r, hops }
      }
    }
    if (hit != null) attributed.push(hit)
    else remaining.push(a)
  }
  return { attributed, remaining }
}

export interface IndependentGroup {
  /** Components whose first anomaly no earlier anomalous dependency explains. */
  roots: string[]
  /** Roots plus the anomalous components depending on them (sorted). */
  components: string[]
}

/**
 * Groups anomalous components by cause. A component is a root when none of the
 * components it (transitively) depends on had an anomaly that happens-before
 * or is concurrent with its own first anomaly (HLC order). Each root collects
 * the anomalous components that depend on it and whose anomaly is not earlier.
 * Roots whose groups are linked by a causal path between them (one reaches the
 * other) merge; groups sharing only a common victim stay separate (the victim
 * is listed in each).
 */
export function independentGroups (anomalies: readonly Anomaly[], graph: DependencyGraph): IndependentGroup[] {
  const { dependencies } = indexGraph(graph)
  const first = new Map<string, HlcTimestamp>()
  for (const a of anomalies) {
    const t = safeDecode(a.hlc)
    if (t == null) continue
    const have = first.get(a.component)
    if (have == null || compareHlc(t, have) < 0) first.set(a.component, t)
  }
  const comps = [...first.keys()].sort()
  const below = new Map<string, Set<string>>()
  for (const c of comps) below.set(c, reachable(dependencies, c))
  const roots = comps.filter((c) => {
    for (const d of below.get(c) as Set<string>) {
      if (d === c) continue
      const td = first.get(d)
      if (td != null && compareClock(td, first.get(c) as HlcTimestamp) <= 0) return false
    }
    return true
  })
  // Union roots with a causal path between them.
  const parent = new Map<string, string>(roots.map((r) => [r, r]))
  const find = (x: string): string => { let y = x; while (parent.get(y) !== y) y = parent.get(y) as string; return y }
  for (const a of roots) for (const b of roots) if (a < b && ((below.get(a)?.has(b) ?? false) || (below.get(b)?.has(a) ?? false))) parent.set(find(a), find(b))
  const groups = new Map<string, { roots: Set<string>, components: Set<string> }>()
  for (const r of roots) {
    const k = find(r)
    const g = groups.get(k) ?? { roots: new Set<string>(), components: new Set<string>() }
    g.roots.add(r); g.components.add(r)
    groups.set(k, g)
  }
  const covered = new Set<string>(roots)
  for (const c of comps) {
    if (covered.has(c)) continue
    for (const r of roots) {
      if ((below.get(c)?.has(r) ?? false) && compareClock(first.get(r) as HlcTimestamp, first.get(c) as HlcTimestamp) <= 0) {
        groups.get(find(r))?.components.add(c)
        covered.add(c)
      }
    }
  }
  // Anything left (e.g. a cycle of concurrent anomalies) forms its own group with whatever it is connected to.
  for (const c of comps) {
    if (covered.has(c)) continue
    let placed = false
    for (const g of groups.values()) {
      if ([...g.components].some((m) => (below.get(c)?.has(m) ?? false) || (below.get(m)?.has(c) ?? false))) { g.components.add(c); placed = true; break }
    }
    if (!placed) groups.set(`~${c}`, { roots: new Set([c]), components: new Set([c]) })
    covered.add(c)
  }
  return [...groups.values()]
    .map((g) => ({ roots: [...g.roots].sort(), components: [...g.components].sort() }))
    .sort((a, b) => a.components[0].localeCompare(b.components[0]))
}
