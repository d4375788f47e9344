// HTTP probe: status, latency and body match. A server that accepts the
// connection but never answers fails by timeout (the socket is destroyed).
import http from 'node:http'
import https from 'node:https'
import { elapsedMs, type ProbeResult } from './types.ts'

export interface HttpProbeOptions {
  url: string
  method?: 'GET' | 'HEAD' | 'POST'
  timeoutMs: number
  expectStatus?: number | [number, number]
  bodyMatch?: string
  maxLatencyMs?: number
}

/** Bodies are read only up to this size for matching (a probe must stay cheap). */
export const HTTP_BODY_LIMIT_BYTES = 64 * 1024

export function statusAccepted (status: number, expect: number | [number, number] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 400
  if (typeof expect === 'number') return status === expect
  return status >= expect[0] && status <= expect[1]
}

export async function httpProbe (o: HttpProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now()
  let url: URL
  try { url = new URL(o.url) } catch { return { status: 'error', latencyMs: 0, detail: `invalid URL ${o.url}` } }
  const lib = url.protocol === 'https:' ? https : http
  const re = o.bodyMatch !== undefined ? new RegExp(o.bodyMatch) : undefined
  return await new Promise<ProbeResult>((resolve) => {
    let done = false
    const finish = (r: ProbeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => {
      finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `timeout: no complete response within ${o.timeoutMs} ms` })
    }, o.timeoutMs)
    const req = lib.request(url, { method: o.method ?? 'GET', agent: false, headers: { 'user-agent': 'homeostat-probe', connection: 'close' } }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        if (re !== undefined && size < HTTP_BODY_LIMIT_BYTES) { chunks.push(c); size += c.length }
      })
      res.on('error', (err) => finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `response error: ${err.message}` }))
      res.on('end', () => {
        const latencyMs = elapsedMs(t0)
        const status = res.statusCode ?? 0
        if (!statusAccepted(status, o.expectStatus)) {
          finish({ status: 'fail', latencyMs, detail: `HTTP ${status} not accepted` })
        } else if (re !== undefined && !re.test(Buffer.concat(chunks).toString('utf8'))) {
          finish({ status: 'fail', latencyMs, detail: `body does not match /${o.bodyMatch ?? ''}/` })
        } else if (o.maxLatencyMs !== undefined && latencyMs > o.maxLatencyMs) {
          finish({ status: 'fail', latencyMs, detail: `slow: ${latencyMs} ms > ${o.maxLatencyMs} ms` })
        } else {
          finish({ status: 'ok', latencyMs, detail: `HTTP ${status} in ${latencyMs} ms` })
        }
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `${err.code ?? 'error'}: ${err.message}` })
    })
    req.end()
  })
}
