// The local HTTP API (node:http). Reads are open on the listen address
// (loopback by default); everything that changes state needs
// `Authorization: Bearer <token>` with the token from the data dir, else 401
// and nothing changes. Live events are Server-Sent Events.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import type { Logger } from 'pino'
import type { IncidentBook } from '../state/incidents.ts'
import type { ApprovalQueue } from '../state/approvals.ts'
import type { EventBus, AgentEvent } from '../state/events.ts'
import type { Providers } from '../state/providers.ts'
import type { AgentMetrics } from '../metrics.ts'
import type { Report } from '../state/report.ts'
import { ApprovalError, ComponentActionError } from '../errors.ts'
import type { ComponentActionResult, ComponentVerb } from '../loops/contract.ts'
import { serveStatic } from './static.ts'

export interface ApiContext {
  token: () => string
  providers: Providers
  incidents: IncidentBook
  approvals: ApprovalQueue
  events: EventBus
  metrics: AgentMetrics
  logger: Logger
  status: () => Record<string, unknown>
  ready: () => { ready: boolean, waiting: string[] }
  report: () => Report
  healthHistory: () => Array<{ atMs: number, node: string, health: number }>
  reload: () => Promise<{ ok: boolean, error?: string }>
  /** Lifts a component's quarantine (throws ComponentActionError). */
  /** An operator's verb on a component: release (a quarantine), start, restart. */
  componentAction: (name: string, verb: ComponentVerb, by: string) => Promise<ComponentActionResult>
  /** Serve the dashboard at / . */
  dashboard: boolean
}

export const API_DEFAULTS = {
  /** Request bodies are tiny (an approval note); 16 KiB caps a hostile client. */
  maxBodyBytes: 16 * 1024,
  /** SSE keep-alive comment period: proxies and browsers drop idle streams after ~30–60 s. */
  sseHeartbeatMs: 15_000,
  /** Hard cap on `?limit=`. */
  maxLimit: 1000,
  /** Requests slower than this are cut (a slow-loris client must not hold sockets). */
  requestTimeoutMs: 10_000
}

function send (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers
  })
  res.end(text)
}

function error (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { error: { code, message } }, headers)
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > API_DEFAULTS.maxBodyBytes) throw Object.assign(new Error(`body over ${API_DEFAULTS.maxBodyBytes} bytes`), { status: 413, code: 'ERR_TOO_LARGE' })
    chunks.push(c as Buffer)
  }
  if (size === 0) return {}
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
    throw Object.assign(new Error('body is not JSON'), { status: 400, code: 'ERR_BAD_REQUEST' })
  }
}

function tokenOk (req: IncomingMessage, expected: string): boolean {
  const h = req.headers.authorization
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false
  const got = Buffer.from(h.slice(7).trim())
  const exp = Buffer.from(expected)
  return got.length === exp.length && timingSafeEqual(got, exp)
}

/**
 * DNS-rebinding guard: a page on evil.example that resolves to 127.0.0.1 must
 * not read the API. Accept Host headers that are IP literals, localhost, or
 * the configured host name.
 */
function hostOk (req: IncomingMessage, allowedHost: string): boolean {
  const h = req.headers.host
  if (h === undefined) return true
  const host = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.split(':')[0]
  return isIP(host) !== 0 || host === 'localhost' || host === allowedHost
}

const intParam = (v: string | null, dflt: number, max: number): number => {
  if (v === null) return dflt
  const n = Number.parseInt(v, 10)
  return Number.isFinite(n) && n > 0 ? Math.min(n, max) : dflt
}

export interface ApiServer {
  listen: (host: string, port: number) => Promise<{ host: string, port: number, url: string }>
  close: () => Promise<void>
  readonly server: Server
}

export function createApiServer (ctx: ApiContext): ApiServer {
  const sseClients = new Set<ServerResponse>()
  let allowedHost = 'localhost'

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    const method = req.method ?? 'GET'
    if (!hostOk(req, allowedHost)) { error(res, 403, 'ERR_HOST', 'Host header not allowed'); return 'host' }

    const mutating = method !== 'GET' && method !== 'HEAD'
    if (mutating && !tokenOk(req, ctx.token())) {
      error(res, 401, 'ERR_UNAUTHORIZED', 'a bearer token is required (the api.token file in the agent\'s data dir)', { 'www-authenticate': 'Bearer realm="homeostat"' })
      return 'unauthorized'
    }

    if (path === '/healthz') { send(res, 200, 'ok\n'); return '/healthz' }
    if (path === '/readyz') {
      const r = ctx.ready()
      if (r.ready) send(res, 200, 'ready\n')
      else send(res, 503, `not ready: waiting for ${r.waiting.join(', ')}\n`)
      return '/readyz'
    }
    if (path === '/metrics') {
      const text = await ctx.metrics.registry.metrics()
      send(res, 200, text, { 'content-type': ctx.metrics.registry.contentType })
      return '/metrics'
    }
    if (path === '/api/events' && method === 'GET') { openSse(req, res, url); return '/api/events' }

    if (path.startsWith('/api/')) {
      const parts = path.split('/').filter((p) => p !== '').slice(1)
      const [a, b, c] = parts
      if (method === 'GET') {
        if (a === 'status' && b === undefined) { send(res, 200, ctx.status()); return '/api/status' }
        if (a === 'incidents' && b === undefined) {
          const status = url.searchParams.get('status') ?? undefined
          const q = {
            limit: intParam(url.searchParams.get('limit'), 100, API_DEFAULTS.maxLimit),
            status: status as never,
            node: url.searchParams.get('node') ?? undefined,
            component: url.searchParams.get('component') ?? undefined,
            sinceMs: url.searchParams.has('sinceMs') ? Number(url.searchParams.get('sinceMs')) : undefined
          }
          send(res, 200, { incidents: ctx.incidents.list(q) })
          return '/api/incidents'
        }
        if (a === 'incidents' && b !== undefined && c === undefined) {
          const inc = ctx.incidents.get(decodeURIComponent(b))
          if (inc === undefined) error(res, 404, 'ERR_NOT_FOUND', `no incident ${b}`)
          else send(res, 200, inc)
          return '/api/incidents/:id'
        }
        if (a === 'interventions') { send(res, 200, { interventions: ctx.providers.interventions() }); return '/api/interventions' }
        if (a === 'approvals' && b === undefined) {
          const state = url.searchParams.get('state') ?? undefined
          send(res, 200, { approvals: ctx.approvals.list({ state: state as never }) })
          return '/api/approvals'
        }
        if (a === 'peers') { send(res, 200, { peers: ctx.providers.peers() }); return '/api/peers' }
        if (a === 'components') { send(res, 200, { components: ctx.providers.components() }); return '/api/components' }
        if (a === 'observations' && b === undefined) {
          const limit = intParam(url.searchParams.get('limit'), 100, API_DEFAULTS.maxLimit)
          send(res, 200, { observations: ctx.providers.observations().slice(-limit).reverse() })
          return '/api/observations'
        }
        if (a === 'policy') { send(res, 200, ctx.providers.policy()); return '/api/policy' }
        if (a === 'budget') { send(res, 200, ctx.providers.budget()); return '/api/budget' }
        if (a === 'reputation') { send(res, 200, ctx.providers.reputation()); return '/api/reputation' }
        if (a === 'federated') { send(res, 200, ctx.providers.federated()); return '/api/federated' }
        if (a === 'report') { send(res, 200, ctx.report()); return '/api/report' }
        if (a === 'health') { send(res, 200, { series: ctx.healthHistory() }); return '/api/health' }
      }
      if (method === 'POST') {
        if (a === 'approvals' && b !== undefined && (c === 'approve' || c === 'deny')) {
          const body = await readBody(req) as { note?: unknown, by?: unknown }
          const note = typeof body.note === 'string' ? body.note.slice(0, 500) : undefined
          const by = typeof body.by === 'string' ? body.by.slice(0, 64) : 'api'
          try {
            const r = ctx.approvals.decide(decodeURIComponent(b), c === 'approve' ? 'approved' : 'denied', by, note)
            ctx.logger.info({ approval: r.id, decision: r.state, by }, 'approval decided')
            send(res, 200, r)
          } catch (err) {
            if (err instanceof ApprovalError) error(res, err.code === 'ERR_NO_SUCH_APPROVAL' ? 404 : 409, err.code, err.message)
            else throw err
          }
          return '/api/approvals/:id/' + c
        }
        if (a === 'components' && b !== undefined && (c === 'release' || c === 'start' || c === 'restart') && parts.length === 3) {
          const body = await readBody(req) as { by?: unknown }
          const by = typeof body.by === 'string' ? body.by.slice(0, 64) : 'api'
          try {
            const r = await ctx.componentAction(decodeURIComponent(b), c, by)
            send(res, 200, r)
          } catch (err) {
            if (err instanceof ComponentActionError) error(res, err.code === 'ERR_NO_SUCH_COMPONENT' ? 404 : err.code === 'ERR_NOT_READY' ? 503 : 409, err.code, err.message)
            else throw err
          }
          return '/api/components/:name/' + c
        }
        if (a === 'reload' && b === undefined) {
          const r = await ctx.reload()
          if (r.ok) send(res, 200, { ok: true })
          else error(res, 422, 'ERR_CONFIG', r.error ?? 'reload failed')
          return '/api/reload'
        }
      }
      if (mutating || method === 'GET') {
        error(res, 404, 'ERR_NOT_FOUND', `no route ${method} ${path}`)
        return 'notfound'
      }
    }
    if (ctx.dashboard && (method === 'GET' || method === 'HEAD')) {
      if (await serveStatic(path, res)) return 'static'
    }
    error(res, 404, 'ERR_NOT_FOUND', `no route ${method} ${path}`)
    return 'notfound'
  }

  const openSse = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    let unsubscribe: (() => void) | undefined
    const writeEvent = (e: AgentEvent) => { res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`) }
    try {
      unsubscribe = ctx.events.subscribe(writeEvent)
    } catch (err) {
      error(res, 503, (err as { code?: string }).code ?? 'ERR_BUSY', (err as Error).message)
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write('retry: 2000\n\n')
    const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('since') ?? 'NaN')
    if (Number.isFinite(last)) for (const e of ctx.events.since(last)) writeEvent(e)
    sseClients.add(res)
    ctx.metrics.sseClients.set(sseClients.size)
    const hb = setInterval(() => res.write(': keep-alive\n\n'), API_DEFAULTS.sseHeartbeatMs)
    hb.unref()
    const done = () => {
      clearInterval(hb)
      unsubscribe?.()
      sseClients.delete(res)
      ctx.metrics.sseClients.set(sseClients.size)
    }
    req.on('close', done)
  }

  const server = createServer((req, res) => {
    const started = Date.now()
    handle(req, res).then((route) => {
      if (route !== '/api/events') ctx.metrics.apiRequests.inc({ route, code: String(res.statusCode) })
      ctx.logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }, 'api')
    }, (err: Error & { status?: number, code?: string }) => {
      const status = err.status ?? 500
      if (status >= 500) ctx.logger.error({ err, url: req.url }, 'api handler failed')
      ctx.metrics.apiRequests.inc({ route: 'error', code: String(status) })
      if (status < 500) ctx.metrics.invalidInput.inc({ source: 'api' })
      if (!res.headersSent) error(res, status, err.code ?? 'ERR_INTERNAL', status >= 500 ? 'internal error (see the agent log)' : err.message)
      else res.end()
    })
  })
  server.requestTimeout = API_DEFAULTS.requestTimeoutMs
  server.headersTimeout = API_DEFAULTS.requestTimeoutMs

  return {
    server,
    async listen (host, port) {
      allowedHost = host
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      const addr = server.address()
      const p = typeof addr === 'object' && addr !== null ? addr.port : port
      const h = host.includes(':') ? `[${host}]` : host
      return { host, port: p, url: `http://${h}:${p}` }
    },
    async close () {
      for (const r of sseClients) r.end()
      sseClients.clear()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}
