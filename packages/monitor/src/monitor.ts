// Failure classes of what the supervisor and the probes see (pure; tested from
// a table). The micro loop classifies exits and failing probes with these.

/**
 * Failure class of an unhealthy probe. Alive but not answering is a hang: a probe
 * that timed out, a stopped (SIGSTOP) or zombie process, a stale heartbeat. A process that is gone is a crash;
 * anything else (refused, bad status, body mismatch, slow, a missing heartbeat file) is `unhealthy`.
 */
export function classifyProbeFailure (kind: string, detail = ''): string {
  if (/timeout|timed out|stopped|zombie|old \(max/i.test(detail)) return 'hang'
  if (kind === 'process') return 'crash'
  return 'unhealthy'
}

/** Failure class of an unexpected exit. */
export function classifyExit (exit: { reason?: string, code: number | null, signal: string | null }): string {
  if (exit.reason === 'oom') return 'oom'
  if (exit.reason === 'spawn_error') return 'spawn_error'
  return 'crash'
}
