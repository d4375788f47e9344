// Trend maths for predictive signals: least-squares slope over a window and
// the time until a limit is reached at that slope. Pure, tested from a table.

export interface Point { tMs: number, value: number }

/** Least-squares slope (value units per second) and R² of `points`; undefined for < 2 points or no time spread. */
export function linearTrend (points: readonly Point[]): { slopePerS: number, r2: number } | undefined {
  const n = points.length
  if (n < 2) return undefined
  let st = 0; let sv = 0
  for (const p of points) { st += p.tMs; sv += p.value }
  const mt = st / n
  const mv = sv / n
  let stt = 0; let stv = 0; let svv = 0
  for (const p of points) {
    const dt = p.tMs - mt
    const dv = p.value - mv
    stt += dt * dt; stv += dt * dv; svv += dv * dv
  }
  if (stt === 0) return undefined
  const slopePerMs = stv / stt
  const r2 = svv === 0 ? 0 : (stv * stv) / (stt * svv)
  return { slopePerS: slopePerMs * 1000, r2 }
}

/** Ms until `current` reaches `limit` growing at `slopePerS`; Infinity if not growing; 0 if already there. */
export function timeToLimitMs (current: number, limit: number, slopePerS: number): number {
  if (current >= limit) return 0
  if (!(slopePerS > 0)) return Number.POSITIVE_INFINITY
  return ((limit - current) / slopePerS) * 1000
}
