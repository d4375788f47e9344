// The raw-socket HTTP client and the probe against real servers on 127.0.0.1:
// node:http servers for the well-behaved cases, raw net servers for the
// malformed, hostile and racy ones. No mocks.
import { strict as assert } from 'node:assert'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { httpProbe, createHttpConnection, HTTP_ERR, type HttpConnection } from '../src/index.ts'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface Served { url: string, port: number, connections: () => number, close: () => Promise<void> }

async function listen (server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

async function httpServer (handler: http.RequestListener, port = 0): Promise<Served> {
  const s = http.createServer(handler)
  let n = 0
  s.on('connection', () => { n++ })
  const p = await listen(s, port)
  return {
    url: `http://127.0.0.1:${p}/health`,
    port: p,
    connections: () => n,
    close: async () => { s.closeAllConnections(); await new Promise<void>((resolve) => s.close(() => resolve())) }
  }
}

/** A raw TCP server: `onRequest(socket, requestIndexOnThisConnection)` is called for each request head received. */
async function rawServer (onRequest: (sock: net.Socket, index: number) => void, port = 0): Promise<Served> {
  const sockets = new Set<net.Socket>()
  let n = 0
  const s = net.createServer((sock) => {
    n++
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    let buf = ''
    let index = 0
    sock.on('data', (d) => {
      buf += d.toString('latin1')
      let i
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) { buf = buf.slice(i + 4); onRequest(sock, index++) }
    })
  })
  const p = await listen(s, port)
  return {
    url: `http://127.0.0.1:${p}/health`,
    port: p,
    connections: () => n,
    close: async () => { for (const x of sockets) x.destroy(); await new Promise<void>((resolve) => s.close(() => resolve())) }
  }
}

describe('monitor: HTTP probe over the raw-socket client (real servers)', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })
  const conn = (o?: Parameters<typeof createHttpConnection>[0]): HttpConnection => { const c = createHttpConnection(o); cleanup.push(() => c.close()); return c }
  const served = <T extends Served>(s: T): T => { cleanup.push(s.close); return s }

  it('reuses one connection between probes; a server restart is not a failure', async () => {
    let server = served(await httpServer((_q, r) => r.end('ok')))
    const connection = conn()
    for (let i = 0; i < 5; i++) assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    assert.equal(server.connections(), 1)
    assert.equal(connection.stats().reused, 4)
    // Restart the server: the kept socket dies; the next probe must still pass.
    await server.close()
    server = served(await httpServer((_q, r) => r.end('ok'), server.port))
    const r = await httpProbe({ url: server.url, timeoutMs: 1000, connection })
    assert.equal(r.status, 'ok', r.detail)
  })

  it('a kept socket the server closes as the request arrives is retried once on a fresh connection, not reported', async () => {
    // The race behind a stale keep-alive socket: the server drops the idle connection just as the probe writes.
    const server = served(await rawServer((sock, index) => {
      if (index === 0) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      else sock.destroy()
    }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    const r = await httpProbe({ url: server.url, timeoutMs: 1000, connection })
    assert.equal(r.status, 'ok', r.detail)
    assert.equal(connection.stats().staleRetries, 1)
    assert.equal(server.connections(), 2)
  })

  it('a server that drops every request fails after one retry (no retry loop)', async () => {
    let drop = false
    const server = served(await rawServer((sock) => { if (drop) sock.destroy(); else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    drop = true
    const r = await httpProbe({ url: server.url, timeoutMs: 1000, connection })
    assert.equal(r.status, 'fail')
    assert.ok(r.detail.startsWith(HTTP_ERR.closed) || r.detail.startsWith('ECONNRESET'), r.detail)
    assert.equal(connection.stats().staleRetries, 1)
    assert.equal(server.connections(), 2)
  })

  it('an idle socket the server closed is not used again (no failed write, no retry)', async () => {
    // As a keep-alive timeout does: the server ends the connection 30 ms after answering.
    const server = served(await rawServer((sock) => { sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'); setTimeout(() => sock.end(), 30) }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    await sleep(100)
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    assert.equal(connection.stats().staleRetries, 0)
    assert.equal(server.connections(), 2)
  })

  it('an idle socket older than maxIdleReuseMs is replaced before use', async () => {
    const server = served(await httpServer((_q, r) => r.end('ok')))
    const connection = conn({ maxIdleReuseMs: 30 })
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    await sleep(60)
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    assert.equal(server.connections(), 2)
    assert.equal(connection.stats().staleRetries, 0)
  })

  it('fresh: true replaces the kept socket (a server that stops accepting is still caught)', async () => {
    const server = served(await httpServer((_q, r) => r.end('ok')))
    const connection = conn()
    for (let i = 0; i < 4; i++) assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection, fresh: i === 2 })).status, 'ok')
    assert.equal(server.connections(), 2)
  })

  it('a server that accepts and never answers fails by timeout, kept socket or not', async () => {
    let hang = false
    const server = served(await httpServer((_q, r) => { if (!hang) r.end('ok') }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 500, connection })).status, 'ok')
    hang = true
    const t0 = performance.now()
    const r = await httpProbe({ url: server.url, timeoutMs: 150, connection })
    assert.equal(r.status, 'fail')
    assert.match(r.detail, /^timeout\b/)
    assert.ok(performance.now() - t0 < 600)
    const one = await httpProbe({ url: server.url, timeoutMs: 150 })
    assert.match(one.detail, /^timeout\b/)
    assert.equal(connection.stats().staleRetries, 0)
  })

  it('a response split across many TCP segments (chunked, slow) is assembled', async () => {
    const body = 'model ready '.repeat(40)
    const chunks = body.match(/.{1,37}/g)!
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
      chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n'
    const server = served(await rawServer((sock) => {
      void (async () => {
        for (let i = 0; i < wire.length; i += 7) {
          sock.write(wire.slice(i, i + 7))
          if (i % 70 === 0) await sleep(1) // separate segments, not one coalesced write
        }
      })()
    }))
    const connection = conn()
    for (let k = 0; k < 2; k++) {
      const r = await httpProbe({ url: server.url, timeoutMs: 3000, bodyMatch: 'ready $', connection })
      assert.equal(r.status, 'ok', r.detail)
    }
    assert.equal(server.connections(), 1)
  })

  it('a server that closes mid-response fails (ERR_HTTP_CLOSED)', async () => {
    const server = served(await rawServer((sock) => { sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial') }))
    const r = await httpProbe({ url: server.url, timeoutMs: 1000, connection: conn() })
    assert.equal(r.status, 'fail')
    assert.ok(r.detail.startsWith(HTTP_ERR.closed), r.detail)
  })

  it('a garbage status line fails at once (ERR_HTTP_PARSE), not at the deadline', async () => {
    const server = served(await rawServer((sock) => { sock.write('SSH-2.0-OpenSSH_9.2\r\n') }))
    const t0 = performance.now()
    const r = await httpProbe({ url: server.url, timeoutMs: 2000, connection: conn() })
    assert.equal(r.status, 'fail')
    assert.ok(r.detail.startsWith(HTTP_ERR.parse), r.detail)
    assert.ok(performance.now() - t0 < 1000)
  })

  it('oversized headers fail (ERR_HTTP_HEAD_TOO_LARGE); an oversized body is judged on its first 64 KiB', async () => {
    const hugeHead = served(await rawServer((sock) => { sock.write(`HTTP/1.1 200 OK\r\nX-Junk: ${'j'.repeat(40_000)}\r\n\r\n`) }))
    const h = await httpProbe({ url: hugeHead.url, timeoutMs: 2000, connection: conn() })
    assert.equal(h.status, 'fail')
    assert.ok(h.detail.startsWith(HTTP_ERR.headTooLarge), h.detail)

    // 10 MB announced, streamed: the probe reads 64 KiB, decides, and closes.
    let written = 0
    const hugeBody = served(await httpServer((_q, r) => {
      r.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
      r.write('status: ready\n')
      const pump = (): void => { while (written < 10 * 1024 * 1024 && r.write(Buffer.alloc(16 * 1024, 'x'))) written += 16 * 1024; if (written < 10 * 1024 * 1024 && !r.destroyed) r.once('drain', pump) }
      r.on('error', () => {})
      pump()
    }))
    const connection = conn()
    const ok = await httpProbe({ url: hugeBody.url, timeoutMs: 2000, bodyMatch: 'status: ready', connection })
    assert.equal(ok.status, 'ok', ok.detail)
    const tail = await httpProbe({ url: hugeBody.url, timeoutMs: 2000, bodyMatch: 'never there' })
    assert.equal(tail.status, 'fail')
    assert.match(tail.detail, /body does not match .*first 65536 bytes/)
    assert.ok(written < 10 * 1024 * 1024, 'the probe did not read the whole body')
  })

  it('HTTP/1.0 responses: length-delimited and until close', async () => {
    const server = served(await rawServer((sock, i) => {
      if (i === 0) sock.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nready (close-delimited)')
      else sock.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nready')
    }))
    const connection = conn()
    const a = await httpProbe({ url: server.url, timeoutMs: 1000, bodyMatch: 'close-delimited', connection })
    assert.equal(a.status, 'ok', a.detail)
    const b = await httpProbe({ url: server.url, timeoutMs: 1000, bodyMatch: 'ready', connection })
    assert.equal(b.status, 'ok', b.detail)
    assert.equal(connection.stats().staleRetries, 0)
  })

  it('Connection: close from the server: the next probe opens a new connection and passes', async () => {
    const server = served(await httpServer((_q, r) => { r.setHeader('connection', 'close'); r.end('ok') }))
    const connection = conn()
    for (let i = 0; i < 3; i++) assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    assert.equal(server.connections(), 3)
    assert.equal(connection.stats().staleRetries, 0)
  })

  it('bytes a server sends after its response (same segment or while idle) retire the connection', async () => {
    const server = served(await rawServer((sock) => {
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      setImmediate(() => { if (!sock.destroyed) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') })
    }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, timeoutMs: 1000, connection })).status, 'ok')
    await sleep(80)
    const r = await httpProbe({ url: server.url, timeoutMs: 1000, bodyMatch: '^ok$', connection })
    assert.equal(r.status, 'ok', r.detail)
    assert.equal(server.connections(), 2)
  })

  it('concurrent probes on one connection: the second gets its own socket, both pass', async () => {
    const server = served(await httpServer((_q, r) => { setTimeout(() => r.end('ok'), 30) }))
    const connection = conn()
    const [a, b] = await Promise.all([
      httpProbe({ url: server.url, timeoutMs: 1000, connection }),
      httpProbe({ url: server.url, timeoutMs: 1000, connection })
    ])
    assert.equal(a.status, 'ok', a.detail)
    assert.equal(b.status, 'ok', b.detail)
    assert.equal(connection.stats().concurrent, 1)
  })

  it('refused: fails with the errno code; HEAD and POST; status and body rules as before', async () => {
    const gone = served(await httpServer((_q, r) => r.end()))
    const port = gone.port
    await gone.close()
    const refused = await httpProbe({ url: `http://127.0.0.1:${port}/`, timeoutMs: 500, connection: conn() })
    assert.equal(refused.status, 'fail')
    assert.match(refused.detail, /^ECONNREFUSED/)

    const seen: string[] = []
    const server = served(await httpServer((q, r) => { seen.push(`${q.method ?? ''} ${q.url ?? ''} ${q.headers.host ?? ''}`); r.statusCode = q.url === '/503' ? 503 : 200; r.end('ready') }))
    const connection = conn()
    assert.equal((await httpProbe({ url: server.url, method: 'HEAD', timeoutMs: 1000, connection })).status, 'ok')
    assert.equal((await httpProbe({ url: server.url + '?x=1', method: 'POST', timeoutMs: 1000, bodyMatch: 'ready', connection })).status, 'ok')
    const bad = await httpProbe({ url: `http://127.0.0.1:${server.port}/503`, timeoutMs: 1000, connection })
    assert.equal(bad.detail, 'HTTP 503 not accepted')
    assert.equal((await httpProbe({ url: `http://127.0.0.1:${server.port}/503`, timeoutMs: 1000, expectStatus: 503, connection })).status, 'ok')
    assert.deepEqual(seen.slice(0, 2), [`HEAD /health 127.0.0.1:${server.port}`, `POST /health?x=1 127.0.0.1:${server.port}`])
    assert.equal(server.connections(), 1)
    assert.equal((await httpProbe({ url: 'not a url', timeoutMs: 100 })).status, 'error')
  })
})
