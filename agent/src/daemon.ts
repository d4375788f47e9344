// The agent daemon: composes loops (micro, meso, macro, …), each with
// start/stop/reload, around shared state (incident book, approvals, events,
// metrics) and serves the local API. Nothing here knows how a loop heals: the
// loops register providers the API reads from.
import { availableParallelism, hostname } from 'node:os'
import type { Logger } from 'pino'
import { createHlc, type Hlc } from '@homeostat/hlc'
import { openStore, StoreError, type Store } from '@homeostat/store'
import { join } from 'node:path'
import { every, realTimers, type Incident, type Timers } from '@homeostat/interface'
import { loadConfig, type LoadedConfig } from './config/load.ts'
import { ComponentActionError, ConfigError } from './errors.ts'
import { acquirePidFile, ensureDataDir, ensureToken } from './datadir.ts'
import { createEventBus, type EventBus } from './state/events.ts'
import { createIncidentBook, type IncidentBook } from './state/incidents.ts'
import { createApprovalQueue, type ApprovalQueue } from './state/approvals.ts'
import { computeReport, type Report } from './state/report.ts'
import type { ComponentView, PeerView, Providers } from './state/providers.ts'
import { mergeProvides, type AgentLoop, type LoopContext, type LoopFactory, type LoopProvides } from './loops/contract.ts'
import { createAgentMetrics, type AgentMetrics } from './metrics.ts'
import { createApiServer, type ApiServer } from './api/server.ts'
import { createLogger } from './logger.ts'
import { VERSION } from './version.ts'

export type { AgentLoop, LoopContext, LoopFactory, LoopProvides, ComponentVerb, ComponentActionResult } from './loops/contract.ts'

export interface AgentOptions {
  config: LoadedConfig
  /** --role overrides node.role. */
  role?: 'edge' | 'cloud'
  logger?: Logger
  now?: () => number
  /** Timers for the agent and every loop (default: Node's, unref'd); a test passes simulated ones with `now`. */
  timers?: Timers
  /** Loops to compose, in start order (stopped in reverse). */
  loops?: LoopFactory[]
  /** Skip the pid file (tests running several agents on one data dir never do this; the demo doesn't either). */
  pidFile?: boolean
  /** Override api.listen (e.g. port 0 in tests). */
  listen?: string
}

export interface Agent {
  readonly nodeName: string
  readonly role: 'edge' | 'cloud'
  start: () => Promise<{ apiUrl: string }>
  /** Graceful stop: loops in reverse order, each bounded; resolves within `budgetMs`. */
  stop: (budgetMs?: number) => Promise<void>
  /** Re-reads the config file; on any error keeps the old config and returns why. */
  reload: () => Promise<{ ok: boolean, error?: string }>
  readonly context: LoopContext
  /** What the started loops answer for (the API's views), merged. */
  readonly providers: Providers
  readonly apiUrl: string | undefined
  readonly token: string
  report: () => Report
}

export const AGENT_DEFAULTS = {
  /** SIGTERM → exit within 5 s (systemd's default stop timeout is 90 s; operators expect seconds). */
  stopBudgetMs: 5000,
  /** Health samples for the "health over time" plot: every 5 s, kept 1 h. */
  healthSampleMs: 5000,
  healthSamplesKept: 720,
  /** Nodes whose health history is kept (the cloud peer sees the fleet). */
  healthNodesMax: 256
}

function componentHealth (cs: ComponentView[]): number {
  if (cs.length === 0) return 1
  const score = cs.reduce((a, c) => a + (c.health === 'ok' ? 1 : c.health === 'degraded' ? 0.5 : c.health === 'unknown' ? 0.75 : 0), 0)
  return Math.round((score / cs.length) * 1000) / 1000
}

export async function createAgent (opts: AgentOptions): Promise<Agent> {
  let current = opts.config
  const role = opts.role ?? current.config.node.role
  const nodeName = current.nodeName
  const now = opts.now ?? Date.now
  const timers = opts.timers ?? realTimers
  const logger = opts.logger ?? createLogger({ level: current.config.log.level, node: nodeName })
  for (const w of ensureDataDir(current.dataDir)) logger.warn(w)
  const releasePid = opts.pidFile === false ? () => {} : acquirePidFile(current.dataDir)
  const token = ensureToken(current.dataDir)
  const events = createEventBus({ now })
  const metrics = createAgentMetrics({ node: nodeName, role, version: VERSION })
  // Works from memory until start() attaches it to the store (the store opens there).
  const incidents = createIncidentBook({
    events,
    onReject: (why) => { metrics.invalidInput.inc({ source: 'incident' }); logger.warn({ why }, 'rejected an invalid incident record') },
    onStoreError: (err) => logger.warn({ err: err.message }, 'writing the incident book failed (retried)')
  })
  events.subscribe((e) => {
    if (e.type === 'incident') {
      const d = e.data as { origin: 'local' | 'remote', incident: Incident }
      metrics.observeIncident(d.incident, d.origin)
    }
    if (e.type === 'approval') metrics.approvalsPending.set(approvals.list({ state: 'pending' }).length)
  })
  const approvals = createApprovalQueue({ events, now, timeoutMs: current.config.policy.approvalTimeoutMs })
  const hlc = createHlc({ nodeId: nodeName, now })
  const startedAtMs = now()

  const health = new Map<string, Array<{ atMs: number, health: number }>>()
  const recordHealth = (node: string, h: number, atMs = now()) => {
    let s = health.get(node)
    if (s === undefined) {
      if (health.size >= AGENT_DEFAULTS.healthNodesMax) return
      s = []
      health.set(node, s)
    }
    const last = s[s.length - 1]
    if (last !== undefined && atMs - last.atMs < AGENT_DEFAULTS.healthSampleMs / 2) { last.health = h; return }
    s.push({ atMs, health: h })
    if (s.length > AGENT_DEFAULTS.healthSamplesKept) s.shift()
  }

  /** What answers when no loop does: honest "nothing known". Loops' providers (merged at start) replace these. */
  const fallback: Providers = {
    components: () => [],
    observations: () => [],
    peers: () => [],
    interventions: () => [],
    budget: () => ({ available: false }),
    policy: () => ({
      kind: 'none',
      source: 'no recovery policy loaded (the micro loop is not running)',
      approvalRiskThreshold: current.config.policy.approvalRiskThreshold,
      budgetMode: current.config.policy.budgetMode,
      budgetFraction: current.config.policy.budgetFraction
    }),
    reputation: () => ({ available: false, peers: [] }),
    federated: () => ({ available: false, nodes: [] })
  }
  /** The started loops' providers, status sections and component verbs (loops/contract.ts mergeProvides). */
  let merged: ReturnType<typeof mergeProvides> = { providers: {}, status: {} }
  const providers = new Proxy({} as Providers, { get: (_t, k: keyof Providers) => merged.providers[k] ?? fallback[k] })
  let apiUrl: string | undefined
  let store: Store | undefined
  /** Opens `<dataDir>/db`. A corrupt database is moved aside and replaced by an empty one (the
   * coordination state comes back from peers): the agent keeps running, and says so. */
  const openAgentStore = async (): Promise<Store> => {
    const path = join(current.dataDir, 'db')
    try {
      return await openStore({ path, hlc })
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'STORE_CORRUPT') throw err
      metrics.invalidInput.inc({ source: 'store' })
      logger.error({ path, err: err.message }, 'the agent store is corrupt: moving it aside and starting with an empty one')
      return await openStore({ path, hlc, onCorrupt: 'move-aside' })
    }
  }

  const ctx: LoopContext = {
    nodeName,
    role,
    config: () => current,
    logger,
    hlc,
    now,
    timers,
    store: () => {
      if (store === undefined) throw new StoreError('STORE_CLOSED', 'the agent store is not open (the agent is not running)')
      return store
    },
    events,
    incidents,
    approvals,
    metrics,
    recordHealth,
    apiUrl: () => apiUrl,
  }
  /** Each started loop's `provides()`, in start order. */
  const provided: Array<{ name: string, provides?: LoopProvides }> = []
  const collect = (l: AgentLoop): void => {
    provided.push({ name: l.name, provides: l.provides?.() })
    merged = mergeProvides(provided)
  }

  const loops: AgentLoop[] = []
  const running = new Set<string>()

  const selfPeer = (): PeerView => {
    const comps = providers.components()
    return {
      peer: nodeName,
      name: nodeName,
      role,
      state: 'self',
      health: componentHealth(comps),
      components: comps,
      apiUrl,
      lastSeenMs: now(),
      incidentsOpen: incidents.list({ node: nodeName }).filter((i) => i.status === 'open' || i.status === 'recovering').length
    }
  }

  const status = (): Record<string, unknown> => {
    const comps = providers.components()
    const mem = process.memoryUsage()
    return {
      node: nodeName,
      role,
      version: VERSION,
      pid: process.pid,
      host: hostname(),
      startedAtMs,
      uptimeS: Math.round((now() - startedAtMs) / 1000),
      configFile: current.file,
      dataDir: current.dataDir,
      apiUrl,
      loops: loops.map((l) => ({ name: l.name, running: running.has(l.name), ready: l.ready?.() ?? running.has(l.name) })),
      health: componentHealth(comps),
      components: comps,
      incidents: {
        total: incidents.size,
        open: incidents.list().filter((i) => i.status === 'open' || i.status === 'recovering').length
      },
      approvalsPending: approvals.list({ state: 'pending' }).length,
      peers: providers.peers().filter((p) => p.state !== 'self').length,
      rssMb: Math.round(mem.rss / 1048576),
      ...Object.fromEntries(Object.entries(merged.status).map(([k, f]) => [k, f()]))
    }
  }

  let lastCpu = process.cpuUsage()
  let lastCpuAt = now()
  let cpuPct = 0
  const sampleCpu = () => {
    const c = process.cpuUsage()
    const dt = now() - lastCpuAt
    if (dt > 0) cpuPct = ((c.user - lastCpu.user + c.system - lastCpu.system) / 1000) / dt * 100
    lastCpu = c
    lastCpuAt = now()
  }
  // The cloud peer reports on the fleet (every incident it has received); an edge on itself.
  const report = (): Report => computeReport(
    role === 'cloud' ? incidents.list({ limit: 100_000 }) : incidents.list({ node: nodeName, limit: 100_000 }),
    { agentCpuPct: Math.round(cpuPct * 100) / 100, agentRssMb: Math.round(process.memoryUsage().rss / 1048576), cores: availableParallelism() },
    role === 'cloud' ? 'fleet' : 'this node')

  // The API reads providers late (loops replace them after creation); peers
  // always start with this node itself.
  const apiProviders = new Proxy({} as Providers, {
    get: (_t, k: keyof Providers) => k === 'peers' ? () => [selfPeer(), ...providers.peers()] : providers[k]
  })
  /** Every loop factory ran and its loop started (readiness waits for it). */
  let loopsStarted = false
  const api: ApiServer = createApiServer({
    token: () => token,
    providers: apiProviders,
    incidents,
    approvals,
    events,
    metrics,
    logger,
    status,
    ready: () => {
      // Not ready until every loop has been created and started (the API answers before the store opens and the loops start).
      if (!loopsStarted) return { ready: false, waiting: ['start-up'] }
      const waiting = loops.filter((l) => !running.has(l.name) || l.ready?.() === false).map((l) => l.name)
      return { ready: apiUrl !== undefined && waiting.length === 0, waiting }
    },
    report,
    healthHistory: () => [...health.entries()].flatMap(([node, s]) => s.map((x) => ({ node, ...x }))),
    reload: async () => await reload(),
    componentAction: async (name, verb, by) => {
      const act = merged.componentAction
      if (act === undefined) throw new ComponentActionError('ERR_NOT_READY', 'no micro loop is running on this agent')
      return await act(name, verb, by)
    },
    dashboard: current.config.api.dashboard
  })
  let stopHealth: (() => void) | undefined
  let stopping: Promise<void> | undefined
  /** A loop's start in flight: stop waits for it (bounded) so nothing it spawns outlives the agent. */
  let loopStarting: Promise<void> | undefined

  const reload = async (): Promise<{ ok: boolean, error?: string }> => {
    let next: LoadedConfig
    try {
      next = loadConfig(current.file)
      if (next.nodeName !== current.nodeName) throw new ConfigError([{ file: current.file, line: 0, col: 0, field: 'node.name', message: `cannot change while running (restart the agent): was "${current.nodeName}"` }])
      if (next.dataDir !== current.dataDir) throw new ConfigError([{ file: current.file, line: 0, col: 0, field: 'node.dataDir', message: 'cannot change while running (restart the agent)' }])
      if (next.config.api.listen !== current.config.api.listen && opts.listen === undefined) throw new ConfigError([{ file: current.file, line: 0, col: 0, field: 'api.listen', message: 'cannot change while running (restart the agent)' }])
      // The metrics collector and the anomaly watch are built at start with these.
      if (JSON.stringify(next.config.system) !== JSON.stringify(current.config.system)) throw new ConfigError([{ file: current.file, line: 0, col: 0, field: 'system', message: 'sampling and detection settings cannot change while running (restart the agent)' }])
    } catch (err) {
      const why = (err as Error).message
      metrics.configReloads.inc({ result: 'rejected' })
      logger.error({ err: why }, 'config reload rejected; keeping the running config')
      events.emit('config', { ok: false, error: why })
      return { ok: false, error: why }
    }
    const prev = current
    current = next
    const applied: AgentLoop[] = []
    try {
      for (const l of loops) {
        if (l.reload !== undefined && running.has(l.name)) { await l.reload(next); applied.push(l) }
      }
    } catch (err) {
      const why = `${(err as Error).message}`
      current = prev
      for (const l of applied) { try { await l.reload?.(prev) } catch (e) { logger.error({ err: e, loop: l.name }, 'could not restore the previous config in a loop') } }
      metrics.configReloads.inc({ result: 'rejected' })
      logger.error({ err: why }, 'config reload rejected by a loop; keeping the running config')
      events.emit('config', { ok: false, error: why })
      return { ok: false, error: why }
    }
    logger.level = next.config.log.level
    metrics.configReloads.inc({ result: 'applied' })
    logger.info({ file: next.file }, 'config reloaded')
    events.emit('config', { ok: true })
    return { ok: true }
  }

  const withBudget = async <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> => {
    let t: NodeJS.Timeout | undefined
    const r = await Promise.race([p, new Promise<'timeout'>((resolve) => { t = setTimeout(() => resolve('timeout'), ms) })])
    clearTimeout(t)
    return r
  }

  const agent: Agent = {
    nodeName,
    role,
    context: ctx,
    providers,
    token,
    get apiUrl () { return apiUrl },
    report,
    reload,
    async start () {
      const listen = opts.listen ?? current.config.api.listen
      const i = listen.lastIndexOf(':')
      const host = listen.slice(0, i).replace(/^\[|\]$/g, '')
      const port = Number(listen.slice(i + 1))
      const addr = await api.listen(host, port)
      apiUrl = addr.url
      logger.info({ api: apiUrl, role, version: VERSION }, 'api listening')
      store = await openAgentStore()
      // The incident book lives in the store; an agent upgraded from the journal file imports it once.
      const legacyJournal = join(current.dataDir, 'incidents.jsonl')
      let att
      try { att = await incidents.attach(store, { legacyJournal }) } catch (err) {
        if (!(err instanceof StoreError) || err.code !== 'STORE_LEGACY') { await agent.stop(); throw err }
        logger.error({ err: err.message, file: legacyJournal }, 'could not import the pre-store incident journal; it stays where it is')
        att = await incidents.attach(store)
      }
      if (att.imported?.status === 'imported') logger.info({ incidents: att.imported.items, tornLines: att.imported.rejected }, 'imported incidents.jsonl into the agent store')
      if (att.imported?.moveError !== undefined) logger.warn({ err: att.imported.moveError }, 'could not rename incidents.jsonl aside')
      if (att.invalid > 0) metrics.invalidInput.inc({ source: 'incident' }, att.invalid)
      for (const inc of incidents.all()) metrics.observeIncident(inc, inc.node === nodeName ? 'local' : 'remote')
      for (const f of opts.loops ?? []) {
        if (stopping !== undefined) break // SIGTERM during start: start nothing more
        const loop = await f(ctx)
        if (loop === undefined) continue
        loops.push(loop)
        metrics.loopUp.set({ loop: loop.name }, 0)
        try {
          loopStarting = loop.start()
          await loopStarting
          loopStarting = undefined
          running.add(loop.name)
          collect(loop)
          metrics.loopUp.set({ loop: loop.name }, 1)
          logger.info({ loop: loop.name }, 'loop started')
        } catch (err) {
          metrics.loopErrors.inc({ loop: loop.name })
          logger.error({ err, loop: loop.name }, 'loop failed to start')
          await agent.stop()
          throw err
        }
      }
      if (stopping !== undefined) return { apiUrl }
      loopsStarted = true
      const tick = () => {
        sampleCpu()
        recordHealth(nodeName, componentHealth(providers.components()))
        events.emit('health', { node: nodeName, health: componentHealth(providers.components()), atMs: now() })
      }
      tick()
      stopHealth = every(timers, AGENT_DEFAULTS.healthSampleMs, tick)
      return { apiUrl }
    },
    async stop (budgetMs = AGENT_DEFAULTS.stopBudgetMs) {
      if (stopping !== undefined) return await stopping
      stopping = (async () => {
        const deadline = now() + budgetMs
        stopHealth?.()
        if (loopStarting !== undefined) {
          await withBudget(loopStarting.catch(() => {}), Math.max(100, budgetMs / 2))
          const last = loops[loops.length - 1]
          if (last !== undefined) running.add(last.name) // started (or half-started): stop it too
        }
        approvals.close()
        for (const l of [...loops].reverse()) {
          if (!running.has(l.name)) continue
          const left = Math.max(100, deadline - now() - 300)
          const r = await withBudget(l.stop().then(() => 'ok' as const, (err: unknown) => { logger.error({ err, loop: l.name }, 'loop stop failed'); return 'ok' as const }), left)
          if (r === 'timeout') logger.warn({ loop: l.name, budgetMs: left }, 'loop did not stop in time; moving on')
          running.delete(l.name)
          metrics.loopUp.set({ loop: l.name }, 0)
          logger.info({ loop: l.name }, 'loop stopped')
        }
        await withBudget(api.close(), 250)
        if (store !== undefined) {
          await withBudget(incidents.detach().catch((err: unknown) => { logger.warn({ err }, 'flushing the incident book failed') }), 1000)
          const s = store
          store = undefined
          await withBudget(s.close().catch((err: unknown) => { logger.warn({ err }, 'closing the agent store failed') }), 1000)
        }
        releasePid()
        logger.info('agent stopped')
      })()
      return await stopping
    }
  }
  return agent
}
