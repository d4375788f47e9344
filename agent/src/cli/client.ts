// The CLI's view of a running agent: finds its API URL and token from the
// config file (api.listen, node.dataDir/api.token) or from flags/env.
import { existsSync } from 'node:fs'
import { loadConfig } from '../config/load.ts'
import { readToken } from '../datadir.ts'
import { AgentUnreachableError, ApiError, UsageError } from '../errors.ts'

export interface ClientOptions {
  config?: string
  api?: string
  token?: string
}

export interface Client {
  url: string
  get: <T>(path: string) => Promise<T>
  post: <T>(path: string, body?: unknown) => Promise<T>
  /**
   * Opens the SSE stream and calls `onEvent` per event until `signal` aborts (then resolves).
   * When the stream is lost (agent stopped or restarted, connection cut, silent for
   * `streamIdleMs`) it rejects with AgentUnreachableError, or with `reconnect` waits and
   * reconnects with a capped back-off until `signal` aborts.
   */
  stream: (onEvent: (type: string, data: unknown) => void, signal: AbortSignal, options?: StreamOptions) => Promise<void>
}

export interface StreamOptions {
  reconnect?: {
    /** Once per outage, when the stream is lost: why, e.g. `terminated: other side closed`. */
    onGone: (why: string) => void
    /** Each time the stream is back after an outage, before its first event (e.g. to catch up on what was missed); a throw counts as the agent being gone again. */
    onBack: () => Promise<void> | void
  }
}

export const CLIENT_DEFAULTS = {
  /** A local agent answers in milliseconds; 5 s means it is stuck. */
  timeoutMs: 5000,
  /** Reconnection back-off, doubling from min to max: a restarted agent is back within seconds, and a stopped one costs one attempt per 5 s. */
  reconnectMinMs: 500,
  reconnectMaxMs: 5000,
  /** The agent writes an SSE keep-alive every 15 s: three missed means the connection is dead (a host that lost power sends no FIN). */
  streamIdleMs: 45_000
}

/** Why a request or stream failed, in a few words: `ECONNREFUSED`, `terminated: other side closed`. */
function reasonOf (err: unknown): string {
  const e = err as { message?: string, cause?: { code?: string, message?: string } }
  if (e.cause?.code === 'ECONNREFUSED' || e.cause?.code === 'ECONNRESET') return e.cause.code
  return [e.message, e.cause?.message].filter((m) => m !== undefined && m !== '').join(': ') || String(err)
}

/** A lost stream or an unavailable agent is worth retrying; a refusal (bad token, no such route) is not. */
function retryable (err: unknown): boolean {
  return err instanceof AgentUnreachableError || (err instanceof ApiError && err.status >= 500)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Splits SSE text into complete events; returns them and the unfinished rest. */
function parseSse (buf: string): { events: Array<{ type: string, data: string }>, rest: string } {
  const events: Array<{ type: string, data: string }> = []
  let i: number
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, i)
    buf = buf.slice(i + 2)
    let type = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    if (data !== '') events.push({ type, data })
  }
  return { events, rest: buf }
}

export function defaultConfigPath (): string {
  return process.env.HOMEOSTAT_CONFIG ?? 'homeostat.yaml'
}

export function createClient (opts: ClientOptions): Client {
  let url = opts.api ?? process.env.HOMEOSTAT_API
  let token = opts.token ?? process.env.HOMEOSTAT_TOKEN
  let tokenError: Error | undefined
  if (url === undefined || token === undefined) {
    const file = opts.config ?? defaultConfigPath()
    if (opts.config === undefined && !existsSync(file) && url === undefined) {
      throw new UsageError(`no agent to talk to: ${file} not found. Pass --config FILE (or --api URL), or run \`homeostat init\` first`)
    }
    if (existsSync(file) || opts.config !== undefined) {
      const c = loadConfig(file)
      if (url === undefined) {
        const listen = c.config.api.listen
        const i = listen.lastIndexOf(':')
        let host = listen.slice(0, i)
        if (host === '0.0.0.0') host = '127.0.0.1'
        if (host === '[::]') host = '[::1]'
        url = `http://${host}:${listen.slice(i + 1)}`
      }
      if (token === undefined) {
        try { token = readToken(c.dataDir) } catch (err) { tokenError = err as Error }
      }
    }
  }
  const base = (url as string).replace(/\/$/, '')

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (method !== 'GET') {
      if (token === undefined) throw tokenError ?? new UsageError('this command changes state and needs the API token: pass --token, set HOMEOSTAT_TOKEN, or run it as a user who can read the agent\'s data dir')
      headers.authorization = `Bearer ${token}`
      headers['content-type'] = 'application/json'
    }
    let res: Response
    try {
      res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(CLIENT_DEFAULTS.timeoutMs) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      throw new AgentUnreachableError(`cannot reach the agent at ${base} (${cause}); is it running? (homeostat agent --config FILE)`, { cause: err })
    }
    const text = await res.text()
    let json: unknown
    try { json = JSON.parse(text) } catch { json = text }
    if (!res.ok) {
      const e = (json as { error?: { code?: string, message?: string } }).error
      throw new ApiError(res.status, e?.code ?? 'ERR_API', e?.message ?? `HTTP ${res.status}`)
    }
    return json as T
  }

  return {
    url: base,
    get: async (p) => await call('GET', p),
    post: async (p, b) => await call('POST', p, b ?? {}),
    async stream (onEvent, signal, options = {}) {
      const reconnect = options.reconnect
      let delay = CLIENT_DEFAULTS.reconnectMinMs
      let gone = false
      const opened = async () => {
        if (gone) await reconnect?.onBack()
        gone = false
        delay = CLIENT_DEFAULTS.reconnectMinMs
      }
      while (!signal.aborted) {
        try {
          await streamOnce(onEvent, signal, opened)
        } catch (err) {
          if (signal.aborted) return
          if (reconnect === undefined || !retryable(err)) throw err
          if (!gone) { gone = true; reconnect.onGone(err instanceof ApiError ? err.message : reasonOf((err as Error).cause ?? err)) }
          await sleep(delay, signal)
          delay = Math.min(delay * 2, CLIENT_DEFAULTS.reconnectMaxMs)
        }
      }
    }
  }

  /** One connection to /api/events: resolves when `signal` aborts, rejects with AgentUnreachableError when the stream ends or is lost. */
  async function streamOnce (onEvent: (type: string, data: unknown) => void, signal: AbortSignal, opened: () => Promise<void>): Promise<void> {
    const ac = new AbortController()
    const abort = () => ac.abort()
    signal.addEventListener('abort', abort, { once: true })
    let idle: NodeJS.Timeout | undefined
    let silent = false
    const watch = () => {
      clearTimeout(idle)
      idle = setTimeout(() => { silent = true; ac.abort() }, CLIENT_DEFAULTS.streamIdleMs)
    }
    const lost = (err: unknown, connected = true) => {
      const cause = silent ? new Error(`no data for ${CLIENT_DEFAULTS.streamIdleMs / 1000} s`) : err
      return new AgentUnreachableError(connected ? `lost the event stream of the agent at ${base} (${reasonOf(cause)})` : `cannot reach the agent at ${base} (${reasonOf(cause)}); is it running?`, { cause })
    }
    try {
      let res: Response
      try {
        watch()
        res = await fetch(base + '/api/events', { headers: { accept: 'text/event-stream' }, signal: ac.signal })
      } catch (err) {
        if (signal.aborted) return
        throw lost(err, false)
      }
      if (!res.ok || res.body === null) throw new ApiError(res.status, 'ERR_API', `event stream: HTTP ${res.status}`)
      await opened()
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      let buf = ''
      for (;;) {
        watch()
        let chunk: ReadableStreamReadResult<Uint8Array>
        try { chunk = await reader.read() } catch (err) {
          if (signal.aborted) return
          throw lost(err)
        }
        if (chunk.done) throw lost(new Error('the agent ended the stream'))
        const parsed = parseSse(buf + decoder.decode(chunk.value, { stream: true }))
        buf = parsed.rest
        for (const e of parsed.events) {
          let data: unknown
          try { data = (JSON.parse(e.data) as { data: unknown }).data } catch { continue /* a torn or foreign event is not ours to act on */ }
          onEvent(e.type, data)
        }
      }
    } finally {
      clearTimeout(idle)
      signal.removeEventListener('abort', abort)
      ac.abort() // closes the connection whichever way this ended (onBack may have thrown)
    }
  }
}
