// One error class per failure, each with a stable `code`. Tests and callers
// branch on `code`, never on message text.
import { HomeostatError } from '@homeostat/interface'

export const RECOVERY_ERROR_CODES = {
  /** The action did not finish within its timeout. */
  actionTimeout: 'ERR_RECOVERY_ACTION_TIMEOUT',
  /** The action ran but health did not come back by the verification deadline. */
  verifyFailed: 'ERR_RECOVERY_VERIFY_FAILED',
  /** The action cannot be applied to this component (nothing configured for it). */
  unsupported: 'ERR_RECOVERY_UNSUPPORTED',
  /** The component is quarantined; only an operator can release it. */
  quarantined: 'ERR_RECOVERY_QUARANTINED',
  /** Another recovery of the same component is in progress (anti-flapping). */
  busy: 'ERR_RECOVERY_BUSY',
  /** The component is not known to the target. */
  unknownComponent: 'ERR_RECOVERY_UNKNOWN_COMPONENT',
  /** A recovery config entry is invalid. */
  badConfig: 'ERR_RECOVERY_CONFIG',
  /** The action itself failed (a system call, a file operation, the supervisor). */
  actionFailed: 'ERR_RECOVERY_ACTION_FAILED'
} as const

export type RecoveryErrorCode = typeof RECOVERY_ERROR_CODES[keyof typeof RECOVERY_ERROR_CODES]

export class RecoveryError extends HomeostatError {
  constructor (code: RecoveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'RecoveryError'
  }
}

export class ActionTimeoutError extends RecoveryError {
  constructor (readonly action: string, readonly timeoutMs: number) {
    super(RECOVERY_ERROR_CODES.actionTimeout, `${action} did not finish within ${timeoutMs} ms`)
    this.name = 'ActionTimeoutError'
  }
}

export class VerifyFailedError extends RecoveryError {
  constructor (readonly action: string, readonly deadlineMs: number, readonly checks: number) {
    super(RECOVERY_ERROR_CODES.verifyFailed, `health did not come back within ${deadlineMs} ms after ${action} (${checks} checks)`)
    this.name = 'VerifyFailedError'
  }
}

export class UnsupportedActionError extends RecoveryError {
  constructor (readonly action: string, readonly component: string, why: string) {
    super(RECOVERY_ERROR_CODES.unsupported, `${action} is not available for ${component}: ${why}`)
    this.name = 'UnsupportedActionError'
  }
}

export class QuarantinedError extends RecoveryError {
  constructor (readonly component: string) {
    super(RECOVERY_ERROR_CODES.quarantined, `${component} is quarantined; release it before acting on it`)
    this.name = 'QuarantinedError'
  }
}

export class RecoveryBusyError extends RecoveryError {
  constructor (readonly component: string, readonly incidentId: string) {
    super(RECOVERY_ERROR_CODES.busy, `${component} is already being recovered for incident ${incidentId}`)
    this.name = 'RecoveryBusyError'
  }
}

export class UnknownComponentError extends RecoveryError {
  constructor (readonly component: string) {
    super(RECOVERY_ERROR_CODES.unknownComponent, `no component named ${component}`)
    this.name = 'UnknownComponentError'
  }
}

export class RecoveryConfigError extends RecoveryError {
  constructor (message: string, readonly issues: readonly string[] = []) {
    super(RECOVERY_ERROR_CODES.badConfig, message)
    this.name = 'RecoveryConfigError'
  }
}

export class ActionFailedError extends RecoveryError {
  constructor (readonly action: string, message: string, options?: { cause?: unknown }) {
    super(RECOVERY_ERROR_CODES.actionFailed, `${action} failed: ${message}`, options)
    this.name = 'ActionFailedError'
  }
}

/** A stable `{code, message}` for any thrown value (non-Homeostat errors map to actionFailed). */
export function errorInfo (err: unknown): { code: string, message: string } {
  if (err instanceof HomeostatError) return { code: err.code, message: err.message }
  const e = err as { code?: unknown, message?: unknown }
  const message = typeof e?.message === 'string' ? e.message : String(err)
  return { code: RECOVERY_ERROR_CODES.actionFailed, message: typeof e?.code === 'string' ? `${e.code}: ${message}` : message }
}
