// Process liveness: the pid exists and is not a zombie or stopped (SIGSTOP,
// a debugger) — a stopped process never exits, so an exit watcher misses it.
import { readFileSync } from 'node:fs'
import type { ProbeResult } from './types.ts'

/** Parses the state letter from /proc/PID/stat (after the last ')' of comm). */
export function procState (stat: string): string | undefined {
  const i = stat.lastIndexOf(')')
  if (i < 0) return undefined
  return stat.slice(i + 2, i + 3) || undefined
}

/** `pausedByUs`: the supervisor itself holds the process stopped part of the time (a CPU limit by duty cycle): state T is then expected. */
export function processProbe (pid: number | undefined, opts: { pausedByUs?: boolean } = {}): ProbeResult {
  if (pid === undefined) return { status: 'fail', latencyMs: 0, detail: 'not running' }
  try {
    process.kill(pid, 0)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ESRCH') return { status: 'fail', latencyMs: 0, detail: `pid ${pid} does not exist` }
    // EPERM: it exists but is not ours; still alive.
  }
  let state: string | undefined
  try { state = procState(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { /* no /proc (macOS): kill(0) is all we have */ }
  if (state === 'Z') return { status: 'fail', latencyMs: 0, detail: `pid ${pid} is a zombie` }
  if ((state === 'T' && opts.pausedByUs !== true) || state === 't') return { status: 'fail', latencyMs: 0, detail: `pid ${pid} is stopped (state ${state})` }
  return { status: 'ok', latencyMs: 0, detail: `pid ${pid} alive${state !== undefined ? ` (state ${state})` : ''}` }
}
