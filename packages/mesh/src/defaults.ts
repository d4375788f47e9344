// Every tunable of the libp2p mesh, with the reason for its value. Override
// any of them through `createMeshNode({ liveness: {...}, limits: {...} })`.
import { WIRE_LIMITS, type Tuning } from '@homeostat/interface'

export const MESH_DEFAULTS = {
  /** Loopback and an OS-chosen port: a node is private unless told otherwise. */
  listen: ['/ip4/127.0.0.1/tcp/0'] as readonly string[],
  /** A whole dial (TCP connect + pnet + Noise + Yamux) must finish in this time. A wrong swarm key
   * makes the handshake read garbage and hang (~6 s by default); bounding it keeps the reject < 2 s. */
  dialTimeoutMs: 1500,
  /** Same bound for connections others open to us, so a wrong-key dialer cannot hold a slot. */
  inboundUpgradeTimeoutMs: 1500,
  /** pnet nonce exchange: 24 bytes each way, well under a LAN round-trip budget. */
  pnetTimeoutMs: 1000,
  /** Connections we keep at most; a fleet mesh of a few dozen nodes stays fully connected below this. */
  maxConnections: 128,
  /** libp2p refuses a host opening more connections than this per second; a whole fleet behind
   * one NAT (or one test host) joins at once, so the default of 5 is far too low. */
  inboundConnectionThreshold: 64,
  /** Inbound connections still in their handshake at once (bounds a wrong-key or slowloris dialer). */
  maxIncomingPendingConnections: 32,
  /** We dial peers learnt through peer exchange, the DHT or mDNS only while below this many. */
  targetPeers: 48,
  /** Peer exchange: ask one random connected peer for its peers this often while below targetPeers. */
  peerExchangeIntervalMs: 2000,
  /** Peer exchange replies list at most this many peers (bounded fan-out). */
  peerExchangeMaxPeers: 64,
  /** Discovered-peer dials in flight at once. */
  maxParallelDiscoveryDials: 8,
  /** Gossipsub mesh degree. We flood-publish (the publisher sends to every subscribed peer it is
   * connected to, one hop), so mesh forwarding only repairs what flooding missed; every extra
   * mesh peer costs one more copy of every message on every node. 3 (libp2p default 6) halves
   * that cost and still gives each node three independent paths. */
  gossipD: 3,
  /** Mesh degree bounds (graft below, prune above). */
  gossipDlo: 2,
  gossipDhi: 6,
  /** Peers that receive IHAVE gossip per heartbeat (repair path for anything lost). */
  gossipDlazy: 3,
  /** Run kad-dht (LAN protocol) for discovery and records. */
  dht: true,
  /** mDNS is off: tests and multi-fleet hosts must not find each other by accident. */
  mdns: false
} as const

export const LIVENESS_DEFAULTS = {
  /** Scheduler resolution: every tick sends due pings and checks deadlines. 50 ms adds at most
   * 50 ms to any detection while costing ~20 wake-ups a second. */
  tickMs: 50,
  /** Shortest interval between pings to one peer. One side of each pair pings (chosen by a hash of
   * both ids, so every node pings about half its peers) and the other side treats the pings as
   * heartbeats: two 6-byte frames per pair and interval instead of four. */
  pingIntervalMs: 250,
  /** Pings one node sends per second in total; with many peers the per-peer interval stretches to
   * respect it (probing is O(peers), and every frame costs Noise + Yamux work on both sides).
   * 20/s keeps a 20-node fleet's pair interval near 500 ms and freeze detection near 1.3 s. */
  maxPingsPerSecond: 20,
  /** Lower clamp of the adaptive ping timeout: loopback RTTs are ~1 ms, but a GC pause or a busy
   * event loop on the far side easily takes 100-300 ms and must not raise suspicion. */
  minPingTimeoutMs: 400,
  /** Upper clamp, and the timeout used before enough RTT samples exist. */
  maxPingTimeoutMs: 2000,
  /** Phi-accrual threshold: a ping is late when phi(elapsed) exceeds this (8 ≈ 1e-8 chance that a
   * healthy peer is this slow given its RTT history; Akka's default). */
  phiThreshold: 8,
  /** Standard deviation floor for the RTT model so a very steady link is not judged on ~0 variance. */
  minRttStdMs: 25,
  /** RTT samples kept per peer for the distribution (bounded memory). */
  rttWindow: 64,
  /** Samples older than this leave the distribution when a new one arrives: a burst of slow answers
   * (a peer saturated for a while) widens its timeout for at most this long after the burst ends,
   * instead of for the next 64 pings (~30 s at a 20-node fleet's 500 ms pair interval). Peers still
   * slow keep producing slow samples, so a busy peer's timeout stays wide while it is busy. */
  rttMaxAgeMs: 10_000,
  /** Samples needed before the adaptive timeout replaces maxPingTimeoutMs. */
  minRttSamples: 5,
  /** A suspect is declared dead only after this long without any answer (SWIM's suspicion step):
   * a busy-but-alive peer gets this much extra time to answer one ping. */
  suspicionTimeoutMs: 600,
  /** A tick this late means *our* event loop was stalled; deadlines are shifted by the stall
   * (we could not have read the answer) and local health worsens (Lifeguard LHA). */
  lagToleranceMs: 100,
  /** Local health score cap: timeouts are multiplied by (1 + score × localHealthFactor). */
  maxLocalHealth: 4,
  /** Multiplier step per local health point: at the cap, timeouts are 3× longer. */
  localHealthFactor: 0.5,
  /** One health point is forgiven after this long without a stalled tick. */
  localHealthRecoveryMs: 2000,
  /** After a connection closes we redial once to confirm: a killed process refuses at once
   * (ECONNREFUSED → dead); a timeout here (vanished host, or a peer too busy to handshake) keeps
   * the peer suspect while reconnects run, and it is dead when the suspicion timeout ends. */
  confirmDialTimeoutMs: 1000,
  /** Reconnect attempts to a dead peer start at this delay... */
  reconnectBaseMs: 250,
  /** ...double each time, and are capped here, so a thawed or rebooted peer is found again within ~2 s. */
  reconnectMaxDelayMs: 2000,
  /** Random spread of a reconnect delay (±fraction) so a fleet does not redial in lockstep. */
  reconnectJitter: 0.2,
  /** A reconnect dial gives up after this long (a frozen peer accepts TCP but never handshakes). */
  reconnectDialTimeoutMs: 1000,
  /** Reconnect dials in flight at once. After a cut heals every reconnection costs a Noise handshake,
   * identify and gossipsub set-up on both ends; 2 (was 4) spreads that storm out. One reconnected
   * pair already lets the registries merge (coordination relays what it pulls), and a 20-agent heal on
   * 2 cores merged sooner this way (median of 7 traced heals 1.54 s vs 1.94 s with 4). */
  maxParallelReconnects: 2,
  /** A peer dead for this long is forgotten: no more reconnects, gone from peers(). */
  forgetAfterMs: 10 * 60 * 1000,
  /** Pings awaiting an answer per peer; older ones are dropped (bounded memory for a frozen peer). */
  maxOutstandingPings: 32,
  /** A peer that is not an agent (kind `other`: no agent probe) is pinged with libp2p's ping
   * (`/ipfs/ping/1.0.0`: a new stream, a protocol negotiation and 32 bytes each way per ping, several
   * times the cost of a probe frame) at most this often. Such a peer counts 250/1000 of a peer in the
   * maxPingsPerSecond budget. Its timeouts are the same phi-accrual ones, from its ping RTTs. */
  otherPingIntervalMs: 1000,
  /** One libp2p ping's stream is abandoned after this long (the detector's own, shorter timeouts
   * decide suspicion; this only bounds the stream a lost ping holds). libp2p's own default is 10 s. */
  otherPingTimeoutMs: 5000,
  /** A connected peer whose kind is still unknown this long after it connected (identify failed or
   * is slow, and no probe frame came) gets one agent-probe negotiation to find out: the pinged side of
   * a pair otherwise waits for heartbeats a non-agent never sends. Identify normally settles the kind
   * within milliseconds; 1 s is well inside the pinged side's first heartbeat timeout (3 s). */
  classifyAfterMs: 1000
} as const

export type LivenessTuning = Tuning<typeof LIVENESS_DEFAULTS>

export const REQUEST_DEFAULTS = {
  /** A request/response exchange (open stream, send, answer) must finish in this time. */
  timeoutMs: 5000,
  /** Largest request or response frame: a Yjs state vector is small, a full update can be large;
   * 1 MiB matches LIMITS.bulkEnvelopeBytes. */
  maxBytes: WIRE_LIMITS.requestBytes,
  /** Concurrent inbound requests per protocol; more are refused (bounded work per hostile peer). */
  maxInboundStreams: 64
} as const

export const SCORE_DEFAULTS = {
  /** Per invalid message: the penalty is weight × count² × topicWeight, so three rejects cost −45
   * and a handful more push the sender below the graylist threshold (−80). */
  invalidMessageDeliveriesWeight: -10,
  /** Invalid-message counter decays to ~0 in about a minute of good behaviour (per 1 s decay interval). */
  invalidMessageDeliveriesDecay: 0.93,
  /** Application score (reputation) is added with weight 1: −1000 removes a peer from the mesh. */
  appSpecificWeight: 1,
  /** Clamp of setAppScore values so one bad input cannot overflow scoring. */
  appScoreMin: -1000,
  appScoreMax: 100
} as const
