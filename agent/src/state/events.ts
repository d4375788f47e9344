// The agent's live event stream: the API's SSE endpoint and the dashboard read
// it. A bounded ring keeps the last events so a reconnecting client resumes
// from Last-Event-ID without a gap.
export type AgentEventType =
  | 'incident' | 'approval' | 'intervention' | 'peer' | 'health' | 'budget' | 'reputation' | 'config' | 'log' | 'outcome' | 'policy' | 'federated' | 'takeover' | 'component'

export interface AgentEvent {
  id: number
  type: AgentEventType
  atMs: number
  data: unknown
}

export interface EventBus {
  emit: (type: AgentEventType, data: unknown) => AgentEvent
  /** Calls `fn` for each new event. Returns an unsubscribe function. */
  subscribe: (fn: (e: AgentEvent) => void) => () => void
  /** Events with id > `afterId` still in the ring. */
  since: (afterId: number) => AgentEvent[]
  readonly subscribers: number
}

export const EVENT_DEFAULTS = {
  /** Events kept for resuming clients: a dashboard offline for a few seconds catches up; more is the REST API's job. */
  ringSize: 512,
  /** Live subscribers (SSE clients). Each holds a socket; a flood of browsers must not exhaust the agent. */
  maxSubscribers: 64
}

export class TooManySubscribersError extends Error {
  readonly code = 'ERR_TOO_MANY_SUBSCRIBERS'
  constructor (limit: number) { super(`at most ${limit} live event subscribers`); this.name = 'TooManySubscribersError' }
}

export function createEventBus (init: { now?: () => number, ringSize?: number, maxSubscribers?: number } = {}): EventBus {
  const now = init.now ?? Date.now
  const ringSize = init.ringSize ?? EVENT_DEFAULTS.ringSize
  const maxSubs = init.maxSubscribers ?? EVENT_DEFAULTS.maxSubscribers
  const ring: AgentEvent[] = []
  const subs = new Set<(e: AgentEvent) => void>()
  let nextId = 1
  return {
    emit (type, data) {
      const e: AgentEvent = { id: nextId++, type, atMs: now(), data }
      ring.push(e)
      if (ring.length > ringSize) ring.shift()
      for (const s of [...subs]) {
        try { s(e) } catch { /* a broken subscriber must not stop the others */ }
      }
      return e
    },
    subscribe (fn) {
      if (subs.size >= maxSubs) throw new TooManySubscribersError(maxSubs)
      subs.add(fn)
      return () => { subs.delete(fn) }
    },
    since (afterId) { return ring.filter((e) => e.id > afterId) },
    get subscribers () { return subs.size }
  }
}
