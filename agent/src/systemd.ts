// sd_notify without a native module: when systemd started us with
// Type=notify (NOTIFY_SOCKET set), report READY/STOPPING/WATCHDOG through the
// `systemd-notify` tool (the unit sets NotifyAccess=all for it). Without
// NOTIFY_SOCKET every call is a no-op.
import { spawn } from 'node:child_process'

export interface Notifier {
  readonly enabled: boolean
  ready: (status?: string) => void
  stopping: () => void
  status: (text: string) => void
  /** Starts WATCHDOG=1 pings at half of WATCHDOG_USEC, while `healthy()` holds. */
  startWatchdog: (healthy: () => boolean) => () => void
}

export function watchdogIntervalMs (env: NodeJS.ProcessEnv): number | undefined {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isFinite(usec) || usec <= 0) return undefined
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== process.pid) return undefined
  // Half the deadline: systemd's own recommendation.
  return Math.max(500, Math.floor(usec / 2000))
}

export function createNotifier (env: NodeJS.ProcessEnv = process.env, onError: (err: Error) => void = () => {}): Notifier {
  const enabled = typeof env.NOTIFY_SOCKET === 'string' && env.NOTIFY_SOCKET !== ''
  const send = (...args: string[]) => {
    if (!enabled) return
    const c = spawn('systemd-notify', [`--pid=${process.pid}`, ...args], { stdio: 'ignore', env })
    c.on('error', onError)
  }
  return {
    enabled,
    ready: (status) => send('--ready', ...(status === undefined ? [] : [`--status=${status}`])),
    stopping: () => send('STOPPING=1'),
    status: (text) => send(`--status=${text}`),
    startWatchdog (healthy) {
      const every = watchdogIntervalMs(env)
      if (!enabled || every === undefined) return () => {}
      const t = setInterval(() => { if (healthy()) send('WATCHDOG=1') }, every)
      t.unref()
      return () => clearInterval(t)
    }
  }
}
