import './polyfill.ts'
export type {
  Topic,
  MeshMessage,
  Liveness,
  PeerState,
  LivenessEvent,
  MeshStats,
  RequestHandler,
  Mesh
} from './types.ts'
export * from './sim/index.ts'
