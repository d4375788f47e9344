// The agent's errors: one class per failure, each with a stable `code`.
import { HomeostatError } from '@homeostat/interface'

export interface ConfigProblem {
  file: string
  line: number
  col: number
  /** Dotted field path, e.g. `components[0].probes[1].url`; '' for syntax errors. */
  field: string
  message: string
}

export function formatProblem (p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file
  return p.field === '' ? `${where}: ${p.message}` : `${where}: ${p.field}: ${p.message}`
}

/** The config file is missing, unreadable or invalid. Lists every problem. */
export class ConfigError extends HomeostatError {
  constructor (readonly problems: ConfigProblem[]) {
    super('ERR_CONFIG', problems.map(formatProblem).join('\n'))
    this.name = 'ConfigError'
  }
}

/** A CLI usage error (unknown verb or flag, missing argument). Exit code 2. */
export class UsageError extends HomeostatError {
  constructor (message: string) {
    super('ERR_USAGE', message)
    this.name = 'UsageError'
  }
}

/** The CLI could not reach the agent's API. Exit code 3. */
export class AgentUnreachableError extends HomeostatError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_UNREACHABLE', message, options)
    this.name = 'AgentUnreachableError'
  }
}

/** The API answered with an error status. */
export class ApiError extends HomeostatError {
  constructor (readonly status: number, code: string, message: string) {
    super(code, message)
    this.name = 'ApiError'
  }
}

/** The data directory is unusable (permissions, lock held by another agent). */
export class DataDirError extends HomeostatError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_DATA_DIR', message, options)
    this.name = 'DataDirError'
  }
}

/** An approval id that does not exist or is no longer pending. */
export class ApprovalError extends HomeostatError {
  constructor (code: 'ERR_NO_SUCH_APPROVAL' | 'ERR_APPROVAL_DECIDED', message: string) {
    super(code, message)
    this.name = 'ApprovalError'
  }
}

/** A relocatable component placed on this node could not start here (spawn failed, quarantined). */
export class RelocationStartError extends HomeostatError {
  constructor (readonly component: string, why: string, options?: { cause?: unknown }) {
    super('ERR_RELOCATION_START', `relocatable component "${component}" could not start here: ${why}`, options)
    this.name = 'RelocationStartError'
  }
}

/** An operator's action on a component was refused: no such component, it is not in the state the action needs, or the micro loop is not running. */
export class ComponentActionError extends HomeostatError {
  constructor (code: 'ERR_NO_SUCH_COMPONENT' | 'ERR_NOT_QUARANTINED' | 'ERR_NOT_READY' | 'ERR_ALREADY_RUNNING' | 'ERR_NOT_STARTABLE', message: string) {
    super(code, message)
    this.name = 'ComponentActionError'
  }
}
