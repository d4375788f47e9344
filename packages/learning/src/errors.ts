import { HomeostatError } from '@homeostat/interface'

/** Errors raised by @homeostat/learning; `code` is stable (ERR_TOO_MANY_CELLS, ERR_BAD_PRIORS, ERR_BAD_SNAPSHOT, ERR_SNAPSHOT_TOO_LARGE, ERR_BAD_OPTIONS). */
export class LearningError extends HomeostatError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'LearningError'
  }
}
