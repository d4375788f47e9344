// What a loop is, what it may use, and what it gives back: the one contract
// between the daemon (agent/src/daemon.ts) and its loops (micro, meso, macro,
// federated). A loop receives a LoopContext (clock, timers, store, logger,
// config, the agent's shared books), declares what it answers for through
// `provides()`, and gets what other loops answer for as typed dependencies
// from the composition root (loops/index.ts) — never by patching the
// context. The daemon merges every loop's providers and refuses two loops
// answering for the same one.
import type { Logger } from 'pino'
import type { Hlc } from '@homeostat/hlc'
import type { Timers } from '@homeostat/interface'
import type { Store } from '@homeostat/store'
import type { LoadedConfig } from '../config/load.ts'
import type { EventBus } from '../state/events.ts'
import type { IncidentBook } from '../state/incidents.ts'
import type { ApprovalQueue } from '../state/approvals.ts'
import type { AgentMetrics } from '../metrics.ts'
import type { Providers } from '../state/providers.ts'

/** An operator's verb on a component: `release` lifts a quarantine, `start` starts one that is not running, `restart` restarts it. */
export type ComponentVerb = 'release' | 'start' | 'restart'

/** What an operator's verb on a component did. */
export interface ComponentActionResult {
  component: string
  action: ComponentVerb
  /** The supervisor's state afterwards (`running`/`starting` if started here, else e.g. `stopped`). */
  state: string
  /** Started here (again) by this verb (a component this node runs itself). */
  started: boolean
  /** Relocatable under a mesh: the fleet places it; this node offers to host it again. */
  placedByFleet: boolean
}

/** What a loop answers for, read by the API, the dashboard and /api/status. Each key has one answering loop. */
export interface LoopProvides {
  /** Views for the API and the dashboard (components, peers, budget…). */
  providers?: Partial<Providers>
  /** Sections of /api/status, by name (e.g. `mesh`, `system`). */
  status?: Record<string, () => unknown>
  /** Operator verbs on components (the micro loop's). Throws ComponentActionError. */
  componentAction?: (name: string, verb: ComponentVerb, by: string) => Promise<ComponentActionResult>
}

export interface AgentLoop {
  readonly name: string
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Applies a new config. Throw to refuse it (the agent then keeps the old one). */
  reload?: (next: LoadedConfig) => Promise<void>
  /** False while the loop is still converging (e.g. first probes pending). */
  ready?: () => boolean
  /** What this loop answers for; read once it has started. */
  provides?: () => LoopProvides
}

/** Everything a loop may use. */
export interface LoopContext {
  readonly nodeName: string
  readonly role: 'edge' | 'cloud'
  config: () => LoadedConfig
  logger: Logger
  hlc: Hlc
  /** The agent's clock: every loop reads time here (a test passes a simulated one). */
  now: () => number
  /** The agent's timers: every loop schedules here (a test passes simulated ones). */
  timers: Timers
  /** The agent's LevelDB store (`<dataDir>/db`), open from start to stop: the loops' durable state. */
  store: () => Store
  events: EventBus
  incidents: IncidentBook
  approvals: ApprovalQueue
  metrics: AgentMetrics
  /** Health samples of remote nodes (the meso loop feeds peers' reports here). */
  recordHealth: (node: string, health: number, atMs?: number) => void
  /** The API's base URL once listening. */
  apiUrl: () => string | undefined
}

export type LoopFactory = (ctx: LoopContext) => AgentLoop | undefined | Promise<AgentLoop | undefined>

/**
 * Merges loops' providers in start order; a key answered by two loops is a wiring error (two answers, one of
 * them silently lost, is what the old `ctx.providers` patching allowed).
 */
export function mergeProvides (loops: ReadonlyArray<{ name: string, provides?: LoopProvides }>): { providers: Partial<Providers>, status: Record<string, () => unknown>, componentAction?: LoopProvides['componentAction'] } {
  const providers: Partial<Providers> = {}
  const status: Record<string, () => unknown> = {}
  const by = new Map<string, string>()
  let componentAction: LoopProvides['componentAction']
  const claim = (key: string, loop: string): void => {
    const other = by.get(key)
    if (other !== undefined) throw new Error(`${key} is provided by two loops (${other} and ${loop})`)
    by.set(key, loop)
  }
  for (const l of loops) {
    const p = l.provides
    if (p === undefined) continue
    for (const [k, v] of Object.entries(p.providers ?? {})) { claim(`providers.${k}`, l.name); (providers as Record<string, unknown>)[k] = v }
    for (const [k, v] of Object.entries(p.status ?? {})) { claim(`status.${k}`, l.name); status[k] = v }
    if (p.componentAction !== undefined) { claim('componentAction', l.name); componentAction = p.componentAction }
  }
  return { providers, status, ...(componentAction !== undefined ? { componentAction } : {}) }
}
