// systemd unit probe via `systemctl show`. Where systemd is not the init
// system (containers, macOS, OpenRC) the probe reports `unsupported` once.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { elapsedMs, type ProbeResult } from './types.ts'

/** systemd creates this directory when it is PID 1 (sd_booted(3)). */
export function systemdAvailable (): boolean {
  return existsSync('/run/systemd/system')
}

/** Parses `systemctl show -p A -p B` output (KEY=VALUE lines). */
export function parseSystemctlShow (out: string): Record<string, string> {
  const r: Record<string, string> = {}
  for (const line of out.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) r[line.slice(0, i)] = line.slice(i + 1).trim()
  }
  return r
}

export async function systemdProbe (o: { unit: string, expectState: string, timeoutMs: number }, available: () => boolean = systemdAvailable): Promise<ProbeResult> {
  const t0 = performance.now()
  if (!available()) return { status: 'unsupported', latencyMs: 0, detail: 'systemd is not running on this host (no /run/systemd/system)' }
  return await new Promise<ProbeResult>((resolve) => {
    execFile('systemctl', ['show', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'SubState', '--', o.unit], { timeout: o.timeoutMs }, (err, stdout) => {
      const latencyMs = elapsedMs(t0)
      if (err !== null) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return resolve({ status: 'unsupported', latencyMs, detail: 'systemctl not found' })
        if ((err as { killed?: boolean }).killed === true) return resolve({ status: 'fail', latencyMs, detail: `systemctl timed out after ${o.timeoutMs} ms` })
        return resolve({ status: 'error', latencyMs, detail: `systemctl failed: ${err.message.split('\n')[0] ?? ''}` })
      }
      const p = parseSystemctlShow(stdout)
      if (p.LoadState === 'not-found') return resolve({ status: 'fail', latencyMs, detail: `unit ${o.unit} not found` })
      if (p.ActiveState !== o.expectState) return resolve({ status: 'fail', latencyMs, detail: `unit ${o.unit} is ${p.ActiveState ?? '?'}/${p.SubState ?? '?'} (expected ${o.expectState})` })
      resolve({ status: 'ok', latencyMs, detail: `unit ${o.unit} ${p.ActiveState}/${p.SubState ?? ''}` })
    })
  })
}
