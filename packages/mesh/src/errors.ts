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

/** A dependency patch was not applied: the installed version of the package it patches is not one the
 * patch was written and tested for (its allow-list). Upstream behaviour stays. */
export class MeshPatchVersionError extends HomeostatError {
  constructor (readonly patch: string, readonly pkg: string, readonly version: string | undefined, readonly allowed: readonly string[]) {
    super('ERR_MESH_PATCH_VERSION', `patch ${patch} skipped: ${pkg} ${version ?? '(version unreadable)'} is not one of the versions it was tested with (${allowed.join(', ')})`)
    this.name = 'MeshPatchVersionError'
  }
}

/** A dependency patch was not applied: what it replaces (a method, the private fields it reads) is not
 * there or not as expected. Upstream behaviour stays. */
export class MeshPatchShapeError extends HomeostatError {
  constructor (readonly patch: string, readonly pkg: string, readonly detail: string) {
    super('ERR_MESH_PATCH_SHAPE', `patch ${patch} skipped: ${pkg} changed shape: ${detail}`)
    this.name = 'MeshPatchShapeError'
  }
}

/** A dependency patch was not applied: the package that uses the patched class loads another copy of it
 * than the one the patch can reach (two versions installed side by side). */
export class MeshPatchCopyError extends HomeostatError {
  constructor (readonly patch: string, readonly pkg: string, readonly consumer: string, readonly patchedDir: string, readonly usedDir: string) {
    super('ERR_MESH_PATCH_COPY', `patch ${patch} skipped: ${consumer} loads ${pkg} from ${usedDir}, the patch reaches ${patchedDir}`)
    this.name = 'MeshPatchCopyError'
  }
}
