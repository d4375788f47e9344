// What one probe run says.

/**
 * ok: the check passed. fail: the workload failed the check (timeout, refused,
 * bad status, stale heartbeat). error: the probe itself could not run (command
 * missing, permission denied) — says nothing about the workload. unsupported:
 * the mechanism does not exist here (no systemd).
 */
export type ProbeStatus = 'ok' | 'fail' | 'error' | 'unsupported'

export interface ProbeResult {
  status: ProbeStatus
  /** Wall time the run took, ms. */
  latencyMs: number
  /** One readable line: why it failed, or what it saw. */
  detail: string
}

export const elapsedMs = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100
