// Exec probe: a command's exit code. A command that cannot be run at all
// (missing, not executable) is a probe error, not a workload failure.
import { spawn } from 'node:child_process'
import { elapsedMs, type ProbeResult } from './types.ts'

/** stderr kept for the detail line. */
const STDERR_KEEP_BYTES = 512

export async function execProbe (o: { command: string, args: string[], timeoutMs: number, expectExitCode: number, cwd?: string }): Promise<ProbeResult> {
  const t0 = performance.now()
  return await new Promise<ProbeResult>((resolve) => {
    let done = false
    let stderr = ''
    const finish = (r: ProbeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(r)
    }
    const child = spawn(o.command, o.args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: o.cwd })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (d: string) => { if (stderr.length < STDERR_KEEP_BYTES) stderr += d })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `timeout: ${o.command} still running after ${o.timeoutMs} ms` })
    }, o.timeoutMs)
    child.once('error', (err: NodeJS.ErrnoException) => {
      finish({ status: 'error', latencyMs: elapsedMs(t0), detail: `cannot run ${o.command}: ${err.code ?? 'error'} ${err.message}` })
    })
    child.once('exit', (code, signal) => {
      const latencyMs = elapsedMs(t0)
      if (code === o.expectExitCode) finish({ status: 'ok', latencyMs, detail: `exit ${code}` })
      else finish({ status: 'fail', latencyMs, detail: `exit ${code ?? signal ?? '?'} (expected ${o.expectExitCode})${stderr !== '' ? ': ' + stderr.trim().slice(0, 200) : ''}` })
    })
  })
}
