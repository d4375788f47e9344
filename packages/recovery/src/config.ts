// Per-component recovery configuration: what each action may touch. Parsed
// with zod so a broken entry names its field.
import { z } from 'zod'
import { parseWith } from '@homeostat/interface'
import { RecoveryConfigError } from './errors.ts'

export const artifactConfigSchema = z.object({
  /**
   * The path the component loads. A symlink is re-pointed at the previous
   * sibling version (sorted by name, natural order); a regular file is swapped
   * with `<path>.prev`.
   */
  path: z.string().min(1)
}).strict()

export const fallbackConfigSchema = z.object({
  /** Spec patch applied to degrade (e.g. `{ env: { MODEL: "tiny" } }` or other args). */
  patch: z.record(z.string(), z.unknown()),
  /** One line for the incident record, e.g. "switch to the 8-bit model". */
  description: z.string().max(256).optional()
}).strict()

export const freeDiskConfigSchema = z.object({
  /** Directories whose files may be deleted, oldest first. Nothing outside them is touched. */
  paths: z.array(z.string().min(1)).min(1).max(32),
  /** Only files whose base name matches one of these regular expressions (default: any). */
  patterns: z.array(z.string().min(1).max(256)).max(32).optional(),
  /** Stop after freeing this much, MB. */
  targetMb: z.number().positive().max(1_000_000).optional(),
  /** Never delete more than this many files in one action. */
  maxFiles: z.number().int().positive().max(1_000_000).optional(),
  /** Keep files modified within the last `keepRecentMs` (a log being written now). */
  keepRecentMs: z.number().int().nonnegative().optional()
}).strict()

export const throttleConfigSchema = z.object({
  /** CPU share allowed when throttled, in cores (0.5 = half a core; above 1 for a multi-threaded job). Default: the spec's limits.cpu. */
  cpuFraction: z.number().positive().max(64).optional(),
  /**
   * A writable, delegated cgroup v2 directory under which a per-component
   * group is made (default /sys/fs/cgroup). When it is not usable, throttle
   * tries cgroup v1, then the supervisor's duty cycle (SIGSTOP/SIGCONT).
   */
  cgroupRoot: z.string().min(1).optional(),
  /**
   * If set, every thread of the throttled group is also reniced to this
   * (restored on undo). Only in addition to the limit: nice cannot hold a
   * limit by itself (it only matters under contention).
   */
  nice: z.number().int().min(-20).max(19).optional()
}).strict()

export const componentRecoveryConfigSchema = z.object({
  artifact: artifactConfigSchema.optional(),
  fallback: fallbackConfigSchema.optional(),
  freeDisk: freeDiskConfigSchema.optional(),
  throttle: throttleConfigSchema.optional(),
  /** SIGHUP makes this component reload its configuration. */
  reloadable: z.boolean().optional(),
  /** SIGTERM → SIGKILL grace for this component's restarts, ms. */
  graceMs: z.number().int().nonnegative().max(600_000).optional()
}).strict()

export type ArtifactConfig = z.infer<typeof artifactConfigSchema>
export type FallbackConfig = z.infer<typeof fallbackConfigSchema>
export type FreeDiskConfig = z.infer<typeof freeDiskConfigSchema>
export type ThrottleConfig = z.infer<typeof throttleConfigSchema>
export type ComponentRecoveryConfig = z.infer<typeof componentRecoveryConfigSchema>

const configMapSchema = z.record(z.string().min(1).max(128), componentRecoveryConfigSchema)

/** Validates `{componentName: config}`; throws RecoveryConfigError (ERR_RECOVERY_CONFIG) naming each bad field. */
export function parseRecoveryConfig (value: unknown): Record<string, ComponentRecoveryConfig> {
  try {
    const parsed = parseWith(configMapSchema, value, 'recovery config')
    for (const [name, c] of Object.entries(parsed)) {
      for (const p of c.freeDisk?.patterns ?? []) {
        try { new RegExp(p) } catch { throw new RecoveryConfigError(`invalid recovery config: ${name}.freeDisk.patterns: not a regular expression: ${p}`, [`${name}.freeDisk.patterns`]) }
      }
    }
    return parsed
  } catch (err) {
    if (err instanceof RecoveryConfigError) throw err
    const issues = (err as { issues?: readonly string[] }).issues ?? []
    throw new RecoveryConfigError((err as Error).message, issues)
  }
}
