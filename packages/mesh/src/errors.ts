// One error class per failure, each with a stable `code` (tests assert on it).
import { HomeostatError } from '@homeostat/interface'

/** A request did not get its answer in time. */
export class MeshTimeoutError extends HomeostatError {
  constructor (what: string, timeoutMs: number) {
    super('ERR_MESH_TIMEOUT', `${what} timed out after ${timeoutMs} ms`)
    this.name = 'MeshTimeoutError'
  }
}

/** A frame exceeded its size bound (request, response or envelope on send). */
export class MeshFrameTooLargeError extends HomeostatError {
  constructor (readonly bytes: number, readonly limitBytes: number) {
    super('ERR_MESH_FRAME_TOO_LARGE', `frame of ${bytes} bytes exceeds the ${limitBytes}-byte limit`)
    this.name = 'MeshFrameTooLargeError'
  }
}

/** The remote handler failed or refused the request; `remoteMessage` is its explanation. */
export class MeshRemoteError extends HomeostatError {
  constructor (readonly remoteMessage: string) {
    super('ERR_MESH_REMOTE', `remote handler failed: ${remoteMessage}`)
    this.name = 'MeshRemoteError'
  }
}

/** The peer could not be reached or does not speak the protocol. */
export class MeshUnreachableError extends HomeostatError {
  constructor (peer: string, protocol: string, options?: { cause?: unknown }) {
    super('ERR_MESH_UNREACHABLE', `cannot open ${protocol} to ${peer}: ${(options?.cause as Error | undefined)?.message ?? 'unknown'}`, options)
    this.name = 'MeshUnreachableError'
  }
}

/** The stream ended before a whole frame arrived. */
export class MeshStreamClosedError extends HomeostatError {
  constructor (what: string) {
    super('ERR_MESH_STREAM_CLOSED', `stream closed before ${what}`)
    this.name = 'MeshStreamClosedError'
  }
}

/** The mesh is not running (call start() first, or it was stopped). */
export class MeshNotStartedError extends HomeostatError {
  constructor () {
    super('ERR_MESH_NOT_STARTED', 'mesh node is not started')
    this.name = 'MeshNotStartedError'
  }
}

/** One topic name was subscribed with two different schemas or size limits on one node. */
export class MeshTopicConflictError extends HomeostatError {
  constructor (topic: string) {
    super('ERR_MESH_TOPIC_CONFLICT', `topic ${topic} is already subscribed with a different schema or size limit`)
    this.name = 'MeshTopicConflictError'
  }
}

/** A swarm key file is not in the libp2p pnet format. */
export class SwarmKeyError extends HomeostatError {
  constructor (message: string) {
    super('ERR_SWARM_KEY', message)
    this.name = 'SwarmKeyError'
  }
}

/** A mesh option is invalid. */
export class MeshConfigError extends HomeostatError {
  constructor (message: string) {
    super('ERR_MESH_CONFIG', message)
    this.name = 'MeshConfigError'
  }
}
