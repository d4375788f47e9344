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
  /**
   * A keep-alive agent (one per probe, from the probe runner): a connection reused between probes costs the
   * agent a fraction of a new TCP handshake each second. Without it every probe opens and closes a connection,
   * as Kubernetes does.
   */
  agent?: http.Agent
}

/** Bodies are read only up to this size for matching (a probe must stay cheap). */
export const HTTP_BODY_LIMIT_BYTES = 64 * 1024

export function statusAccepted (status: number, expect: number | [number, number] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 400
  if (typeof expect === 'number') return status === expect
  return status >= expect[0] && status <= expect[1]
}

export async function httpProbe (o: HttpProbeOptions): Promise<ProbeResult> {
  const r = await httpProbeOnce(o)
  // An idle kept-alive socket the server closed (a restart) is not the server's failure: retry once on a new one.
  if (r.reusedSocketFailed === true) return await httpProbeOnce({ ...o, agent: undefined })
  delete r.reusedSocketFailed
  return r
}

async function httpProbeOnce (o: HttpProbeOptions): Promise<ProbeResult & { reusedSocketFailed?: boolean }> {
  const t0 = performance.now()
  let url: URL
  try { url = new URL(o.url) } catch { return { status: 'error', latencyMs: 0, detail: `invalid URL ${o.url}` } }
  const lib = url.protocol === 'https:' ? https : http
  const re = o.bodyMatch !== undefined ? new RegExp(o.bodyMatch) : undefined
  const keepAlive = o.agent !== undefined && url.protocol === 'http:'
  return await new Promise<ProbeResult & { reusedSocketFailed?: boolean }>((resolve) => {
    let done = false
    const finish = (r: ProbeResult & { reusedSocketFailed?: boolean }): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      // A complete, accepted response leaves a kept-alive socket in the pool; anything else closes it.
      if (!(keepAlive && r.status === 'ok')) req.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => {
      finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `timeout: no complete response within ${o.timeoutMs} ms` })
    }, o.timeoutMs)
    const req = lib.request(url, {
      method: o.method ?? 'GET',
      agent: keepAlive ? o.agent : false,
      headers: { 'user-agent': 'homeostat-probe', connection: keepAlive ? 'keep-alive' : 'close' }
    }, (res) => {
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
      finish({ status: 'fail', latencyMs: elapsedMs(t0), detail: `${err.code ?? 'error'}: ${err.message}`, ...(keepAlive && req.reusedSocket ? { reusedSocketFailed: true } : {}) })
    })
    req.end()
  })
}
