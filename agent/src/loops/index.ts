// The loops an agent runs, in start order (stopped in reverse): micro (local
// supervision and healing, works with no network), meso (mesh +
// coordination + fleet gossip).
import type { LoopFactory } from '../daemon.ts'
import { createMicroLoopWiring } from './micro.ts'
import { createMesoLoop } from './meso.ts'

export function defaultLoops (): LoopFactory[] {
  return [
    (ctx) => createMicroLoopWiring(ctx),
    (ctx) => createMesoLoop(ctx)
  ]
}
