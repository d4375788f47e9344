// HTTP probe: status, latency and body match. A server that accepts the
// connection but never answers fails by timeout (the socket is destroyed).
// http: URLs go through the raw-socket client in http-client.ts (half the CPU
// of node:http per request); https: URLs use node:https, one connection each.
import https from 'node:https'
import { elapsedMs, type ProbeResult } from './types.ts'
import { createHttpConnection, HTTP_CLIENT_LIMITS, HTTP_ERR, type HttpConnection, type HttpOutcome } from './http-client.ts'

export interface HttpProbeOptions {
  url: string
  method?: 'GET' | 'HEAD' | 'POST'
  timeoutMs: number
  expectStatus?: number | [number, number]
  bodyMatch?: string
  maxLatencyMs?: number
  /**
   * A kept-alive connection (one per probe, from the probe runner; `createHttpConnection()`): reusing it between
   * probes costs a fraction of a new TCP handshake each second. Without it every probe opens and closes a
   * connection (`Connection: close`), as Kubernetes does. Ignored for https: URLs.
   */
  connection?: HttpConnection
  /** With `connection`: replace its socket by a new connection for this probe (so a server that stops accepting is caught). */
  fresh?: boolean
}

/** Bodies are read only up to this size (for matching, and a probe must stay cheap); the response is judged on that much. */
export const HTTP_BODY_LIMIT_BYTES = HTTP_CLIENT_LIMITS.maxBodyBytes

export function statusAccepted (status: number, expect: number | [number, number] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 400
  if (typeof expect === 'number') return status === expect
  return status >= expect[0] && status <= expect[1]
}

/** bodyMatch regular expressions, compiled once (a probe runs every second). Bounded: specs are few. */
const regexCache = new Map<string, RegExp>()
const REGEX_CACHE_MAX = 256
function regexOf (source: string): RegExp {
  let re = regexCache.get(source)
  if (re === undefined) {
    re = new RegExp(source)
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear()
    regexCache.set(source, re)
  }
  return re
}

export async function httpProbe (o: HttpProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now()
  let url: URL
  try { url = new URL(o.url) } catch { return { status: 'error', latencyMs: 0, detail: `invalid URL ${o.url}` } }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { status: 'error', latencyMs: 0, detail: `unsupported URL scheme ${url.protocol}` }
  let re: RegExp | undefined
  try { re = o.bodyMatch !== undefined ? regexOf(o.bodyMatch) : undefined } catch { return { status: 'error', latencyMs: 0, detail: `invalid bodyMatch /${o.bodyMatch ?? ''}/` } }
  const method = o.method ?? 'GET'
  let outcome: HttpOutcome
  if (url.protocol === 'https:') {
    outcome = await httpsRequest(url, method, o.timeoutMs, re !== undefined)
  } else {
    const conn = o.connection ?? createHttpConnection({ keepAlive: false })
    outcome = await conn.request(url, { method, timeoutMs: o.timeoutMs, keepBody: re !== undefined, fresh: o.fresh === true })
  }
  const latencyMs = elapsedMs(t0)
  if (!outcome.ok) {
    if (outcome.code === HTTP_ERR.timeout) return { status: 'fail', latencyMs, detail: `timeout: no complete response within ${o.timeoutMs} ms` }
    return { status: 'fail', latencyMs, detail: `${outcome.code}: ${outcome.message}` }
  }
  const status = outcome.response.status
  if (!statusAccepted(status, o.expectStatus)) return { status: 'fail', latencyMs, detail: `HTTP ${status} not accepted` }
  if (re !== undefined && !re.test((outcome.response.body ?? Buffer.alloc(0)).toString('utf8'))) {
    return { status: 'fail', latencyMs, detail: `body does not match /${o.bodyMatch ?? ''}/${outcome.response.truncated ? ` (first ${HTTP_BODY_LIMIT_BYTES} bytes)` : ''}` }
  }
  if (o.maxLatencyMs !== undefined && latencyMs > o.maxLatencyMs) return { status: 'fail', latencyMs, detail: `slow: ${latencyMs} ms > ${o.maxLatencyMs} ms` }
  return { status: 'ok', latencyMs, detail: `HTTP ${status} in ${latencyMs} ms` }
}

/** One https request on its own connection, with the same deadline, body limit and outcome shape as the raw client. */
async function httpsRequest (url: URL, method: string, timeoutMs: number, keepBody: boolean): Promise<HttpOutcome> {
  return await new Promise<HttpOutcome>((resolve) => {
    let done = false
    const finish = (r: HttpOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish({ ok: false, code: HTTP_ERR.timeout, message: `no complete response within ${timeoutMs} ms`, reusedSocket: false }), timeoutMs)
    const req = https.request(url, { method, agent: false, headers: { 'user-agent': 'homeostat-probe', connection: 'close' } }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      const respond = (truncated: boolean): void => {
        const body = Buffer.concat(chunks)
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
        finish({
          ok: true,
          reusedSocket: false,
          response: {
            httpVersion: res.httpVersion === '1.0' ? '1.0' : '1.1',
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? '',
            headers,
            ...(keepBody ? { body: body.subarray(0, HTTP_BODY_LIMIT_BYTES) } : {}),
            bodyBytes: size,
            truncated,
            reusable: false
          }
        })
      }
      res.on('data', (c: Buffer) => {
        if (keepBody) chunks.push(c)
        size += c.length
        if (size > HTTP_BODY_LIMIT_BYTES) respond(true)
      })
      res.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code ?? HTTP_ERR.closed, message: err.message, reusedSocket: false }))
      res.on('end', () => respond(false))
    })
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code ?? 'ERR_SOCKET', message: err.message, reusedSocket: false }))
    req.end()
  })
}
