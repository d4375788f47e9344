// A small HTTP/1.1 client for probes, on a raw node:net socket. Node's http
// client costs about twice the CPU per request (~0.7 ms vs ~0.3 ms here) and a
// supervisor probing ten services every second pays that all day.
//
// Two parts:
// - `createResponseParser` — pure: bytes in, one response (or an error) out.
//   Status line, headers (Content-Length, Transfer-Encoding: chunked,
//   Connection), body framing (length, chunked, until close, none), 1xx interim
//   responses skipped, a limit on every buffer. No I/O, so it is tested from a
//   table with every way of splitting the bytes into TCP segments.
// - `createHttpConnection` — one kept-alive socket to one origin: one request
//   at a time (a second concurrent request gets its own one-shot socket, never
//   a queue), a deadline on the whole exchange, and a stale idle socket (the
//   server closed it) retried once on a fresh connection.
import net from 'node:net'

export const HTTP_CLIENT_LIMITS = {
  /** Status line + headers (and chunked trailers). Node's own default; a health endpoint needs a few hundred bytes. */
  maxHeadBytes: 16 * 1024,
  /** Body bytes read at most: enough for any health document, and `bodyMatch` sees them all. Past it the response is judged on what was read and the connection closed. */
  maxBodyBytes: 64 * 1024,
  /** One chunk-size line (hex size + extensions). Real ones are under 20 bytes. */
  maxChunkLineBytes: 1024,
  /** 1xx interim responses (103 Early Hints…) skipped before the final one: a server looping on them is broken. */
  maxInterimResponses: 8
} as const

export type HttpClientLimits = { readonly [K in keyof typeof HTTP_CLIENT_LIMITS]: number }

export const HTTP_CONNECTION_DEFAULTS = {
  /**
   * An idle socket older than this is not reused: Node's http server closes idle keep-alive connections after 5 s
   * (keepAliveTimeout), so a probe every 10 s would otherwise write into a closing socket each time and pay a
   * retry. Under 5 s, a 1 Hz probe reuses its connection indefinitely.
   */
  maxIdleReuseMs: 4000
} as const

/**
 * Stable failure codes (the probe's detail line starts with one). Socket errors keep their errno code
 * (ECONNREFUSED, ECONNRESET, EHOSTUNREACH…); these are the protocol's own.
 */
export const HTTP_ERR = {
  /** Not an HTTP/1.x response: bad status line, malformed header, bad Content-Length or chunk size. */
  parse: 'ERR_HTTP_PARSE',
  /** Status line + headers (or trailers) larger than maxHeadBytes. */
  headTooLarge: 'ERR_HTTP_HEAD_TOO_LARGE',
  /** The server closed the connection before the response was complete. */
  closed: 'ERR_HTTP_CLOSED',
  /** No complete response before the deadline. */
  timeout: 'ERR_HTTP_TIMEOUT'
} as const

export interface HttpResponse {
  httpVersion: '1.0' | '1.1'
  status: number
  reason: string
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** The body as read (at most maxBodyBytes), when the parser was asked to keep it. */
  body?: Buffer
  /** Body bytes seen (decoded, without chunk framing). */
  bodyBytes: number
  /** The body was longer than maxBodyBytes: reading stopped there. */
  truncated: boolean
  /** The connection may carry another request: keep-alive agreed, the body was framed and fully read, nothing extra followed. */
  reusable: boolean
}

export type ParseStep =
  | { kind: 'more' }
  | { kind: 'done', response: HttpResponse }
  | { kind: 'error', code: string, message: string }

export interface ResponseParser {
  /** Feeds the next bytes from the socket. After 'done' or 'error' further input is ignored (returns the same step). */
  feed: (data: Buffer) => ParseStep
  /** The server closed its side. */
  end: () => ParseStep
  /** Bytes fed so far (0 = the server said nothing at all). */
  readonly bytesReceived: number
}

export interface ParserOptions {
  /** The request's method: a response to HEAD has no body whatever its headers say. */
  method?: string
  /** Keep the body (for bodyMatch); otherwise only count it. */
  keepBody?: boolean
  limits?: Partial<HttpClientLimits>
}

export interface ResponseHead {
  httpVersion: '1.0' | '1.1'
  status: number
  reason: string
  headers: Record<string, string>
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/

/**
 * Parses a response head (status line and header lines, without the blank line that ends it), latin1-decoded.
 * Accepts CRLF or bare LF line ends and obsolete line folding; rejects anything else that is not HTTP/1.x.
 */
export function parseResponseHead (text: string): { ok: true, head: ResponseHead } | { ok: false, message: string } {
  const lines = text.split('\n')
  const statusLine = stripCr(lines[0] ?? '')
  const m = STATUS_LINE.exec(statusLine)
  if (m === null) return { ok: false, message: `bad status line ${JSON.stringify(statusLine.slice(0, 64))}` }
  const headers: Record<string, string> = {}
  let last: string | undefined
  for (let i = 1; i < lines.length; i++) {
    const line = stripCr(lines[i])
    if (line === '') continue
    if (line[0] === ' ' || line[0] === '\t') {
      // obs-fold: a continuation of the previous header's value.
      if (last === undefined) return { ok: false, message: 'header continuation before any header' }
      headers[last] += ' ' + line.trim()
      continue
    }
    const colon = line.indexOf(':')
    const name = colon > 0 ? line.slice(0, colon) : ''
    if (!TOKEN.test(name)) return { ok: false, message: `malformed header line ${JSON.stringify(line.slice(0, 64))}` }
    const key = name.toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`
    last = key
  }
  return { ok: true, head: { httpVersion: m[1] === '0' ? '1.0' : '1.1', status: Number(m[2]), reason: m[3] ?? '', headers } }
}

const stripCr = (s: string): string => s.endsWith('\r') ? s.slice(0, -1) : s

/**
 * Where the head ends in buf[from, to): the index just after the blank line (CRLF CRLF, or LF LF), or -1.
 * Resume a search at `to - 3` once more bytes arrive.
 */
export function findHeadEnd (buf: Uint8Array, from: number, to: number): number {
  let i = buf.indexOf(10, from)
  while (i >= 0 && i + 1 < to) {
    if (buf[i + 1] === 10) return i + 2
    if (buf[i + 1] === 13) {
      if (i + 2 >= to) return -1
      if (buf[i + 2] === 10) return i + 3
    }
    i = buf.indexOf(10, i + 1)
  }
  return -1
}

export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length', bytes: number }
  | { kind: 'chunked' }
  | { kind: 'close' }

/**
 * How the body of a response is delimited (RFC 9112 §6.3), and whether the connection may be kept.
 * `error` for an ambiguous or invalid Content-Length.
 */
export function bodyFraming (head: ResponseHead, method: string): { framing: BodyFraming, keepAlive: boolean } | { error: string } {
  const h = head.headers
  const tokens = (h.connection ?? '').toLowerCase().split(',').map((t) => t.trim())
  let keepAlive = head.httpVersion === '1.1' ? !tokens.includes('close') : tokens.includes('keep-alive')
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) {
    // 101 Switching Protocols: the connection is no longer HTTP.
    return { framing: { kind: 'none' }, keepAlive: keepAlive && head.status !== 101 }
  }
  const te = h['transfer-encoding']
  if (te !== undefined) {
    const codings = te.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t !== '')
    // Content-Length alongside Transfer-Encoding is ignored, and the connection is not to be trusted for another request.
    if (h['content-length'] !== undefined) keepAlive = false
    if (codings[codings.length - 1] === 'chunked') return { framing: { kind: 'chunked' }, keepAlive }
    return { framing: { kind: 'close' }, keepAlive: false }
  }
  const cl = h['content-length']
  if (cl !== undefined) {
    const values = cl.split(',').map((v) => v.trim())
    if (values.some((v) => !/^\d{1,15}$/.test(v))) return { error: `bad Content-Length ${JSON.stringify(cl.slice(0, 32))}` }
    if (values.some((v) => Number(v) !== Number(values[0]))) return { error: `conflicting Content-Length ${JSON.stringify(cl.slice(0, 32))}` }
    return { framing: { kind: 'length', bytes: Number(values[0]) }, keepAlive }
  }
  return { framing: { kind: 'close' }, keepAlive: false }
}

const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1')

/** An incremental parser of one response. Pure: no sockets, no timers. */
export function createResponseParser (options: ParserOptions = {}): ResponseParser {
  const limits = { ...HTTP_CLIENT_LIMITS, ...options.limits }
  const method = (options.method ?? 'GET').toUpperCase()
  const keepBody = options.keepBody ?? false
  let bytesReceived = 0
  let result: ParseStep | undefined
  let interim = 0

  // Head phase: bytes of a head that spans segments are copied into one bounded buffer.
  let phase: 'head' | 'body' = 'head'
  let headBuf: Buffer | undefined
  let headLen = 0
  let prefixChecked = 0 // bytes of "HTTP/" verified at the start of the current head

  // Body phase.
  let head: ResponseHead | undefined
  let framing: BodyFraming = { kind: 'none' }
  let keepAlive = false
  let remaining = 0
  const bodyChunks: Buffer[] = []
  let bodyBytes = 0
  // Chunked decoding.
  let chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size'
  let lineBytes = 0
  let line = ''
  let lineContent = false // the current trailer line has a byte other than CR
  let trailerBytes = 0

  const fail = (code: string, message: string): ParseStep => (result = { kind: 'error', code, message })
  const done = (reusable: boolean, truncated: boolean): ParseStep => {
    const h = head!
    const response: HttpResponse = {
      httpVersion: h.httpVersion,
      status: h.status,
      reason: h.reason,
      headers: h.headers,
      bodyBytes,
      truncated,
      reusable: reusable && keepAlive && !truncated
    }
    if (keepBody) response.body = bodyChunks.length === 1 ? bodyChunks[0] : Buffer.concat(bodyChunks)
    return (result = { kind: 'done', response })
  }

  /** Counts (and keeps) body bytes; true when the body limit was passed. */
  const takeBody = (data: Buffer): boolean => {
    const room = limits.maxBodyBytes - bodyBytes
    if (keepBody && room > 0) bodyChunks.push(data.length <= room ? data : data.subarray(0, room))
    bodyBytes += data.length
    return bodyBytes > limits.maxBodyBytes
  }

  /** Verifies the head starts with "HTTP/" as soon as bytes allow: garbage fails at once, not at the deadline. */
  const checkPrefix = (buf: Uint8Array, start: number, end: number): boolean => {
    while (prefixChecked < HTTP_PREFIX.length && start + prefixChecked < end) {
      if (buf[start + prefixChecked] !== HTTP_PREFIX[prefixChecked]) return false
      prefixChecked++
    }
    return true
  }

  /** A complete head: the final response's framing, or an interim (1xx) response skipped. An error step, or undefined to go on. */
  const onHead = (text: string): ParseStep | undefined => {
    const parsed = parseResponseHead(text)
    if (!parsed.ok) return fail(HTTP_ERR.parse, parsed.message)
    const f = bodyFraming(parsed.head, method)
    if ('error' in f) return fail(HTTP_ERR.parse, f.error)
    const s = parsed.head.status
    if (s >= 100 && s < 200 && s !== 101) {
      if (++interim > limits.maxInterimResponses) return fail(HTTP_ERR.parse, `more than ${limits.maxInterimResponses} interim (1xx) responses`)
      prefixChecked = 0
      return undefined // stay in the head phase for the final response
    }
    head = parsed.head
    framing = f.framing
    keepAlive = f.keepAlive
    phase = 'body'
    if (framing.kind === 'length') remaining = framing.bytes
    return undefined
  }

  /** Body bytes (framing known). */
  const onBody = (data: Buffer, start: number): ParseStep => {
    let i = start
    const n = data.length
    switch (framing.kind) {
      case 'none':
        return done(i === n, false)
      case 'close':
        if (i < n && takeBody(data.subarray(i))) return done(false, true)
        return { kind: 'more' }
      case 'length': {
        if (remaining === 0) return done(i === n, false)
        const take = Math.min(remaining, n - i)
        if (take > 0) {
          if (takeBody(data.subarray(i, i + take))) return done(false, true)
          remaining -= take
          i += take
        }
        return remaining === 0 ? done(i === n, false) : { kind: 'more' }
      }
      case 'chunked':
        while (i < n) {
          if (chunkState === 'data') {
            const take = Math.min(remaining, n - i)
            if (takeBody(data.subarray(i, i + take))) return done(false, true)
            remaining -= take
            i += take
            if (remaining === 0) { chunkState = 'data-end'; lineBytes = 0; line = '' }
            continue
          }
          // Line-oriented states: size line, CRLF after data, trailer lines.
          const c = data[i++]
          if (c !== 10) {
            if (++lineBytes > (chunkState === 'trailer' ? limits.maxHeadBytes : limits.maxChunkLineBytes)) {
              return chunkState === 'trailer'
                ? fail(HTTP_ERR.headTooLarge, `trailers exceed ${limits.maxHeadBytes} bytes`)
                : fail(HTTP_ERR.parse, `chunk line longer than ${limits.maxChunkLineBytes} bytes`)
            }
            if (c !== 13) {
              if (chunkState === 'trailer') lineContent = true
              else line += String.fromCharCode(c)
            }
            continue
          }
          if (chunkState === 'data-end') {
            if (line !== '') return fail(HTTP_ERR.parse, 'missing CRLF after chunk data')
            chunkState = 'size'; lineBytes = 0; line = ''
            continue
          }
          if (chunkState === 'size') {
            const hex = (line.includes(';') ? line.slice(0, line.indexOf(';')) : line).trim()
            if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return fail(HTTP_ERR.parse, `bad chunk size ${JSON.stringify(line.slice(0, 32))}`)
            remaining = parseInt(hex, 16)
            lineBytes = 0; line = ''
            chunkState = remaining === 0 ? 'trailer' : 'data'
            continue
          }
          // Trailer: an empty line (only CR before LF) ends the message.
          trailerBytes += lineBytes + 1
          if (trailerBytes > limits.maxHeadBytes) return fail(HTTP_ERR.headTooLarge, `trailers exceed ${limits.maxHeadBytes} bytes`)
          const empty = !lineContent
          lineBytes = 0
          lineContent = false
          if (empty) return done(i === n, false)
        }
        return { kind: 'more' }
    }
  }

  const feed = (data: Buffer): ParseStep => {
    if (result !== undefined) return result
    bytesReceived += data.length
    let offset = 0
    while (phase === 'head') {
      if (offset >= data.length) return { kind: 'more' }
      if (headLen === 0) {
        // Fast path: the whole head in this segment (nearly always).
        if (!checkPrefix(data, offset, data.length)) return fail(HTTP_ERR.parse, 'bad status line: not an HTTP/1.x response')
        const end = findHeadEnd(data, offset, data.length)
        if (end >= 0) {
          if (end - offset > limits.maxHeadBytes) return fail(HTTP_ERR.headTooLarge, `response head exceeds ${limits.maxHeadBytes} bytes`)
          const r = onHead(data.toString('latin1', offset, end))
          if (r !== undefined) return r
          offset = end
          continue
        }
        headBuf ??= Buffer.allocUnsafe(limits.maxHeadBytes + 4)
        const n = Math.min(data.length - offset, headBuf.length)
        data.copy(headBuf, 0, offset, offset + n)
        headLen = n
        if (data.length - offset > limits.maxHeadBytes) return fail(HTTP_ERR.headTooLarge, `response head exceeds ${limits.maxHeadBytes} bytes`)
        return { kind: 'more' }
      }
      // Slow path: a head split across segments, assembled in headBuf (bounded).
      const before = headLen
      const n = Math.min(data.length - offset, headBuf!.length - headLen)
      data.copy(headBuf!, headLen, offset, offset + n)
      headLen += n
      if (!checkPrefix(headBuf!, 0, headLen)) return fail(HTTP_ERR.parse, 'bad status line: not an HTTP/1.x response')
      const end = findHeadEnd(headBuf!, Math.max(0, before - 3), headLen)
      if (end < 0) {
        if (headLen > limits.maxHeadBytes) return fail(HTTP_ERR.headTooLarge, `response head exceeds ${limits.maxHeadBytes} bytes`)
        return { kind: 'more' }
      }
      if (end > limits.maxHeadBytes) return fail(HTTP_ERR.headTooLarge, `response head exceeds ${limits.maxHeadBytes} bytes`)
      const r = onHead(headBuf!.toString('latin1', 0, end))
      if (r !== undefined) return r
      // Bytes of this segment past the head.
      offset += end - before
      headLen = 0
    }
    const step = onBody(data, offset)
    return step
  }

  const end = (): ParseStep => {
    if (result !== undefined) return result
    if (phase === 'head') {
      return fail(HTTP_ERR.closed, bytesReceived === 0
        ? 'connection closed before any response'
        : `connection closed in the response head (${bytesReceived} bytes received)`)
    }
    if (framing.kind === 'close' || framing.kind === 'none') return done(false, false)
    if (framing.kind === 'length') return fail(HTTP_ERR.closed, `connection closed mid-body (${bodyBytes} of ${framing.bytes} bytes)`)
    return fail(HTTP_ERR.closed, `connection closed mid-body (chunked, ${bodyBytes} bytes received)`)
  }

  return {
    feed,
    end,
    get bytesReceived () { return bytesReceived }
  }
}

/** The request bytes: one write, HTTP/1.1, Host always, keep-alive or close as asked. */
export function buildRequest (url: URL, method: string, keepAlive: boolean): Buffer {
  const path = (url.pathname === '' ? '/' : url.pathname) + url.search
  let s = `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: homeostat-probe\r\nAccept: */*\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n`
  if (url.username !== '' || url.password !== '') {
    const cred = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    s += `Authorization: Basic ${Buffer.from(cred, 'utf8').toString('base64')}\r\n`
  }
  if (method === 'POST') s += 'Content-Length: 0\r\n'
  return Buffer.from(s + '\r\n', 'latin1')
}

export interface HttpRequestOptions {
  method?: 'GET' | 'HEAD' | 'POST'
  /** Deadline for the whole exchange (connect, request, complete response), ms. */
  timeoutMs: number
  /** Keep the body (up to maxBodyBytes) in the response, for bodyMatch. */
  keepBody?: boolean
  /** Close the kept socket and use a new connection (which is then kept). */
  fresh?: boolean
}

export type HttpOutcome =
  | { ok: true, response: HttpResponse, reusedSocket: boolean }
  | { ok: false, code: string, message: string, reusedSocket: boolean }

export interface HttpConnectionStats {
  requests: number
  /** TCP connections opened. */
  connects: number
  /** Requests answered on a kept-alive socket. */
  reused: number
  /** Kept sockets found closed by the server when used, and retried on a fresh connection. */
  staleRetries: number
  /** Requests that found the connection busy and used a one-shot socket. */
  concurrent: number
}

export interface HttpConnection {
  /** One request; resolves with the response or a failure, never rejects. */
  request: (url: URL, options: HttpRequestOptions) => Promise<HttpOutcome>
  /** Closes the kept socket (the next request connects anew). */
  close: () => void
  stats: () => HttpConnectionStats
}

export interface HttpConnectionOptions {
  /** Keep the socket between requests (default true). False: one connection per request, `Connection: close`. */
  keepAlive?: boolean
  maxIdleReuseMs?: number
  limits?: Partial<HttpClientLimits>
}

interface Pending {
  parser: ResponseParser
  settle: (o: HttpOutcome) => void
}

interface Conn {
  socket: net.Socket
  key: string
  dead: boolean
  idleSinceMs: number
  /** The request in flight on this socket. */
  current?: Pending
}

/** Hostname for net.connect: URL keeps IPv6 literals in brackets. */
const connectHost = (url: URL): string => url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
const connectPort = (url: URL): number => url.port === '' ? 80 : Number(url.port)

/**
 * A connection to one origin for HTTP/1.1 requests over a raw socket. Only `http:` URLs (the probe keeps
 * node:https for TLS).
 */
export function createHttpConnection (options: HttpConnectionOptions = {}): HttpConnection {
  const keepAlive = options.keepAlive ?? true
  const maxIdleReuseMs = options.maxIdleReuseMs ?? HTTP_CONNECTION_DEFAULTS.maxIdleReuseMs
  const limits = options.limits
  const stats: HttpConnectionStats = { requests: 0, connects: 0, reused: 0, staleRetries: 0, concurrent: 0 }
  let kept: Conn | undefined
  let busy = false
  let requestCache: { href: string, method: string, keep: boolean, bytes: Buffer } | undefined

  const open = (url: URL): Conn => {
    stats.connects++
    const socket = net.connect({ host: connectHost(url), port: connectPort(url) })
    socket.setNoDelay(true)
    const c: Conn = { socket, key: url.host, dead: false, idleSinceMs: 0 }
    // Listeners stay for the socket's life and route to the request in flight (none while idle).
    socket.on('data', (d: Buffer) => {
      const p = c.current
      if (p === undefined) { kill(c); return } // bytes nobody asked for: the socket is out of step
      const step = p.parser.feed(d)
      if (step.kind === 'more') return
      c.current = undefined
      if (step.kind === 'error') { kill(c); p.settle({ ok: false, code: step.code, message: step.message, reusedSocket: false }); return }
      if (!step.response.reusable) kill(c)
      p.settle({ ok: true, response: step.response, reusedSocket: false })
    })
    socket.on('end', () => {
      const p = c.current
      c.current = undefined
      kill(c)
      if (p === undefined) return
      const step = p.parser.end()
      if (step.kind === 'done') p.settle({ ok: true, response: step.response, reusedSocket: false })
      else if (step.kind === 'error') p.settle({ ok: false, code: step.code, message: step.message, reusedSocket: false })
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const p = c.current
      c.current = undefined
      kill(c)
      p?.settle({ ok: false, code: err.code ?? 'ERR_SOCKET', message: err.message, reusedSocket: false })
    })
    socket.on('close', () => {
      const p = c.current
      c.current = undefined
      c.dead = true
      if (kept === c) kept = undefined
      p?.settle({ ok: false, code: HTTP_ERR.closed, message: 'connection closed', reusedSocket: false })
    })
    return c
  }

  const kill = (c: Conn): void => {
    c.dead = true
    if (kept === c) kept = undefined
    c.socket.destroy()
  }

  const requestBytes = (url: URL, method: string, keep: boolean): Buffer => {
    const rc = requestCache
    const href = url.href
    if (rc !== undefined && rc.href === href && rc.method === method && rc.keep === keep) return rc.bytes
    const bytes = buildRequest(url, method, keep)
    requestCache = { href, method, keep, bytes }
    return bytes
  }

  /** One attempt on `c`; `deadline` in performance.now() ms. */
  const attempt = async (c: Conn, url: URL, method: string, keep: boolean, o: HttpRequestOptions, deadline: number, reused: boolean): Promise<HttpOutcome & { silent: boolean }> => {
    const parser = createResponseParser({ method, keepBody: o.keepBody ?? false, ...(limits !== undefined ? { limits } : {}) })
    return await new Promise((resolve) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        c.current = undefined
        kill(c)
        settle({ ok: false, code: HTTP_ERR.timeout, message: `no complete response within ${o.timeoutMs} ms`, reusedSocket: reused })
      }, Math.max(1, deadline - performance.now()))
      const settle = (out: HttpOutcome): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({ ...out, reusedSocket: reused, silent: parser.bytesReceived === 0 })
      }
      c.current = { parser, settle }
      c.socket.ref()
      c.socket.write(requestBytes(url, method, keep))
    })
  }

  const request = async (url: URL, o: HttpRequestOptions): Promise<HttpOutcome> => {
    stats.requests++
    const method = o.method ?? 'GET'
    const deadline = performance.now() + o.timeoutMs
    if (busy || !keepAlive) {
      // One-shot: concurrent with the kept connection's request (checkNow during a periodic probe), or keep-alive off.
      if (busy) stats.concurrent++
      const c = open(url)
      try {
        const r = await attempt(c, url, method, false, o, deadline, false)
        return strip(r)
      } finally { kill(c) }
    }
    busy = true
    try {
      let c = kept
      if (c !== undefined && (o.fresh === true || c.dead || c.key !== url.host || performance.now() - c.idleSinceMs > maxIdleReuseMs)) {
        kill(c)
        c = undefined
      }
      const reused = c !== undefined
      if (c === undefined) { c = open(url); kept = c }
      let r = await attempt(c, url, method, true, o, deadline, reused)
      // The server closed the idle connection before (or as) we wrote: not its failure. Once, on a fresh socket.
      if (!r.ok && reused && r.silent && r.code !== HTTP_ERR.timeout && performance.now() < deadline) {
        stats.staleRetries++
        c = open(url)
        kept = c
        r = await attempt(c, url, method, true, o, deadline, false)
      } else if (r.ok && reused) stats.reused++
      if (!c.dead && r.ok) { c.idleSinceMs = performance.now(); c.socket.unref() }
      return strip(r)
    } finally { busy = false }
  }

  const strip = (r: HttpOutcome & { silent: boolean }): HttpOutcome => {
    const { silent: _silent, ...rest } = r
    return rest
  }

  return {
    request,
    close () { if (kept !== undefined) kill(kept) },
    stats: () => ({ ...stats })
  }
}
