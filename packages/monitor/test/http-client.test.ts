import { strict as assert } from 'node:assert'
import {
  createResponseParser, parseResponseHead, findHeadEnd, bodyFraming, buildRequest, HTTP_ERR, type ParseStep
} from '../src/index.ts'
import { seeded } from './seeded.ts'


interface Case {
  name: string
  bytes: string | Buffer
  method?: string
  keepBody?: boolean
  /** Close the connection after the bytes (server EOF). */
  eof?: boolean
  limits?: { maxHeadBytes?: number, maxBodyBytes?: number, maxChunkLineBytes?: number, maxInterimResponses?: number }
  expect:
  | { more: true }
  | { error: string }
  | { status: number, body?: string, bodyBytes?: number, reusable: boolean, truncated?: boolean, version?: '1.0' | '1.1', header?: [string, string] }
}

const big = (n: number, c = 'x'): string => c.repeat(n)

const CASES: Case[] = [
  { name: 'Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', keepBody: true, expect: { status: 200, body: 'hello', reusable: true } },
  { name: 'Content-Length 0', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', keepBody: true, expect: { status: 200, body: '', reusable: true } },
  { name: 'body counted, not kept', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', expect: { status: 200, bodyBytes: 5, reusable: true } },
  { name: 'incomplete body waits', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello', expect: { more: true } },
  { name: 'incomplete head waits', bytes: 'HTTP/1.1 200 OK\r\nContent-Le', expect: { more: true } },
  { name: 'repeated equal Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: true } },
  { name: 'conflicting Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', expect: { error: HTTP_ERR.parse } },
  { name: 'bad Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  {
    name: 'chunked with extension',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;name=v\r\n world\r\n0\r\n\r\n',
    keepBody: true,
    expect: { status: 200, body: 'hello world', reusable: true }
  },
  { name: 'chunked, upper-case hex and trailers', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n', keepBody: true, expect: { status: 200, body: '0123456789', reusable: true } },
  { name: 'chunked, gzip then chunked', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', keepBody: true, expect: { status: 200, body: 'ok', reusable: true } },
  { name: 'chunked wins over Content-Length, connection not reused', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', keepBody: true, expect: { status: 200, body: 'ok', reusable: false } },
  { name: 'transfer coding without chunked: until close', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz', keepBody: true, eof: true, expect: { status: 200, body: 'zz', reusable: false } },
  { name: 'bad chunk size', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'chunk data without CRLF', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXY0\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'chunk line too long', bytes: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;${big(2000)}\r\nok\r\n0\r\n\r\n`, expect: { error: HTTP_ERR.parse } },
  { name: 'trailers too large', bytes: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${big(2000)}\r\n\r\n`, limits: { maxHeadBytes: 1024 }, expect: { error: HTTP_ERR.headTooLarge } },
  { name: 'chunked closed midway', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', eof: true, expect: { error: HTTP_ERR.closed } },
  { name: 'Connection: close from the server', bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: false } },
  { name: 'Connection header is a token list', bytes: 'HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n', expect: { status: 200, reusable: false } },
  { name: 'HTTP/1.0 with length', bytes: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: false, version: '1.0' } },
  { name: 'HTTP/1.0 keep-alive', bytes: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: true, version: '1.0' } },
  { name: 'HTTP/1.0 body until close', bytes: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it', keepBody: true, eof: true, expect: { status: 200, body: 'all of it', reusable: false, version: '1.0' } },
  { name: 'HTTP/1.0 body until close, not closed yet', bytes: 'HTTP/1.0 200 OK\r\n\r\nsome', expect: { more: true } },
  { name: 'HTTP/1.1 without framing: until close', bytes: 'HTTP/1.1 200 OK\r\n\r\nbody', keepBody: true, eof: true, expect: { status: 200, body: 'body', reusable: false } },
  { name: 'HEAD: no body whatever the length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', method: 'HEAD', expect: { status: 200, bodyBytes: 0, reusable: true } },
  { name: '204 has no body', bytes: 'HTTP/1.1 204 No Content\r\n\r\n', expect: { status: 204, reusable: true } },
  { name: '304 has no body', bytes: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n', expect: { status: 304, reusable: true } },
  { name: '101 ends HTTP on the connection', bytes: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', expect: { status: 101, reusable: false } },
  { name: '100 and 103 before the final response', bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: true } },
  { name: 'endless 1xx', bytes: 'HTTP/1.1 103 Early Hints\r\n\r\n'.repeat(10), expect: { error: HTTP_ERR.parse } },
  { name: 'bare LF line ends', bytes: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', keepBody: true, expect: { status: 200, body: 'ok', reusable: true } },
  { name: 'status without reason', bytes: 'HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n', expect: { status: 503, reusable: true } },
  { name: 'obsolete line folding', bytes: 'HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n', expect: { status: 200, reusable: true, header: ['x-long', 'a b'] } },
  { name: 'garbage instead of a status line', bytes: 'SSH-2.0-OpenSSH_9.2\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'garbage, no line end yet', bytes: 'xyz', expect: { error: HTTP_ERR.parse } },
  { name: 'HTTP/2 status line', bytes: 'HTTP/2 200\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'non-numeric status', bytes: 'HTTP/1.1 2x0 OK\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'header line without a colon', bytes: 'HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'header name with a space', bytes: 'HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n', expect: { error: HTTP_ERR.parse } },
  { name: 'head over the limit', bytes: `HTTP/1.1 200 OK\r\nX-Big: ${big(17 * 1024)}\r\n\r\n`, expect: { error: HTTP_ERR.headTooLarge } },
  { name: 'head over the limit, never ending', bytes: `HTTP/1.1 200 OK\r\nX-Big: ${big(20 * 1024)}`, expect: { error: HTTP_ERR.headTooLarge } },
  { name: 'head just under the limit', bytes: `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ${big(16 * 1024 - 60)}\r\n\r\n`, expect: { status: 200, reusable: true } },
  { name: 'body over the limit: first bytes kept, reading stops', bytes: `HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n${big(1000, 'a')}${big(2000, 'b')}`, keepBody: true, limits: { maxBodyBytes: 1500 }, expect: { status: 200, body: big(1000, 'a') + big(500, 'b'), reusable: false, truncated: true } },
  { name: 'chunked body over the limit', bytes: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${big(1024)}\r\n400\r\n${big(1024)}\r\n0\r\n\r\n`, keepBody: true, limits: { maxBodyBytes: 1500 }, expect: { status: 200, body: big(1500), reusable: false, truncated: true } },
  { name: 'until-close body over the limit', bytes: `HTTP/1.0 200 OK\r\n\r\n${big(2000)}`, keepBody: true, limits: { maxBodyBytes: 1500 }, expect: { status: 200, body: big(1500), reusable: false, truncated: true } },
  { name: 'body exactly at the limit', bytes: `HTTP/1.1 200 OK\r\nContent-Length: 1500\r\n\r\n${big(1500)}`, keepBody: true, limits: { maxBodyBytes: 1500 }, expect: { status: 200, body: big(1500), reusable: true } },
  { name: 'closed mid-body', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello', eof: true, expect: { error: HTTP_ERR.closed } },
  { name: 'closed mid-head', bytes: 'HTTP/1.1 200 OK\r\nContent-', eof: true, expect: { error: HTTP_ERR.closed } },
  { name: 'closed before anything', bytes: '', eof: true, expect: { error: HTTP_ERR.closed } },
  { name: 'binary body', bytes: Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'), Buffer.from([0, 255, 13, 10])]), expect: { status: 200, bodyBytes: 4, reusable: true } }
]

function runCase (c: Case, segments: Buffer[]): ParseStep {
  const base = { method: c.method ?? 'GET', keepBody: c.keepBody ?? false }
  const p = createResponseParser(c.limits !== undefined ? { ...base, limits: c.limits } : base)
  let step: ParseStep = { kind: 'more' }
  for (const s of segments) {
    step = p.feed(s)
    if (step.kind !== 'more') return step
  }
  return c.eof === true ? p.end() : step
}

function check (c: Case, step: ParseStep, how: string): void {
  const e = c.expect
  const where = `${c.name} (${how})`
  if ('more' in e) { assert.equal(step.kind, 'more', `${where}: ${JSON.stringify(step)}`); return }
  if ('error' in e) {
    assert.equal(step.kind, 'error', `${where}: ${JSON.stringify(step)}`)
    if (step.kind === 'error') assert.equal(step.code, e.error, `${where}: ${step.message}`)
    return
  }
  assert.equal(step.kind, 'done', `${where}: ${JSON.stringify(step)}`)
  if (step.kind !== 'done') return
  const r = step.response
  assert.equal(r.status, e.status, where)
  assert.equal(r.reusable, e.reusable, `${where}: reusable`)
  assert.equal(r.truncated, e.truncated ?? false, `${where}: truncated`)
  if (e.body !== undefined) assert.equal(r.body?.toString('latin1'), e.body, `${where}: body`)
  if (e.bodyBytes !== undefined) assert.equal(r.bodyBytes, e.bodyBytes, `${where}: bodyBytes`)
  if (e.version !== undefined) assert.equal(r.httpVersion, e.version, where)
  if (e.header !== undefined) assert.equal(r.headers[e.header[0]], e.header[1], where)
}

function splitAt (buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = []
  let prev = 0
  for (const c of [...cuts, buf.length]) { out.push(buf.subarray(prev, c)); prev = c }
  return out
}

describe('monitor: HTTP/1.1 response parser (table)', () => {
  const seed = Number(process.env.HTTP_CLIENT_SEED ?? Date.now() % 1_000_000)
  before(() => { console.log(`    seed ${seed} (HTTP_CLIENT_SEED=${seed} to replay)`) })

  for (const c of CASES) {
    it(c.name, () => {
      const buf = typeof c.bytes === 'string' ? Buffer.from(c.bytes, 'latin1') : c.bytes
      check(c, runCase(c, [buf]), 'one segment')
      // Every byte its own TCP segment.
      check(c, runCase(c, splitAt(buf, Array.from({ length: Math.max(0, buf.length - 1) }, (_, i) => i + 1))), 'byte by byte')
      // Every single cut point, and random multi-way cuts.
      for (let i = 1; i < Math.min(buf.length, 300); i++) check(c, runCase(c, splitAt(buf, [i])), `cut at ${i}`)
      const random = seeded(seed ^ c.name.length)
      for (let k = 0; k < 20; k++) {
        const cuts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * buf.length)).sort((a, b) => a - b)
        check(c, runCase(c, splitAt(buf, cuts)), `cuts ${cuts.join(',')}`)
      }
    })
  }

  it('bytes after the response in the same segment: not reusable (later ones are the connection\'s to catch)', () => {
    const p = createResponseParser({ keepBody: true })
    const s = p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA'))
    assert.equal(s.kind, 'done')
    if (s.kind === 'done') { assert.equal(s.response.body?.toString(), 'ok'); assert.equal(s.response.reusable, false) }
  })

  it('input after the response is ignored; the step stays', () => {
    const p = createResponseParser({ keepBody: true })
    const s1 = p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))
    assert.equal(s1.kind, 'done')
    assert.equal(p.feed(Buffer.from('garbage')), s1)
    assert.equal(p.end(), s1)
  })

  it('bytesReceived tells a silent close from a partial answer', () => {
    const p = createResponseParser()
    assert.equal(p.bytesReceived, 0)
    p.feed(Buffer.from('HTTP/1.1 2'))
    assert.equal(p.bytesReceived, 10)
  })
})

describe('monitor: HTTP/1.1 client pure functions', () => {
  it('findHeadEnd: table', () => {
    const table: Array<[string, number]> = [
      ['HTTP/1.1 200 OK\r\n\r\n', 19],
      ['HTTP/1.1 200 OK\n\n', 17],
      ['HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody', 25],
      ['HTTP/1.1 200 OK\r\nA: b\r\n', -1],
      ['HTTP/1.1 200 OK\r\n\r', -1],
      ['', -1]
    ]
    for (const [s, want] of table) assert.equal(findHeadEnd(Buffer.from(s), 0, s.length), want, JSON.stringify(s))
  })

  it('parseResponseHead: table', () => {
    const ok = parseResponseHead('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n')
    assert.ok(ok.ok)
    if (ok.ok) {
      assert.deepEqual([ok.head.httpVersion, ok.head.status, ok.head.reason], ['1.1', 404, 'Not Found'])
      assert.equal(ok.head.headers['content-type'], 'text/plain')
      assert.equal(ok.head.headers['set-cookie'], 'a, b')
    }
    for (const bad of ['HTTP/1.1 20 OK', 'HTTP/1.2 200 OK', 'http/1.1 200 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200 OK\r\n: empty name', 'HTTP/1.1 200 OK\r\n folded-first']) {
      assert.equal(parseResponseHead(bad).ok, false, bad)
    }
  })

  it('bodyFraming: table', () => {
    const head = (version: '1.0' | '1.1', status: number, headers: Record<string, string>): Parameters<typeof bodyFraming>[0] => ({ httpVersion: version, status, reason: '', headers })
    const table: Array<[Parameters<typeof bodyFraming>[0], string, string, boolean | undefined]> = [
      [head('1.1', 200, { 'content-length': '5' }), 'GET', 'length', true],
      [head('1.1', 200, {}), 'GET', 'close', false],
      [head('1.1', 200, { 'transfer-encoding': 'chunked' }), 'GET', 'chunked', true],
      [head('1.1', 200, { 'content-length': '5' }), 'HEAD', 'none', true],
      [head('1.0', 200, { 'content-length': '5' }), 'GET', 'length', false],
      [head('1.0', 200, { 'content-length': '5', connection: 'Keep-Alive' }), 'GET', 'length', true],
      [head('1.1', 200, { 'content-length': '5', connection: 'close' }), 'GET', 'length', false],
      [head('1.1', 304, {}), 'GET', 'none', true],
      [head('1.1', 200, { 'content-length': 'x' }), 'GET', 'error', undefined]
    ]
    for (const [h, method, kind, keep] of table) {
      const f = bodyFraming(h, method)
      if ('error' in f) { assert.equal(kind, 'error'); continue }
      assert.equal(f.framing.kind, kind, JSON.stringify(h))
      assert.equal(f.keepAlive, keep, JSON.stringify(h))
    }
  })

  it('buildRequest: Host, path with query, keep-alive or close, basic auth, POST length', () => {
    const get = buildRequest(new URL('http://127.0.0.1:8080/health?deep=1'), 'GET', true).toString('latin1')
    assert.match(get, /^GET \/health\?deep=1 HTTP\/1\.1\r\n/)
    assert.match(get, /\r\nHost: 127\.0\.0\.1:8080\r\n/)
    assert.match(get, /\r\nConnection: keep-alive\r\n/)
    assert.ok(get.endsWith('\r\n\r\n'))
    const post = buildRequest(new URL('http://u%40x:p%3Aw@[::1]/'), 'POST', false).toString('latin1')
    assert.match(post, /^POST \/ HTTP\/1\.1\r\n/)
    assert.match(post, /\r\nHost: \[::1\]\r\n/)
    assert.match(post, /\r\nConnection: close\r\n/)
    assert.match(post, /\r\nContent-Length: 0\r\n/)
    assert.ok(post.includes(`Authorization: Basic ${Buffer.from('u@x:p:w').toString('base64')}`))
  })
})
