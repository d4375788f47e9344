// File heartbeat probe: the workload touches a file; its mtime must be recent.
// Ages are measured against the real wall clock (file mtimes are real time).
import { stat } from 'node:fs/promises'
import { elapsedMs, type ProbeResult } from './types.ts'

export async function heartbeatProbe (o: { path: string, maxAgeMs: number }, wallNow: () => number = Date.now): Promise<ProbeResult> {
  const t0 = performance.now()
  try {
    const s = await stat(o.path)
    const ageMs = Math.max(0, Math.round(wallNow() - s.mtimeMs))
    if (ageMs > o.maxAgeMs) return { status: 'fail', latencyMs: elapsedMs(t0), detail: `heartbeat ${o.path} is ${ageMs} ms old (max ${o.maxAgeMs} ms)` }
    return { status: 'ok', latencyMs: elapsedMs(t0), detail: `heartbeat ${ageMs} ms old` }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // A missing file is the workload's failure (it never wrote one); EACCES etc. is the probe's.
    if (code === 'ENOENT') return { status: 'fail', latencyMs: elapsedMs(t0), detail: `heartbeat file ${o.path} does not exist` }
    return { status: 'error', latencyMs: elapsedMs(t0), detail: `cannot stat ${o.path}: ${code ?? (err as Error).message}` }
  }
}
