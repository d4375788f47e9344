// The composition root: the loops an agent runs, in start order (stopped in
// reverse), and every value one loop takes from another, in one place:
//  - micro (local supervision and healing, works with no network) takes the
//    meso loop's placement of relocatable components (its components view
//    shows the ones that run elsewhere as standby), the peers' recent
//    anomalies (its diagnosis) and the cloud half's fleet priors summary (its
//    policy view); its recovery policy is wrapped with the
//    meso loop's intervention claims (fleet-wide for a shared component);
//  - meso (mesh + coordination + fleet gossip) takes the micro loop's
//    components (its status reports) and runs relocatable components through
//    the micro loop's supervisor;
//  - macro: the cloud half (fleet priors from everyone's outcomes) on the cloud
//    peer, the edge half (publish our outcomes, import the cloud's priors into
//    the micro loop's planner) on edges;
//  - federated (training continuity) takes the meso loop's mesh and peers.
// No loop reads another's state any other way.
import type { LoopContext, LoopFactory } from './contract.ts'
import { createMicroLoopWiring, type MicroLoopWiring } from './micro/index.ts'
import { createMesoLoop, type MesoLoop, type MesoLoopOptions } from './meso/index.ts'
import { withClaims } from './meso/claims.ts'
import { supervisorHost } from './meso/relocation.ts'
import { createMacroLoop, type MacroLoop } from './macro/cloud.ts'
import { createMacroEdgeLoop } from './macro/edge.ts'
import { createFederatedLoop } from './federated/index.ts'

export interface DefaultLoopsOptions {
  /** The mesh the meso loop runs on (default: the libp2p node the config describes; a test passes the simulated mesh). */
  createMesh?: MesoLoopOptions['createMesh']
}

export function defaultLoops (o: DefaultLoopsOptions = {}): LoopFactory[] {
  let meso: MesoLoop | undefined
  let micro: MicroLoopWiring | undefined
  let cloud: MacroLoop | undefined
  return [
    (ctx: LoopContext) => {
      micro = createMicroLoopWiring(ctx, {
        placement: () => meso?.placement(),
        fleetPriors: () => cloud?.summary(),
        remoteAnomalies: () => meso?.remoteAnomalies() ?? [],
        wrapPolicy: [(p) => withClaims(p, {
          node: ctx.nodeName,
          coordinator: () => meso?.coordinator(),
          meshExpected: () => ctx.config().config.mesh.enabled,
          logger: ctx.logger.child({ loop: 'meso' }),
          isShared: (c) => ctx.config().config.components.some((comp) => comp.name === c && comp.shared),
          healthy: async (c) => await (micro?.health(c) ?? Promise.resolve(false)),
          sharedCooldownMs: () => ctx.config().config.mesh.sharedCooldownMs,
          peerName: (peer) => meso?.peerName(peer),
          quorum: () => meso?.quorum(),
          now: ctx.now,
          timers: ctx.timers
        })]
      })
      return micro
    },
    (ctx) => {
      meso = createMesoLoop(ctx, {
        host: supervisorHost(() => micro?.supervisor(), () => ctx.config().config.components),
        components: () => micro?.components() ?? [],
        ...(o.createMesh !== undefined ? { createMesh: o.createMesh } : {})
      })
      return meso
    },
    (ctx) => {
      if (meso === undefined) return undefined
      cloud = createMacroLoop(ctx, () => meso?.mesh(), (peer) => meso?.peerName(peer))
      return cloud ?? createMacroEdgeLoop(ctx, {
        mesh: () => meso?.mesh(),
        peerRole: (peer) => meso?.peerRole(peer),
        peerName: (peer) => meso?.peerName(peer),
        importPriors: (doc) => micro?.importPriors(doc) ?? 0
      })
    },
    (ctx) => createFederatedLoop(ctx, { mesh: () => meso?.mesh(), peers: () => meso?.peers() ?? [] })
  ]
}
