// What the API and the dashboard read. Each loop registers the providers it
// can answer for; until one does, the defaults answer honestly ("nothing
// known", `available: false`) instead of inventing figures.
import type { Observation } from '@homeostat/micro'

/** One supervised component as the micro loop sees it. */
export interface ComponentView {
  name: string
  /** running, starting, stopped, failed, quarantined, … (the supervisor's word). */
  state: string
  /** ok | degraded | failed | unknown */
  health: 'ok' | 'degraded' | 'failed' | 'unknown'
  pid?: number
  restarts?: number
  detail?: string
}

/** A mesh peer, with what we know of its health and reputation. */
export interface PeerView {
  peer: string
  name?: string
  role?: string
  state: 'alive' | 'suspect' | 'dead' | 'self'
  /** An agent (speaks the agent probe), another libp2p peer holding the key (a monitoring tool), or not identified yet. */
  kind?: 'agent' | 'other' | 'unknown'
  rttMs?: number
  sinceMs?: number
  /** Health score in [0,1] from the peer's last status report. */
  health?: number
  reputation?: number
  components?: ComponentView[]
  apiUrl?: string
  lastSeenMs?: number
  incidentsOpen?: number
}

/** A recovery in flight (a claimed intervention when a mesh is present). */
export interface InterventionView {
  target: string
  action: string
  owner: string
  incidentId?: string
  state: 'claimed' | 'acting' | 'verifying' | 'cooldown' | 'released'
  sinceMs: number
  expiresMs?: number
  node?: string
}

export interface BudgetView {
  available: boolean
  mode?: string
  /** β for the current window, normalised to 1 (the ledger's entries are fractions of β). */
  betaUnits?: number
  /** (spent + reserved)/β over the worst cost dimension. */
  spentUnits?: number
  windowMs?: number
  /** Lagrange multiplier on cost. */
  lambda?: number
  entries?: Array<{ atMs: number, incidentId?: string, action: string, costUnits: number, admitted: boolean, reason?: string }>
  /** The planner's full view (β, spent, reserved, remaining per dimension). */
  detail?: Record<string, unknown>
}

export interface PolicyView {
  /** playbook | constrained | … */
  kind: string
  version?: string
  source?: string
  approvalRiskThreshold: number
  budgetMode: string
  budgetFraction: number
  actions?: Array<{ failureClass: string, action: string, successRate?: number, trials?: number, meanCost?: number }>
  detail?: Record<string, unknown>
}

export interface ReputationView {
  available: boolean
  peers: Array<{ peer: string, name?: string, score: number, positive?: number, negative?: number }>
}

export interface FederatedView {
  available: boolean
  modelVersion?: string
  nodes: Array<{ node: string, accuracy?: number, round?: number, contributions?: number, atMs?: number }>
}

/** A signal that alone never acts (a metric anomaly, a node-wide reading): the micro loop's Observation. */
export type ObservationView = Observation

export interface Providers {
  components: () => ComponentView[]
  /** Recent observations, oldest first. */
  observations: () => ObservationView[]
  peers: () => PeerView[]
  interventions: () => InterventionView[]
  budget: () => BudgetView
  policy: () => PolicyView
  reputation: () => ReputationView
  federated: () => FederatedView
}
