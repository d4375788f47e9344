import type { ActionTable } from './types.ts'
import { restart } from './restart.ts'
import { kill } from './kill.ts'
import { reload } from './reload.ts'
import { rollback } from './rollback.ts'
import { degrade } from './degrade.ts'
import { throttle } from './throttle.ts'
import { freeDisk } from './free-disk.ts'
import { quarantine } from './quarantine.ts'

/** The built-in local actions, by kind. */
export const BUILTIN_ACTIONS: ActionTable = {
  restart,
  kill,
  reload,
  rollback,
  degrade,
  throttle,
  free_disk: freeDisk,
  quarantine
}
