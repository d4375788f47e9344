// Prometheus metrics for the agent and its loops. One registry per agent (no
// globals: tests run several agents in one process). Packages that keep their
// own prom-client metrics (the mesh's libp2p/gossipsub metrics) register into
// `registry` through the loops that own them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Incident } from '@homeostat/interface'
import { incidentTimes } from './state/report.ts'

export interface AgentMetrics {
  registry: Registry
  /** Call for every incident update; counts each status transition once. */
  observeIncident: (incident: Incident, origin: 'local' | 'remote') => void
  apiRequests: Counter<'route' | 'code'>
  configReloads: Counter<'result'>
  loopUp: Gauge<'loop'>
  loopErrors: Counter<'loop'>
  approvalsPending: Gauge
  peers: Gauge<'state'>
  sseClients: Gauge
  invalidInput: Counter<'source'>
}

/** One gauge labelled `stat` that reads a component's counters object at every scrape (undefined: nothing to report yet). */
export function statGauge<T extends { [K in keyof T]: number }> (registry: Registry, name: string, help: string, stats: () => T | undefined): Gauge<'stat'> {
  return new Gauge({
    name,
    help,
    labelNames: ['stat'],
    registers: [registry],
    collect () { for (const [k, v] of Object.entries(stats() ?? {}) as Array<[string, number]>) this.set({ stat: k }, v) }
  })
}

const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 900]

export function createAgentMetrics (init: { node: string, role: string, version: string, defaultMetrics?: boolean }): AgentMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ node: init.node })
  if (init.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'homeostat_agent_' })
  new Gauge({ name: 'homeostat_agent_info', help: 'Agent identity (value is always 1)', labelNames: ['role', 'version'], registers: [registry] }).set({ role: init.role, version: init.version }, 1)
  const opened = new Counter({ name: 'homeostat_micro_incidents_opened_total', help: 'Incidents opened, by failure class and origin', labelNames: ['failure_class', 'origin'], registers: [registry] })
  const closed = new Counter({ name: 'homeostat_micro_incidents_closed_total', help: 'Incidents closed, by outcome (recovered, escalated, quarantined)', labelNames: ['failure_class', 'outcome', 'origin'], registers: [registry] })
  const mttr = new Histogram({ name: 'homeostat_micro_mttr_seconds', help: 'Time from fault onset (first anomaly) to verified recovery', labelNames: ['failure_class'], buckets: SECONDS_BUCKETS, registers: [registry] })
  const detect = new Histogram({ name: 'homeostat_micro_detection_seconds', help: 'Time from fault onset to confirmed detection', labelNames: ['failure_class'], buckets: SECONDS_BUCKETS, registers: [registry] })
  const lastStatus = new Map<string, string>()
  const seenDetect = new Set<string>()
  const m: AgentMetrics = {
    registry,
    observeIncident (inc, origin) {
      const key = `${inc.node}\u0000${inc.id}`
      const prev = lastStatus.get(key)
      if (prev === undefined) opened.inc({ failure_class: inc.failureClass, origin })
      const t = incidentTimes(inc)
      if (origin === 'local' && t.detectMs !== undefined && !seenDetect.has(key)) {
        seenDetect.add(key)
        detect.observe({ failure_class: inc.failureClass }, t.detectMs / 1000)
      }
      if (prev !== inc.status && (inc.status === 'recovered' || inc.status === 'escalated' || inc.status === 'quarantined')) {
        closed.inc({ failure_class: inc.failureClass, outcome: inc.status, origin })
        if (origin === 'local' && t.mttrMs !== undefined) mttr.observe({ failure_class: inc.failureClass }, t.mttrMs / 1000)
      }
      lastStatus.set(key, inc.status)
      if (lastStatus.size > 20_000) { const k = lastStatus.keys().next().value as string; lastStatus.delete(k); seenDetect.delete(k) }
    },
    apiRequests: new Counter({ name: 'homeostat_agent_api_requests_total', help: 'Local API requests by route and status code', labelNames: ['route', 'code'], registers: [registry] }),
    configReloads: new Counter({ name: 'homeostat_agent_config_reloads_total', help: 'Config reloads (SIGHUP or API) by result', labelNames: ['result'], registers: [registry] }),
    loopUp: new Gauge({ name: 'homeostat_loop_up', help: '1 when the loop (micro, meso, macro, …) is running', labelNames: ['loop'], registers: [registry] }),
    loopErrors: new Counter({ name: 'homeostat_loop_errors_total', help: 'Errors a loop reported without stopping', labelNames: ['loop'], registers: [registry] }),
    approvalsPending: new Gauge({ name: 'homeostat_approvals_pending', help: 'Recoveries waiting for an operator decision', registers: [registry] }),
    peers: new Gauge({ name: 'homeostat_meso_peers', help: 'Mesh peers by liveness state', labelNames: ['state'], registers: [registry] }),
    sseClients: new Gauge({ name: 'homeostat_agent_event_subscribers', help: 'Live event (SSE) clients connected', registers: [registry] }),
    invalidInput: new Counter({ name: 'homeostat_agent_invalid_input_total', help: 'Rejected input (bad records from peers, bad API bodies) by source', labelNames: ['source'], registers: [registry] })
  }
  return m
}
