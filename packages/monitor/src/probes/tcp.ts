// TCP probe: a connection is accepted within the timeout.
import net from 'node:net'
import { elapsedMs, type ProbeResult } from './types.ts'

export async function tcpProbe (o: { host: string, port: number, timeoutMs: number }): Promise<ProbeResult> {
  const t0 = performance.now()
  return await new Promise<ProbeResult>((resolve) => {
    let done = false
    const sock = net.connect({ host: o.host, port: o.port })
    const finish = (r: ProbeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `timeout: no connection within ${o.timeoutMs} ms` }), o.timeoutMs)
    sock.once('connect', () => finish({ status: 'ok', latencyMs: elapsedMs(t0), detail: `connected to ${o.host}:${o.port}` }))
    sock.once('error', (err: NodeJS.ErrnoException) => finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `${err.code ?? 'error'}: ${err.message}` }))
  })
}
