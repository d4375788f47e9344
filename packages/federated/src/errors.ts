import { HomeostatError } from '@homeostat/interface'

/** Why a contribution was refused. Stable codes; counted per reason and sender. */
export type RejectReason = 'decode' | 'checksum' | 'shape' | 'non_finite' | 'norm' | 'quarantined' | 'too_large'

export class ContributionError extends HomeostatError {
  constructor (readonly reason: RejectReason, message: string) {
    super(`FED_${reason.toUpperCase()}`, message)
    this.name = 'ContributionError'
  }
}

export class CheckpointError extends HomeostatError {
  constructor (code: 'FED_CHECKPOINT_CORRUPT' | 'FED_CHECKPOINT_INVALID' | 'FED_CHECKPOINT_MISSING', message: string) {
    super(code, message)
    this.name = 'CheckpointError'
  }
}
