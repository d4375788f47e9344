// The wire protocol's one home: every gossip topic with its body schema and
// size cap, every stream protocol's id and caps. The packages that speak them
// import these definitions; docs/protocol.md is generated from them
// (`npm run protocol-doc`), so the document cannot drift from the code.
import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { actionKindSchema, costVectorSchema, incidentSchema, type Incident, type Outcome } from './records.ts'

/** A gossip topic and the schema every message body on it must satisfy. */
export interface Topic<B> {
  /** gossipsub topic string, e.g. `homeostat/agent-status/1`. */
  name: string
  /** Body schema; a message that fails it is rejected and counted against its sender. */
  body: z.ZodType<B>
  /** Largest accepted envelope in bytes (default LIMITS.envelopeBytes). */
  maxBytes?: number
}

/** Size caps of the stream protocols and of list-valued bodies (each a hard limit: more is refused). */
export const WIRE_LIMITS = {
  /** Components listed in one status report: a status report stays ~300 B–8 KiB. */
  componentsPerReport: 32,
  /** A peer-exchange response: 256 peers × 16 addresses fits in 64 KiB. */
  pexBytes: 64 * 1024,
  pexPeers: 256,
  pexAddrsPerPeer: 16,
  /** A witness question is one peer id (libp2p ids are ~52 characters). */
  witnessQuestionBytes: 128,
  /** A document catch-up response (default of the coordination package's `maxSyncBytes`). */
  syncBytes: 4 * 1024 * 1024,
  /** A checkpoint request or response (default of the federated package's `maxCheckpointBytes`). */
  checkpointBytes: 8 * 1024 * 1024,
  /** Every request/response protocol without a cap of its own. */
  requestBytes: 1024 * 1024,
  /** Text of an error response. */
  errorTextChars: 512
} as const

const peerName = z.string().min(1).max(64)
const role = z.enum(['edge', 'cloud'])

/** One component in a status report. */
export const componentViewSchema = z.object({
  name: z.string().max(LIMITS.nameLength).describe('The component\'s name in the sender\'s config.'),
  state: z.string().max(32).describe('Supervisor state: `starting`, `running`, `exited`, `stopped`, `quarantined` (other values may be added).'),
  health: z.enum(['ok', 'degraded', 'failed', 'unknown']),
  pid: z.number().int().optional(),
  restarts: z.number().int().min(0).optional().describe('Restarts of the component by its supervisor.'),
  detail: z.string().max(256).optional().describe('A short human-readable reason for the health.')
}).strict()

/** An agent's status report (`agent.status`): who it is, its health in [0,1], its components. */
export const agentStatusSchema = z.object({
  name: peerName.describe('The node\'s name (`node.name` in its config): how people and the dashboard call it.'),
  role,
  health: z.number().min(0).max(1).describe('Node health: 1 all components healthy … 0 all failed.'),
  components: z.array(componentViewSchema).max(WIRE_LIMITS.componentsPerReport).describe('Its components (the first 32).'),
  incidentsOpen: z.number().int().min(0).describe('Incidents not closed yet.'),
  apiUrl: z.string().max(256).optional().describe('Where its HTTP API listens (the cloud\'s dashboard links to it).'),
  atMs: z.number().finite().describe('Sender\'s physical clock, ms since the epoch.'),
  leaving: z.boolean().optional().describe('Sent once on a graceful stop: the sender is leaving, not failing.')
}).strict()
export type AgentStatus = z.infer<typeof agentStatusSchema>

/** A verified recovery outcome (`recovery.outcome`): the macro loop's input. */
export const outcomeSchema = z.object({
  incidentId: z.string().min(1).max(LIMITS.nameLength).describe('The incident the recovery closed (as on `homeostat/incidents/1`).'),
  node: z.string().min(1).max(LIMITS.peerIdLength).describe('The sender\'s node name (as in its `agent.status`).'),
  component: z.string().min(1).max(LIMITS.nameLength),
  failureClass: z.string().min(1).max(LIMITS.nameLength).describe('e.g. `crash`, `hang`, `memory_leak`, `cpu_hog`, `disk_fill`.'),
  action: actionKindSchema,
  success: z.boolean().describe('The action was verified against the failure\'s own measure.'),
  durationMs: z.number().min(0).finite().describe('From acted to verified (or failed verification), ms.'),
  cost: costVectorSchema.describe('cpuSeconds, memoryMb, bandwidthKb, disruptionSeconds; each ≥ 0.'),
  hlc: z.string().min(21).max(20 + LIMITS.peerIdLength).describe('The outcome\'s HLC, encoded.')
}).strict()

/** The cloud peer's fleet priors (`policy.priors`). */
export const policySchema = z.object({
  version: z.number().int().min(0).describe('Increases with every publication; an edge keeps the highest it saw.'),
  priors: z.unknown().describe('A learning priors document (validated again, and bounded, by @homeostat/learning\'s importPriors).'),
  outcomes: z.number().int().min(0).describe('Outcomes the priors were learnt from.')
}).strict()
export type PolicyBody = z.infer<typeof policySchema>

/** A node's federated-training status (`federated.status`). */
export const federatedStatusSchema = z.object({
  name: peerName,
  role,
  round: z.number().int().min(0).describe('Local training rounds run.'),
  modelVersion: z.number().int().min(-1).describe('Version of the merged model it holds; -1 before the first.'),
  contributions: z.number().int().min(0).describe('Contributions in its copy of the federated document.'),
  accuracy: z.number().min(0).max(1).optional().describe('Accuracy of its merged model on its held-out set.'),
  atMs: z.number().finite()
}).strict()
export type FederatedStatus = z.infer<typeof federatedStatusSchema>

const b64Update = z.string().min(1).max(Math.ceil(LIMITS.bulkEnvelopeBytes * 4 / 3))
/** A replicated document's gossip body: exactly one of `u` (`coord.update`), `sv` (`coord.digest`), `r` (`coord.relay`). */
export const docBodySchema = z.union([
  /** A Yjs update (v1 encoding), base64: a local change. */
  z.object({ u: b64Update.describe('A Yjs update (v1 encoding), base64: a local change.') }).strict(),
  /** A Yjs state vector, base64: "this is what I have" (a receiver that is ahead answers nothing; one behind pulls). */
  z.object({ sv: z.string().max(256 * 1024).describe('A Yjs state vector, base64: what the sender has.') }).strict(),
  /** A Yjs update, base64: news a replica pulled off the gossip path (e.g. the other side of a healed partition), passed on. */
  z.object({ r: b64Update.describe('A Yjs update, base64: news pulled off the gossip path, passed on.') }).strict()
])
export type DocBody = z.infer<typeof docBodySchema>

/** A peer-exchange response: the peers the responder is connected to. */
export const pexResponseSchema = z.array(z.object({
  id: z.string().min(1).max(LIMITS.peerIdLength),
  addrs: z.array(z.string().max(256)).max(WIRE_LIMITS.pexAddrsPerPeer)
})).max(WIRE_LIMITS.pexPeers)

export const STATUS_TOPIC: Topic<AgentStatus> = { name: 'homeostat/agent-status/1', body: agentStatusSchema }
export const INCIDENT_TOPIC: Topic<Incident> = { name: 'homeostat/incidents/1', body: incidentSchema as unknown as z.ZodType<Incident> }
export const OUTCOME_TOPIC: Topic<Outcome> = { name: 'homeostat/outcomes/1', body: outcomeSchema as unknown as z.ZodType<Outcome> }
export const POLICY_TOPIC: Topic<PolicyBody> = { name: 'homeostat/policy/1', body: policySchema, maxBytes: LIMITS.bulkEnvelopeBytes }
export const FEDERATED_STATUS_TOPIC: Topic<FederatedStatus> = { name: 'homeostat/federated-status/1', body: federatedStatusSchema }
/** The gossip topic of the replicated (Yjs) document `name`. */
export const docTopic = (name: string): Topic<DocBody> => ({ name: `homeostat/coord/${name}/1`, body: docBodySchema, maxBytes: LIMITS.bulkEnvelopeBytes })
/** The catch-up protocol of the replicated document `name`. */
export const docSyncProtocol = (name: string): string => `/homeostat/coord/${name}/sync/1`

/** The agent liveness probe: serving it is what makes a peer an agent. */
export const PROBE_PROTOCOL = '/homeostat/probe/1.0.0'
/** Peer exchange. */
export const PEX_PROTOCOL = '/homeostat/pex/1.0.0'
/** Witness questions (how do you see peer X?) before a takeover. */
export const WITNESS_PROTOCOL = '/homeostat/coord/witness/1'
/** Federated checkpoint replication. */
export const CHECKPOINT_PROTOCOL = '/homeostat/federated/checkpoint/1.0.0'
/** The standard libp2p ping, how an agent probes a peer that is not one. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** The replicated documents agents keep, by name, with their root maps. */
export const DOCUMENTS = {
  /** The meso loop's intervention registry and fleet state. */
  meso: ['claims', 'reports', 'specs', 'assign', 'capacity'],
  /** Federated training: contributions, checkpoint index, quarantined contributors. */
  federated: ['contributions', 'checkpoints', 'quarantine']
} as const

/** A gossip topic as the protocol document describes it. */
export interface TopicDoc {
  topic: Topic<unknown> | ((name: string) => Topic<unknown>)
  /** The envelope `type` values sent on it. */
  types: readonly string[]
  /** Who publishes, when. */
  sentBy: string
  /** What a receiver does with it. */
  summary: string
}

/** A stream protocol as the protocol document describes it. */
export interface ProtocolDoc {
  id: string | ((name: string) => string)
  /** Request/response (the mesh's framing) or a protocol with framing of its own. */
  framing: 'request-response' | 'own'
  maxBytes: number
  request: string
  response: string
}

/** Every gossip topic agents use. */
export const TOPIC_DOCS: readonly TopicDoc[] = [
  {
    topic: STATUS_TOPIC as Topic<unknown>,
    types: ['agent.status'],
    sentBy: 'every agent, every 2 s (and once with `leaving: true` on a graceful stop)',
    summary: 'the fleet view: a peer\'s name, role, health and components; the cloud peer\'s dashboard and every agent\'s `homeostat peers` read it'
  },
  {
    topic: INCIDENT_TOPIC as Topic<unknown>,
    types: ['incident.update'],
    sentBy: 'an agent, whenever one of its incidents changes (opened, a step, closed)',
    summary: 'the fleet\'s incident log (the cloud dashboard); the whole record each time, so a lost message is repaired by the next'
  },
  {
    topic: OUTCOME_TOPIC as Topic<unknown>,
    types: ['recovery.outcome'],
    sentBy: 'an edge agent, once per verified recovery',
    summary: 'the macro loop\'s input: the cloud peer learns fleet priors from these; it refuses an outcome whose `node` is not the name its sender announced in `agent.status`'
  },
  {
    topic: POLICY_TOPIC as Topic<unknown>,
    types: ['policy.priors'],
    sentBy: 'the cloud peer: at most every 10 s while new outcomes arrive, unchanged every 60 s for late joiners',
    summary: 'fleet priors; an edge imports them into its planner only from a peer that announced role `cloud`, and from the same cloud peer only a higher `version` than it holds'
  },
  {
    topic: FEDERATED_STATUS_TOPIC as Topic<unknown>,
    types: ['federated.status'],
    sentBy: 'every agent running federated training, every 5 s',
    summary: 'per-node training progress for the dashboard'
  },
  {
    topic: docTopic as (name: string) => Topic<unknown>,
    types: ['coord.update', 'coord.digest', 'coord.relay'],
    sentBy: 'every replica of the document `<name>`: an update per local change, a digest periodically (anti-entropy), a relay for news pulled from another side',
    summary: 'replication of a Yjs document; updates are validated (roots, sizes, per-sender rate) before they are applied'
  }
]

/** Every stream protocol agents serve (besides libp2p's identify, ping, gossipsub and kad-dht). */
export const PROTOCOL_DOCS: readonly ProtocolDoc[] = [
  {
    id: PROBE_PROTOCOL,
    framing: 'own',
    maxBytes: 6,
    request: 'one long-lived stream per peer and direction (at most 4 each way) of fixed 6-byte frames `[kind u8: 0 ping, 1 pong][seq u32 BE][local health u8]`',
    response: 'a pong with the ping\'s `seq`, at once; the health byte is the sender\'s local-health score (0 healthy … 4), a starved peer asking for that much more patience. Any other frame kind on an inbound stream aborts it'
  },
  {
    id: PEX_PROTOCOL,
    framing: 'request-response',
    maxBytes: WIRE_LIMITS.pexBytes,
    request: 'empty',
    response: `UTF-8 JSON \`[{"id": "<peer id>", "addrs": ["<multiaddr>", …]}]\` (at most ${WIRE_LIMITS.pexPeers} peers, ${WIRE_LIMITS.pexAddrsPerPeer} addresses each): the peers the responder is connected to`
  },
  {
    id: WITNESS_PROTOCOL,
    framing: 'request-response',
    maxBytes: WIRE_LIMITS.witnessQuestionBytes,
    request: `a peer id, UTF-8 printable ASCII, 1–${WIRE_LIMITS.witnessQuestionBytes} bytes: "how do you see this peer?"`,
    response: 'one byte: 0 unknown, 1 alive, 2 suspect, 3 dead (rate-limited to 10 questions/s per asker)'
  },
  {
    id: docSyncProtocol,
    framing: 'request-response',
    maxBytes: WIRE_LIMITS.syncBytes,
    request: 'the requester\'s Yjs state vector (lib0 varuint count, then count × (varuint client, varuint clock)), optionally followed by a Yjs update with what the requester believes the server lacks (a push, after a partition)',
    response: 'a Yjs update: everything the server has beyond the request\'s state vector'
  },
  {
    id: CHECKPOINT_PROTOCOL,
    framing: 'request-response',
    maxBytes: WIRE_LIMITS.checkpointBytes,
    request: '`[op u8: 1 put, 2 get][owner length u16 BE][owner peer id, UTF-8][checkpoint]` (a put carries the owner\'s checkpoint: `[header length u32 LE][header JSON: version, runs, accuracy?, hlc, hash, length][length × float32 LE]`; only the owner may put its own)',
    response: 'put: one byte, 1 stored, 0 refused; get: the checkpoint held for the owner, or empty'
  }
]
