// The contract every action implements: do the thing, describe it for the
// incident record, and say how to undo it when verification fails.
import type { ActionKind, Incident } from '@homeostat/interface'
import type { ComponentRecoveryConfig } from '../config.ts'
import type { Logger, RecoveryTarget } from '../target.ts'
import type { RecoveryDefaults } from '../defaults.ts'

export interface ActionContext {
  component: string
  incident: Incident
  target: RecoveryTarget
  config: ComponentRecoveryConfig
  defaults: RecoveryDefaults
  now: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  random: () => number
  logger: Logger
  /** Aborted when the action's timeout fires. */
  signal: AbortSignal
  /** Times (ms) of this component's recent restarts, oldest first (for backoff). */
  recentRestartsMs: readonly number[]
}

export interface ActionEffect {
  /** One readable line for the `acted` step. */
  summary: string
  evidence?: string[]
  data?: Record<string, unknown>
  /** Undo when verification fails; returns a line for the `rolled_back` step. Absent when nothing can be undone. */
  undo?: () => Promise<string>
  /** True when the action (re)started the component, for backoff bookkeeping. */
  restarted?: boolean
}

export type ActionImpl = (ctx: ActionContext) => Promise<ActionEffect>

export type ActionTable = Partial<Record<ActionKind, ActionImpl>>
