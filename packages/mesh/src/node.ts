// createMeshNode: the libp2p mesh. TCP + pnet + Noise + Yamux, identify, ping,
// gossipsub (StrictSign, per-topic scoring, app score hook), kad-dht (LAN),
// bootstrap, optional mDNS, peer exchange, the failure detector, typed
// envelopes and request/response streams.
import './polyfill.ts'
// The CPU patches of two dependencies (guarded by a version allow-list): this import is what applies
// them, and the only one. test/patches-real-node.test.ts fails without it.
import './apply-patches.ts'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { noiseCrypto, type NoiseCryptoStats } from './noise-crypto.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { bootstrap } from '@libp2p/bootstrap'
import { mdns } from '@libp2p/mdns'
import { gossipsub, StrictSign, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import { kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ConnectionGater, IdentifyResult, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { createHlc, type Hlc } from '@homeostat/hlc'
import { envelopeSchema, parseWith, silentLogger, type Logger } from '@homeostat/interface'
import type { LivenessEvent, Mesh, MeshStats, RequestHandler } from './types.ts'
import { LIVENESS_DEFAULTS, MESH_DEFAULTS, REQUEST_DEFAULTS, SCORE_DEFAULTS, type LivenessTuning } from './defaults.ts'
import { MeshConfigError, MeshNotStartedError } from './errors.ts'
import { parseSwarmKey } from './swarm-key.ts'
import { createPubSub, type PubSubLayer } from './pubsub.ts'
import { handleRequests, sendRequest, type RequestCounters } from './request.ts'
import { createDiscovery, type Discovery } from './discovery.ts'
import { createFailureDetector, type FailureDetector, type LivenessStats } from './liveness/detector.ts'
import { createProbeStreams, PROBE_PROTOCOL, type ProbeStreams } from './liveness/probe.ts'
import { createPingProbe, type PingProbe, type PingService } from './liveness/ping-probe.ts'
import { reportSkippedPatches } from './patch-guard.ts'

/** The part of the shared Logger (pino-compatible) the mesh uses. */
export type MeshLogger = Pick<Logger, 'debug' | 'info' | 'warn'>

/** Where the node's identity (libp2p private key, protobuf bytes) lives between runs. */
export interface IdentityStore {
  load: () => Promise<Uint8Array | undefined>
  save: (privateKey: Uint8Array) => Promise<void>
}

export interface MeshNodeOptions {
  /** The fleet's swarm key (pnet key file contents, see generateSwarmKey). Only holders can connect. */
  swarmKey: Uint8Array | string
  /** The node's HLC, or a factory given our peer id. Its nodeId must equal the peer id. Default: wall clock. */
  hlc?: Hlc | ((peerId: string) => Hlc)
  /** Listen multiaddrs (default 127.0.0.1, port 0). */
  listen?: string[]
  /** Multiaddrs (with /p2p/<id>) dialled at start and re-dialled by the bootstrap module. */
  bootstrap?: string[]
  /** A fixed identity; otherwise `identity` is consulted; otherwise a fresh Ed25519 key. */
  privateKey?: PrivateKey
  identity?: IdentityStore
  /** mDNS discovery on the local link (default off). */
  mdns?: boolean
  /** kad-dht in LAN mode (default on). */
  dht?: boolean
  logger?: MeshLogger
  /** Liveness tuning, merged over LIVENESS_DEFAULTS. */
  liveness?: Partial<LivenessTuning>
  /** Dial and discovery tuning, merged over MESH_DEFAULTS. */
  network?: Partial<Record<'dialTimeoutMs' | 'inboundUpgradeTimeoutMs' | 'pnetTimeoutMs' | 'maxConnections' | 'gossipD' | 'gossipDlo' | 'gossipDhi' | 'gossipDlazy' | 'inboundConnectionThreshold' | 'maxIncomingPendingConnections' | 'targetPeers' | 'peerExchangeIntervalMs' | 'peerExchangeMaxPeers' | 'maxParallelDiscoveryDials', number>>
  /** Physical clock for liveness timing (default Date.now). */
  now?: () => number
  /** Randomness for backoff jitter (default Math.random). */
  random?: () => number
  /** libp2p's connection gater: refuses dials and connections by peer or address (e.g. a test's transport-level partition). */
  connectionGater?: ConnectionGater
}

/** The libp2p Mesh plus what only a real node has. */
export interface MeshNode extends Mesh {
  readonly libp2p: Libp2p
  readonly hlc: Hlc
  /** Our listen addresses including /p2p/<id>, for others' bootstrap lists. */
  multiaddrs: () => string[]
  /** Dial a peer by multiaddr (bounded by dialTimeoutMs). */
  dial: (addr: string) => Promise<void>
  livenessStats: () => LivenessStats
  /** Noise handshake key handling: DHs with a key we generated vs keys imported from DER (src/noise-crypto.ts). */
  noiseStats: () => NoiseCryptoStats
  /** Gossipsub score of a peer (for tests and /metrics). */
  score: (peer: string) => number
  /** Publishes raw bytes on a topic, bypassing every local check: only for hostile-peer tests. */
  unsafePublishRaw: (topic: string, data: Uint8Array) => Promise<void>
}

function fastMsgId (msg: { from?: Uint8Array, seqno?: Uint8Array, data?: Uint8Array }): string {
  if (msg.from == null || msg.seqno == null) return `u${msg.data?.byteLength ?? 0}:${Buffer.from(msg.data ?? []).toString('base64')}`
  return `${Buffer.from(msg.from).toString('base64')}:${Buffer.from(msg.seqno).toString('hex')}`
}

const silent: MeshLogger = silentLogger

async function resolveKey (o: MeshNodeOptions): Promise<PrivateKey> {
  if (o.privateKey != null) return o.privateKey
  if (o.identity != null) {
    const bytes = await o.identity.load()
    if (bytes != null) {
      try { return privateKeyFromProtobuf(bytes) } catch (err) { throw new MeshConfigError(`stored identity is not a libp2p private key: ${(err as Error).message}`) }
    }
    const key = await generateKeyPair('Ed25519')
    await o.identity.save(privateKeyToProtobuf(key))
    return key
  }
  return await generateKeyPair('Ed25519')
}

/** Per-topic score parameters: invalid messages weigh heavily; silence is never penalised (low-rate topics). */
function topicScoreParams (): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: SCORE_DEFAULTS.invalidMessageDeliveriesWeight,
    invalidMessageDeliveriesDecay: SCORE_DEFAULTS.invalidMessageDeliveriesDecay
  })
}

export async function createMeshNode (options: MeshNodeOptions): Promise<MeshNode> {
  const psk = parseSwarmKey(options.swarmKey)
  const net = { ...MESH_DEFAULTS, ...options.network }
  const tuning: LivenessTuning = { ...LIVENESS_DEFAULTS, ...options.liveness }
  for (const [k, v] of Object.entries(tuning)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MeshConfigError(`liveness.${k} must be a finite number >= 0`)
  }
  const log = options.logger ?? silent
  // A dependency patch skipped (unknown version, changed internals, second copy): one warning per
  // process, through the first node's logger (console.warn when it has none).
  reportSkippedPatches(options.logger)
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const privateKey = await resolveKey(options)
  const appScores = new Map<string, number>()

  const handshakeCrypto = noiseCrypto()
  const libp2p = await createLibp2p({
    privateKey,
    start: false,
    addresses: { listen: options.listen ?? [...MESH_DEFAULTS.listen] },
    transports: [tcp()],
    // X25519 keys as KeyObjects instead of a DER parse per DH: ~6 ms less CPU per handshake side.
    connectionEncrypters: [noise({ crypto: handshakeCrypto })],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk, timeout: net.pnetTimeoutMs }),
    ...(options.connectionGater != null ? { connectionGater: options.connectionGater } : {}),
    peerDiscovery: [
      ...((options.bootstrap?.length ?? 0) > 0 ? [bootstrap({ list: options.bootstrap ?? [], timeout: 0 })] : []),
      ...(options.mdns === true ? [mdns()] : [])
    ],
    connectionManager: {
      maxConnections: net.maxConnections,
      dialTimeout: net.dialTimeoutMs,
      // One TCP attempt may not outlive a whole dial: libp2p joins every later dial of a peer to the
      // attempt in flight, so an attempt whose SYN was lost in a network cut (default 6 s) would
      // hold back every reconnect after the heal.
      addressDialTimeout: net.dialTimeoutMs,
      inboundUpgradeTimeout: net.inboundUpgradeTimeoutMs,
      inboundConnectionThreshold: net.inboundConnectionThreshold,
      maxIncomingPendingConnections: net.maxIncomingPendingConnections
    },
    // Our own failure detector (liveness/) replaces libp2p's 10 s connection monitor.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        floodPublish: true,
        D: net.gossipD,
        Dlo: Math.min(net.gossipDlo, net.gossipD),
        Dhi: Math.max(net.gossipDhi, net.gossipD),
        Dout: 1,
        Dscore: 1,
        Dlazy: net.gossipDlazy,
        // Duplicates (each node hears a message from up to D mesh peers) are recognised by signer +
        // sequence number before the signature check, so each message is verified once per node.
        // Only validly signed messages enter this cache, so a forged copy cannot shadow the original.
        fastMsgIdFn: fastMsgId,
        scoreParams: {
          appSpecificScore: (p: string) => appScores.get(p) ?? 0,
          appSpecificWeight: SCORE_DEFAULTS.appSpecificWeight,
          // Fleets share addresses (NAT, docker, one host in tests): co-location is not Sybil evidence here.
          IPColocationFactorWeight: 0
        }
      }),
      ...((options.dht ?? MESH_DEFAULTS.dht)
        ? { dht: kadDHT({ protocol: '/ipfs/lan/kad/1.0.0', peerInfoMapper: removePublicAddressesMapper, clientMode: false }) }
        : {})
    }
  })
  const peerId = libp2p.peerId.toString()
  const gossip = (libp2p.services as { pubsub: GossipSub }).pubsub
  const hlc = typeof options.hlc === 'function' ? options.hlc(peerId) : options.hlc ?? createHlc({ nodeId: peerId, now: Date.now })
  if (hlc.nodeId !== peerId) throw new MeshConfigError(`hlc nodeId ${hlc.nodeId} must equal the peer id ${peerId} (pass a factory: hlc: (peerId) => createHlc({ nodeId: peerId, ... }))`)

  const livenessHandlers = new Set<(e: LivenessEvent) => void>()
  const requestCounters: RequestCounters = { served: 0, serveErrors: 0, requests: 0, requestErrors: 0 }
  const handled = new Map<string, { handler: RequestHandler, maxBytes: number }>()
  let running = false
  let pubsub: PubSubLayer | undefined
  let probe: ProbeStreams | undefined
  let otherPing: PingProbe | undefined
  let detector: FailureDetector | undefined
  let discovery: Discovery | undefined

  const logFn = (msg: string, fields?: Record<string, unknown>): void => { log.debug({ peer: peerId, ...fields }, msg) }
  const dialPeer = async (peer: string, timeoutMs: number): Promise<'connected' | 'refused' | 'unreachable' | 'timeout'> => {
    try {
      await libp2p.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(timeoutMs) })
      return 'connected'
    } catch (err) {
      // A refused or reset TCP connect is definitive (the host answered: nothing listens); no route to
      // the host is definitive for now too, but may be a network cut rather than a stopped agent; a
      // timeout may be a busy peer.
      const text = `${String(err)} ${String((err as { errors?: unknown[] }).errors ?? '')} ${String((err as { cause?: unknown }).cause ?? '')}`
      return /ECONNREFUSED|ECONNRESET|EPIPE/.test(text) ? 'refused' : /EHOSTUNREACH|ENETUNREACH/.test(text) ? 'unreachable' : 'timeout'
    }
  }

  const onConnect = (evt: CustomEvent<PeerId>): void => {
    // Peer exchange with peers new to us only: a reconnection (after a heal, ~half the fleet at
    // once) would only list peers the detector already reconnects, at the worst moment for CPU.
    const known = detector?.state(evt.detail.toString()) != null
    detector?.connected(evt.detail.toString())
    if (!known) discovery?.exchange(evt.detail)
  }
  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    probe?.drop(evt.detail.toString())
    otherPing?.drop(evt.detail.toString())
    detector?.disconnected(evt.detail.toString())
  }
  // Identify runs on every new connection and lists the peer's protocols: whether it is an agent.
  const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    detector?.learn(evt.detail.peerId.toString(), evt.detail.protocols.includes(PROBE_PROTOCOL) ? 'identify:probe' : 'identify:no-probe')
  }
  const onDiscovery = (evt: CustomEvent<{ id: PeerId, multiaddrs: import('@multiformats/multiaddr').Multiaddr[] }>): void => {
    discovery?.consider(evt.detail)
  }

  const scoreInternals = (): { params: { topics: Record<string, TopicScoreParams> } } | undefined =>
    (gossip as unknown as { score?: { params: { topics: Record<string, TopicScoreParams> } } }).score

  const mesh: MeshNode = {
    peerId,
    libp2p,
    hlc,
    async start () {
      if (running) return
      pubsub = createPubSub({
        gossip,
        peerId,
        hlc,
        log: logFn,
        onNewTopic: (name) => {
          const s = scoreInternals()
          if (s != null && s.params.topics[name] == null) s.params.topics[name] = topicScoreParams()
        }
      })
      probe = createProbeStreams(libp2p, (peer, seq, h) => detector?.pong(peer, seq, h), (peer, h) => detector?.heard(peer, h), () => detector?.localHealth() ?? 0, tuning.reconnectDialTimeoutMs, {
        onNegotiated: (peer) => detector?.learn(peer, 'probe:negotiated'),
        onUnsupported: (peer) => detector?.learn(peer, 'probe:unsupported')
      })
      otherPing = createPingProbe({
        ping: (libp2p.services as { ping: PingService }).ping,
        onPong: (peer, seq) => detector?.pong(peer, seq, 0, 'ping'),
        onUnsupported: (peer) => detector?.pingUnsupported(peer),
        timeoutMs: tuning.otherPingTimeoutMs
      })
      detector = createFailureDetector({
        selfId: peerId,
        tuning,
        now,
        random,
        onEvent: (e) => {
          log.info({ peer: peerId, remote: e.peer, state: e.state, reason: e.reason }, 'peer liveness')
          for (const h of [...livenessHandlers]) { try { h(e) } catch (err) { logFn('liveness handler threw', { error: (err as Error).message }) } }
        },
        transport: {
          sendPing: (peer, seq, method) => { if (method === 'ping') otherPing?.send(peer, seq); else probe?.send(peer, seq) },
          closePeer: (peer) => {
            probe?.drop(peer)
            otherPing?.drop(peer)
            for (const c of libp2p.getConnections(peerIdFromString(peer))) c.abort(new Error('peer declared dead'))
          },
          confirm: async (peer) => await dialPeer(peer, tuning.confirmDialTimeoutMs),
          reconnect: async (peer) => (await dialPeer(peer, tuning.reconnectDialTimeoutMs)) === 'connected',
          classify: async (peer) => await (probe?.speaks(peer) ?? Promise.resolve(undefined))
        }
      })
      discovery = createDiscovery({
        node: libp2p,
        targetPeers: net.targetPeers,
        maxPeers: net.peerExchangeMaxPeers,
        intervalMs: net.peerExchangeIntervalMs,
        maxParallelDials: net.maxParallelDiscoveryDials,
        dialTimeoutMs: net.dialTimeoutMs,
        requestTimeoutMs: REQUEST_DEFAULTS.timeoutMs,
        bootstrap: options.bootstrap ?? [],
        counters: requestCounters,
        known: (peer) => detector?.state(peer) != null,
        log: logFn
      })
      libp2p.addEventListener('peer:connect', onConnect)
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('peer:discovery', onDiscovery)
      libp2p.addEventListener('peer:identify', onIdentify)
      // The probe handler before libp2p starts: identify then lists it from our first connection on, so
      // no peer identifies us as a non-agent in the moment between the two.
      await probe.start()
      await libp2p.start()
      await discovery.start()
      for (const [protocol, h] of handled) {
        await handleRequests(libp2p, protocol, h.handler, h.maxBytes, requestCounters, (msg, err) => { logFn(msg, { error: (err as Error)?.message }) })
      }
      detector.start()
      running = true
      for (const p of libp2p.getPeers()) detector.connected(p.toString())
      log.info({ peer: peerId, addrs: mesh.multiaddrs() }, 'mesh started')
    },
    async stop () {
      if (!running) return
      running = false
      detector?.stop()
      pubsub?.stop()
      otherPing?.stop()
      await discovery?.stop()
      await probe?.stop()
      libp2p.removeEventListener('peer:connect', onConnect)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('peer:discovery', onDiscovery)
      libp2p.removeEventListener('peer:identify', onIdentify)
      await libp2p.stop()
    },
    subscribe (topic, handler) {
      if (pubsub == null) throw new MeshNotStartedError()
      return pubsub.subscribe(topic, handler)
    },
    async publish (topic, type, body) {
      if (pubsub == null || !running) throw new MeshNotStartedError()
      parseWith(envelopeSchema.shape.type, type, 'envelope type')
      await pubsub.publish(topic, type, body)
    },
    peers: () => detector?.peers() ?? [],
    members: () => detector?.members() ?? [],
    onLiveness (handler) {
      livenessHandlers.add(handler)
      return () => { livenessHandlers.delete(handler) }
    },
    handle (protocol, handler, opts) {
      const maxBytes = opts?.maxBytes ?? REQUEST_DEFAULTS.maxBytes
      handled.set(protocol, { handler, maxBytes })
      if (running) {
        void handleRequests(libp2p, protocol, handler, maxBytes, requestCounters, (msg, err) => { logFn(msg, { error: (err as Error)?.message }) })
          .catch((err) => { log.warn({ peer: peerId, protocol, error: (err as Error).message }, 'cannot register handler') })
      }
    },
    async request (peer, protocol, data, opts) {
      if (!running) throw new MeshNotStartedError()
      return await sendRequest(libp2p, peerIdFromString(peer), protocol, data, opts?.timeoutMs ?? REQUEST_DEFAULTS.timeoutMs, opts?.maxBytes ?? REQUEST_DEFAULTS.maxBytes, requestCounters)
    },
    setAppScore (peer, score) {
      if (!Number.isFinite(score)) return
      appScores.set(peer, Math.min(SCORE_DEFAULTS.appScoreMax, Math.max(SCORE_DEFAULTS.appScoreMin, score)))
    },
    stats (): MeshStats {
      return pubsub?.stats() ?? { published: 0, delivered: 0, rejected: {}, rejectedBySender: {}, bytesSent: 0, bytesReceived: 0 }
    },
    multiaddrs: () => libp2p.getMultiaddrs().map((a) => a.toString()),
    async dial (addr) {
      const { multiaddr } = await import('@multiformats/multiaddr')
      await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(net.dialTimeoutMs) })
    },
    noiseStats: () => handshakeCrypto.stats(),
    livenessStats: () => detector?.stats() ?? { pingsSent: 0, pongsReceived: 0, pingsHeard: 0, suspected: 0, declaredDead: 0, refuted: 0, localHealth: 0, stalledMs: 0, reconnectsPending: 0, pingIntervalMs: tuning.pingIntervalMs, otherPingsSent: 0, otherPongsReceived: 0 },
    score: (peer) => (gossip as unknown as { getScore: (p: string) => number }).getScore(peer),
    async unsafePublishRaw (topic, data) {
      if (pubsub == null) throw new MeshNotStartedError()
      await pubsub.publishRaw(topic, data)
    }
  }
  return mesh
}
