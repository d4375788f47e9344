import './polyfill.ts'
export type {
  Topic,
  MeshMessage,
  Liveness,
  PeerKind,
  PeerState,
  LivenessEvent,
  MeshStats,
  RequestHandler,
  Mesh
} from './types.ts'
export { createMeshNode, type MeshNode, type MeshNodeOptions, type MeshLogger, type IdentityStore } from './node.ts'
export { MESH_DEFAULTS, LIVENESS_DEFAULTS, REQUEST_DEFAULTS, SCORE_DEFAULTS, type LivenessTuning } from './defaults.ts'
export { generateSwarmKey, parseSwarmKey } from './swarm-key.ts'
export { fileIdentity } from './identity.ts'
export {
  MeshTimeoutError,
  MeshFrameTooLargeError,
  MeshRemoteError,
  MeshUnreachableError,
  MeshStreamClosedError,
  MeshNotStartedError,
  MeshTopicConflictError,
  MeshConfigError,
  SwarmKeyError,
  MeshPatchVersionError,
  MeshPatchShapeError,
  MeshPatchCopyError
} from './errors.ts'
export { appliedPatches, type PatchStatus } from './patch-guard.ts'
export { PROBE_PROTOCOL } from './liveness/probe.ts'
export { PEX_PROTOCOL } from './discovery.ts'
export type { KindEvidence, ProbeMethod } from './liveness/kind.ts'
export { createFailureDetector, type FailureDetector, type FailureDetectorOptions, type ProbeTransport, type LivenessStats } from './liveness/detector.ts'
export * as livenessTiming from './liveness/timing.ts'
export * from './sim/index.ts'
