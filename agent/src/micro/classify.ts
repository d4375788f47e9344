// How raw signals map to failure classes. Pure, tested from a table.

/** A supervisor exit → failure class: the monitor's own (an OOM kill is `oom`, a command that could not start `spawn_error`). */
export { classifyExit } from '@homeostat/monitor'

/**
 * A probe that went unhealthy → failure class. A probe that timed out (or a
 * stale heartbeat) means the process is alive but not answering: a hang.
 * Anything else (refused, bad status, body mismatch, slow) is `unhealthy`.
 */
export function classifyProbe (kind: string, detail: string | undefined): string {
  const d = detail ?? ''
  if (/^timeout\b/i.test(d)) return 'hang'
  if (kind === 'heartbeat') return 'hang'
  if (kind === 'process') return 'crash'
  return 'unhealthy'
}
