import { HomeostatError } from '@homeostat/interface'

/** Why a remote Yjs update or sync response was refused. Counted per reason and per sender. */
export type RejectReason = 'malformed' | 'oversized' | 'unauthorized' | 'shape' | 'flood' | 'forged'

export class CoordinationError extends HomeostatError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'CoordinationError'
  }
}

/** A remote update failed validation (see RejectReason). */
export class RejectedUpdateError extends CoordinationError {
  constructor (readonly reason: RejectReason, readonly peer: string, message: string) {
    super('ERR_COORD_REJECTED', message)
    this.name = 'RejectedUpdateError'
  }
}

/** A claim on a target this peer may not touch (another node's own component, `node:<peer>/…`). */
export class ClaimNotAllowedError extends CoordinationError {
  constructor (readonly target: string) {
    super('ERR_CLAIM_NOT_ALLOWED', `target ${target} belongs to another node: only that node may claim it`)
    this.name = 'ClaimNotAllowedError'
  }
}

export class NotStartedError extends CoordinationError {
  constructor (what: string) {
    super('ERR_COORD_NOT_STARTED', `${what} is not started`)
    this.name = 'NotStartedError'
  }
}
