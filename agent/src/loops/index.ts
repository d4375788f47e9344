// The loops an agent runs, in start order (stopped in reverse): micro (local
// supervision and healing, works with no network), meso (mesh +
// coordination + fleet gossip), macro (cloud peer: fleet priors from
// everyone's outcomes). The micro loop's policy is wrapped with the
// meso loop's intervention claims when a mesh is present.
import type { LoopFactory } from '../daemon.ts'
import { createMicroLoopWiring } from './micro.ts'
import { createMesoLoop, type MesoLoop } from './meso.ts'
import { withClaims } from './claims.ts'
import { createMacroLoop } from './macro.ts'
import { createFederatedLoop } from './federated.ts'

export function defaultLoops (): LoopFactory[] {
  let meso: MesoLoop | undefined
  return [
    (ctx) => createMicroLoopWiring(ctx, {
      wrapPolicy: [(p) => withClaims(p, { node: ctx.nodeName, coordinator: () => meso?.coordinator(), logger: ctx.logger.child({ loop: 'meso' }) })]
    }),
    (ctx) => { meso = createMesoLoop(ctx); return meso },
    (ctx) => meso === undefined ? undefined : createMacroLoop(ctx, () => meso?.mesh(), (peer) => meso?.peerName(peer)),
    (ctx) => createFederatedLoop(ctx, () => meso?.mesh())
  ]
}
