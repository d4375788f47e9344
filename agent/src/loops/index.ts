// The loops an agent runs, in start order (stopped in reverse): micro (local
// supervision and healing, works with no network), meso (mesh +
// coordination + fleet gossip), macro (cloud peer: fleet priors from
// everyone's outcomes). The micro loop's policy is wrapped with the
// meso loop's intervention claims when a mesh is present (fleet-wide for a
// shared component), and the meso loop runs relocatable components through
// the micro loop's supervisor.
import type { LoopFactory } from '../daemon.ts'
import { createMicroLoopWiring, type MicroLoopWiring } from './micro.ts'
import { createMesoLoop, type MesoLoop } from './meso.ts'
import { withClaims } from './claims.ts'
import { createMacroLoop } from './macro.ts'
import { createFederatedLoop } from './federated.ts'
import { supervisorHost } from './relocation.ts'

export function defaultLoops (): LoopFactory[] {
  let meso: MesoLoop | undefined
  let micro: MicroLoopWiring | undefined
  return [
    (ctx) => {
      micro = createMicroLoopWiring(ctx, {
        wrapPolicy: [(p) => withClaims(p, {
          node: ctx.nodeName,
          coordinator: () => meso?.coordinator(),
          meshExpected: () => ctx.config().config.mesh.enabled,
          logger: ctx.logger.child({ loop: 'meso' }),
          isShared: (c) => ctx.config().config.components.some((comp) => comp.name === c && comp.shared),
          healthy: async (c) => await (micro?.health(c) ?? Promise.resolve(false)),
          sharedCooldownMs: () => ctx.config().config.mesh.sharedCooldownMs,
          peerName: (peer) => meso?.peerName(peer),
          quorum: () => meso?.quorum()
        })]
      })
      return micro
    },
    (ctx) => {
      meso = createMesoLoop(ctx, { host: supervisorHost(() => micro?.supervisor(), () => ctx.config().config.components) })
      return meso
    },
    (ctx) => meso === undefined ? undefined : createMacroLoop(ctx, () => meso?.mesh(), (peer) => meso?.peerName(peer)),
    (ctx) => createFederatedLoop(ctx, () => meso?.mesh())
  ]
}
