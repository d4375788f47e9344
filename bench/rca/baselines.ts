// Reference points on the same issues: our re-implementation of the PetShop
// authors' simplest baseline (anomaly traversal of the call graph with a
// median-absolute-deviation score), and ablations of our own score built from
// the evidence the ranking returns (no extra library switches).
import { indexGraph, stats, type DependencyGraph, type RankedCandidate, type SeriesInput } from '@homeostat/diagnosis'

/**
 * Traversal: from the target, follow dependencies through anomalous nodes
 * (MAD z > 3 over the window's last rows vs normal history, or vs the window
 * itself when there is none); report anomalous nodes with no anomalous
 * dependency, ranked by their MAD z. Non-anomalous leftovers follow by z.
 */
export function traversalRanking (graph: DependencyGraph, series: readonly SeriesInput[], target: string): string[] {
  const { dependencies } = indexGraph(graph)
  const z = new Map<string, number>()
  for (const s of series) {
    const win = stats.finiteValues(s.values)
    if (s.baseline == null && win.length === 0) continue
    const useNormal = s.baseline != null && s.baseline.n >= 30
    const m = useNormal ? (s.baseline?.median as number) : stats.median(win)
    const mad = Math.max(useNormal ? (s.baseline?.sigma as number) : stats.robustSigma(win), 1e-9)
    const vals = stats.finiteValues(s.values)
    if (vals.length === 0) continue
    z.set(s.component, Math.max(...vals.map((v) => (v - m) / mad)))
  }
  const anomalous = (c: string): boolean => (z.get(c) ?? 0) > 3
  const roots = new Set<string>()
  const seen = new Set<string>()
  const stack = [target]
  while (stack.length > 0) {
    const c = stack.pop() as string
    if (seen.has(c)) continue
    seen.add(c)
    const bad = (dependencies.get(c) ?? []).filter(anomalous)
    if (bad.length === 0 && (anomalous(c) || c === target)) roots.add(c)
    for (const d of bad) stack.push(d)
  }
  const byZ = (a: string, b: string): number => (z.get(b) ?? 0) - (z.get(a) ?? 0)
  const rest = [...seen].filter((c) => !roots.has(c)).sort(byZ)
  return [...[...roots].sort(byZ), ...rest]
}

export type Ablation = 'z only' | 'own z only (CIRCA-like)' | 'share only' | 'full'
export const ABLATIONS: Ablation[] = ['z only', 'own z only (CIRCA-like)', 'share only', 'full']

export function ablationRanking (candidates: readonly RankedCandidate[], which: Ablation): string[] {
  const key = (c: RankedCandidate): number => {
    const e = c.evidence
    switch (which) {
      case 'z only': return e.z
      case 'own z only (CIRCA-like)': return e.ownZ
      case 'share only': return e.share * e.order
      case 'full': return c.score
    }
  }
  return [...candidates].sort((a, b) => key(b) - key(a)).map((c) => c.component)
}
