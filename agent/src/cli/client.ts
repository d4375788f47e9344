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
  /** Opens the SSE stream; calls `onEvent` per event until `signal` aborts. */
  stream: (onEvent: (type: string, data: unknown) => void, signal: AbortSignal) => Promise<void>
}

export const CLIENT_DEFAULTS = {
  /** A local agent answers in milliseconds; 5 s means it is stuck. */
  timeoutMs: 5000
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
    async stream (onEvent, signal) {
      let res: Response
      try {
        res = await fetch(base + '/api/events', { headers: { accept: 'text/event-stream' }, signal })
      } catch (err) {
        if (signal.aborted) return
        throw new AgentUnreachableError(`cannot reach the agent at ${base}`, { cause: err })
      }
      if (!res.ok || res.body === null) throw new ApiError(res.status, 'ERR_API', `event stream: HTTP ${res.status}`)
      const decoder = new TextDecoder()
      let buf = ''
      try {
        const reader = res.body.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buf += decoder.decode(value, { stream: true })
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
            if (data !== '') onEvent(type, (JSON.parse(data) as { data: unknown }).data)
          }
        }
      } catch (err) {
        if (!signal.aborted) throw err
      }
    }
  }
}
