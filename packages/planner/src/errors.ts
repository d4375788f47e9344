import { HomeostatError } from '@homeostat/interface'

/** Errors raised by @homeostat/planner. Stable codes: ERR_BAD_OPTIONS, ERR_UNKNOWN_APPROVAL, ERR_AUDIT_STORE. */
export class PlannerError extends HomeostatError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'PlannerError'
  }
}
