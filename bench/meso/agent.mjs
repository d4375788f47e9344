// One coordination agent as a real process: a libp2p mesh node plus a
// coordinator, driven by JSON lines on stdin, reporting JSON lines on stdout.
// Run as is it uses the compiled packages (dist); the tests run it with
// `--conditions=homeostat-src --import tsx/esm` to use the sources.
import '@homeostat/mesh/polyfill'
import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { createInterface } from 'node:readline'
import { createMeshNode } from '@homeostat/mesh'
import { createCoordinator, MESO_ROOTS } from '@homeostat/coordination'

const cfg = JSON.parse(process.env.COORD_AGENT ?? '{}')
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n') }
const running = new Set()

// The transport-level gate (a partition without network namespaces): peers in `gated` are
// refused by libp2p's connection gater both ways, and their connections are cut when gated.
let gated = new Set()
const isGated = (peer) => gated.has(peer.toString())
const mesh = await createMeshNode({
  connectionGater: { denyDialPeer: isGated, denyInboundEncryptedConnection: isGated, denyOutboundEncryptedConnection: isGated },
  swarmKey: cfg.swarmKey,
  listen: cfg.listen ?? ['/ip4/127.0.0.1/tcp/0'],
  bootstrap: cfg.bootstrap ?? [],
  dht: false,
  ...(cfg.liveness != null ? { liveness: cfg.liveness } : {})
})
await mesh.start()
const coord = createCoordinator({
  mesh,
  hlc: mesh.hlc,
  registry: cfg.registry ?? {},
  // Tracing (bench --trace): every catch-up exchange, with why it ran.
  doc: cfg.trace ? { onSync: (e) => { if (e.kind === 'serve' || e.bytes > 2 || !e.ok || e.why !== 'anti-entropy') out({ ev: 'sync', ...e, t: Date.now() }) } } : {},
  onStartWorkload: (spec) => { running.add(spec.name); out({ ev: 'start', name: spec.name, t: Date.now(), ...(cfg.trace ? { view: view(spec.name) } : {}) }) },
  onStopWorkload: (name, reason) => { running.delete(name); out({ ev: 'stop', name, reason, t: Date.now(), ...(cfg.trace ? { view: view(name) } : {}) }) },
  onTakeover: (spec, from) => { out({ ev: 'takeover', name: spec.name, from, t: Date.now() }) },
  onReject: (peer, reason) => { out({ ev: 'reject', peer, reason }) }
})
mesh.onLiveness((e) => { if (e.state === 'dead' || cfg.verboseLiveness || cfg.trace) out({ ev: 'liveness', peer: e.peer, state: e.state, reason: e.reason, t: Date.now() }) })
if (cfg.trace) {
  // Event-loop delay and CPU per 250 ms window.
  const { monitorEventLoopDelay } = await import('node:perf_hooks')
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  let cpu = process.cpuUsage()
  setInterval(() => {
    const c = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    out({ ev: 'load', lagMaxMs: Math.round(h.max / 1e6), cpuMs: Math.round((c.user + c.system) / 1000), t: Date.now() })
    h.reset()
  }, 250).unref()
  mesh.libp2p.addEventListener('peer:connect', (e) => { out({ ev: 'conn', peer: e.detail.toString(), up: true, t: Date.now() }) })
  mesh.libp2p.addEventListener('peer:disconnect', (e) => { out({ ev: 'conn', peer: e.detail.toString(), up: false, t: Date.now() }) })
}

/** Tracing: the assignments of a workload as this replica sees them, with the owner's liveness here. */
const view = (name) => {
  const alive = new Set(mesh.peers().filter((p) => p.state === 'alive').map((p) => p.peer))
  return [...coord.rdoc.doc.getMap('assign').values()].filter((a) => a?.name === name).map((a) => `${a.owner.slice(-6)}:e${a.epoch}:${a.state}:${a.hlc}:${a.owner === mesh.peerId ? 'me' : alive.has(a.owner) ? 'alive' : 'notalive'}`)
}
const digest = () => {
  const doc = coord.rdoc.doc
  const o = {}
  for (const r of MESO_ROOTS) o[r] = Object.fromEntries([...doc.getMap(r).entries()].sort(([a], [b]) => a < b ? -1 : 1))
  return createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16)
}

/** The replica's state vector as { clientId: clock }: what it has received from each writer. */
const stateVector = () => Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(coord.rdoc.doc)))

const loops = []
const healLoop = (target, everyMs, holdMs) => {
  let stopped = false
  const tick = async () => {
    if (stopped) return
    const r = await coord.registry.claim(target, 'restart')
    if (r.granted && r.alreadyHeld !== true) {
      out({ ev: 'acting', target, t: Date.now() })
      setTimeout(() => {
        out({ ev: 'released', target, t: Date.now() })
        coord.registry.release(target, 'recovered')
      }, holdMs)
    } else if (!r.granted) {
      out({ ev: 'refused', target, reason: r.reason })
    }
    if (!stopped) setTimeout(tick, everyMs * (0.5 + Math.random()))
  }
  setTimeout(tick, Math.random() * 50)
  loops.push(() => { stopped = true })
}

const rl = createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let m
  try { m = JSON.parse(line) } catch { return }
  try {
    switch (m.cmd) {
      case 'dial': for (const a of m.addrs) { try { await mesh.dial(a) } catch {} } out({ ev: 'dialed', id: m.id }); break
      case 'capacity': coord.takeover.setCapacity({ cpuMillis: m.cpuMillis, memoryMb: m.memoryMb }); out({ ev: 'ok', id: m.id }); break
      case 'declare': await coord.takeover.declare(m.spec); out({ ev: 'ok', id: m.id }); break
      case 'heal-loop': healLoop(m.target, m.everyMs, m.holdMs); out({ ev: 'ok', id: m.id }); break
      // One claim through the registry (granted or why not), and a hostile write that bypasses it.
      case 'claim': {
        const r = await coord.registry.claim(m.target, m.action ?? 'restart')
        if (r.granted && m.holdMs != null) setTimeout(() => coord.registry.release(m.target, 'recovered'), m.holdMs)
        out({ ev: 'claim', id: m.id, granted: r.granted, reason: r.reason, holder: r.holder?.owner ?? (r.granted ? mesh.peerId : undefined) })
        break
      }
      case 'squat': coord.rdoc.doc.getMap('claims').set(`${mesh.peerId}/${m.target}`, { target: m.target, action: 'restart', owner: mesh.peerId, hlc: '0', expiresMs: Date.now() + 3_600_000, state: 'acting' }); out({ ev: 'ok', id: m.id }); break
      case 'gate':
        gated = new Set(m.peers)
        for (const c of mesh.libp2p.getConnections()) if (gated.has(c.remotePeer.toString())) c.abort(new Error('gated: transport-level partition'))
        out({ ev: 'ok', id: m.id })
        break
      case 'stop-loops': for (const s of loops.splice(0)) s(); out({ ev: 'ok', id: m.id }); break
      // Reputation: direct observations [[peer, ok, weight?]...], and this replica's view of everyone.
      case 'observe': for (const [peer, ok, w] of m.obs) coord.reputation.observe(peer, ok, w ?? 1); out({ ev: 'ok', id: m.id }); break
      case 'reputation': coord.reputation.refresh(); out({
        ev: 'reputation',
        id: m.id,
        all: coord.reputation.all().map((e) => ({ peer: e.peer, score: e.score, quarantined: e.quarantined, credibility: e.credibility })),
        gossipScores: Object.fromEntries(mesh.peers().map((p) => [p.peer, mesh.score(p.peer)]))
      }); break
      case 'state': out({
        ev: 'state',
        id: m.id,
        peerId: mesh.peerId,
        digest: digest(),
        sv: stateVector(),
        running: [...running],
        alive: mesh.peers().filter((p) => p.state === 'alive').map((p) => p.peer),
        stats: mesh.stats(),
        coord: coord.stats()
      }); break
      case 'exit': coord.stop(); await mesh.stop(); process.exit(0)
    }
  } catch (err) {
    out({ ev: 'error', id: m.id, message: err.message, code: err.code })
  }
})
await coord.start()
if (cfg.trace || cfg.digestEvents) {
  // The replica's digest and state vector after every change, stamped with the host clock, so
  // the bench times convergence without polling. Each change's state vector is taken when the
  // replica holds it (cheap); the digest (a hash of the whole document) once per event-loop turn,
  // with the time of the turn's last change: nothing changed between that change and the digest.
  // (Stamping at the setImmediate instead measured the event loop, not the replica: a saturated
  // agent reached its check phase up to ~1.5 s after applying the update.)
  let pending = false
  let changes = []
  coord.rdoc.onChange(() => {
    changes.push([Date.now(), stateVector()])
    if (pending) return
    pending = true
    setImmediate(() => {
      pending = false
      const c = changes
      changes = []
      out({ ev: 'digest', d: digest(), t: c.at(-1)?.[0] ?? Date.now(), reportedT: Date.now(), changes: c })
    })
  })
}
out({ ev: 'ready', peerId: mesh.peerId, addrs: mesh.multiaddrs(), clientId: coord.rdoc.doc.clientID, t: Date.now() })
