// A supervised component, the record every part reads (the monitor
// supervises it, recovery acts on it, the agent's config declares it): its
// schema with the probes it is watched by, validated with zod so a bad entry
// names its field, e.g. `components[2].probes[0].timeoutMs: expected a
// positive number`, and the artifact versions it runs.
import { z } from 'zod'
import { LIMITS } from './limits.ts'

const positive = (what = 'a positive number'): z.ZodNumber =>
  z.number({ error: `expected ${what}` }).finite({ error: `expected ${what}` }).positive({ error: `expected ${what}` })
const positiveInt = (): z.ZodNumber =>
  z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' })
const nonNegative = (): z.ZodNumber =>
  z.number({ error: 'expected a number >= 0' }).finite({ error: 'expected a number >= 0' }).min(0, { error: 'expected a number >= 0' })
const nonEmpty = (what: string): z.ZodString => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` })
const componentName = z.string({ error: 'expected a component name' })
  .min(1, { error: 'expected a component name' })
  .max(LIMITS.nameLength, { error: `expected at most ${LIMITS.nameLength} characters` })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'expected letters, digits, "_", "." or "-"' })

/** Timing shared by every probe kind. */
const probeTiming = {
  /** Optional label; defaults to `<kind>#<index>`. */
  name: z.string().min(1).max(LIMITS.nameLength).optional(),
  /** How often the probe runs. */
  periodMs: positive().default(1000),
  /** One run longer than this is a failure (a hung server fails by timeout). */
  timeoutMs: positive().default(1000),
  /** Consecutive failures before the component is reported unhealthy. */
  failureThreshold: positiveInt().default(3),
  /** Consecutive successes before an unhealthy component is healthy again. */
  successThreshold: positiveInt().default(1),
  /** Wait this long after a (re)start before the first run. */
  initialDelayMs: nonNegative().default(0)
}

const statusRange = z.union([
  z.number().int().min(100).max(599),
  z.tuple([z.number().int().min(100).max(599), z.number().int().min(100).max(599)])
], { error: 'expected an HTTP status or a [min, max] range' })

export const probeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('process'), ...probeTiming }).strict(),
  z.object({
    kind: z.literal('http'),
    ...probeTiming,
    url: z.string({ error: 'expected an http(s) URL' }).regex(/^https?:\/\/.+/, { error: 'expected an http(s) URL' }),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    /** Accepted status (default 200–399). */
    expectStatus: statusRange.optional(),
    /** A regular expression the body must match. */
    bodyMatch: z.string().optional().refine((s) => {
      if (s === undefined) return true
      try { new RegExp(s); return true } catch { return false }
    }, { error: 'expected a valid regular expression' }),
    /** A response slower than this is a failure even if it arrives. */
    maxLatencyMs: positive().optional()
  }).strict(),
  z.object({
    kind: z.literal('tcp'),
    ...probeTiming,
    host: nonEmpty('a host').default('127.0.0.1'),
    port: z.number({ error: 'expected a port number' }).int({ error: 'expected a port number' }).min(1, { error: 'expected a port number' }).max(65535, { error: 'expected a port number' })
  }).strict(),
  z.object({
    kind: z.literal('exec'),
    ...probeTiming,
    command: nonEmpty('a command'),
    args: z.array(z.string()).max(64).default([]),
    expectExitCode: z.number().int().min(0).max(255).default(0)
  }).strict(),
  z.object({
    kind: z.literal('heartbeat'),
    ...probeTiming,
    path: nonEmpty('a file path'),
    /** The file's mtime must be younger than this. */
    maxAgeMs: positive()
  }).strict(),
  z.object({
    kind: z.literal('systemd'),
    ...probeTiming,
    unit: nonEmpty('a unit name'),
    /** Expected ActiveState. */
    expectState: z.string().default('active')
  }).strict()
], { error: 'expected a probe kind: process, http, tcp, exec, heartbeat or systemd' })

export type ProbeSpec = z.output<typeof probeSchema>
export type ProbeInput = z.input<typeof probeSchema>

const env = z.record(z.string(), z.string({ error: 'expected a string value' }))

export const componentSchema = z.object({
  name: componentName,
  /** Executable (looked up in PATH) or absolute path. */
  command: nonEmpty('a command'),
  args: z.array(z.string({ error: 'expected a string argument' })).max(256).default([]),
  /** Added to the agent's environment. */
  env: env.default({}),
  cwd: z.string().min(1).optional(),
  /** always: restart on any exit; on-failure: only on non-zero/ signal; never. */
  restart: z.enum(['always', 'on-failure', 'never'], { error: 'expected "always", "on-failure" or "never"' }).default('on-failure'),
  /** Components that must be started first (and are stopped last). */
  dependsOn: z.array(componentName).max(64).default([]),
  targetKind: z.enum(['process', 'service', 'device', 'training', 'node']).default('process'),
  /**
   * A versioned artifact (model, binary). `path` may contain `{version}`;
   * args/env may contain `{artifact}` and `{version}`. `versions` is ordered
   * oldest → newest; rollback picks the one before `version`.
   */
  artifact: z.object({
    path: nonEmpty('an artifact path'),
    versions: z.array(nonEmpty('a version')).min(1, { error: 'expected at least one version' }).max(64),
    version: nonEmpty('a version').optional()
  }).strict().refine((a) => a.version === undefined || a.versions.includes(a.version), { error: 'expected version to be one of versions', path: ['version'] }).optional(),
  /** The degraded variant (e.g. a smaller model): replaces these fields on degrade. */
  fallback: z.object({
    command: nonEmpty('a command').optional(),
    args: z.array(z.string()).max(256).optional(),
    env: env.optional(),
    artifactVersion: nonEmpty('a version').optional()
  }).strict().optional(),
  limits: z.object({
    /** RSS ceiling; the monitor predicts and enforces it (SIGKILL, reason "oom"). */
    memoryMb: positive().optional(),
    /** CPU ceiling in cores (0.5 = half a core). */
    cpu: positive('a positive number of cores').optional(),
    /** A directory the component writes and its size ceiling. */
    disk: z.object({ path: nonEmpty('a directory'), limitMb: positive() }).strict().optional()
  }).strict().default({}),
  /**
   * Runs on one node of the fleet at a time, wherever the meso loop places it: every node that may
   * host it lists it (same name) with `relocatable: true`; when its node dies or stops, exactly one
   * survivor starts it. `limits.cpu` and `limits.memoryMb` are what a host must have free for it.
   */
  relocatable: z.boolean({ error: 'expected true or false' }).default(false),
  /**
   * Runs elsewhere (another host, a container) and several nodes use it, e.g. a model server on the LAN:
   * every node that uses it lists it (same name) with `shared: true` and probes it. Nothing is spawned for
   * it; `command`/`args` are its restart hook (e.g. a script that calls the server's admin API), run to
   * completion. The fleet restarts it through one healer at a time (a fleet-wide claim), never again while
   * that restart is being verified, and not within the cooldown after it (`mesh.sharedCooldownMs`).
   */
  shared: z.boolean({ error: 'expected true or false' }).default(false),
  /** Placement priority of a relocatable component: when spare capacity is scarce, higher goes first. */
  priority: z.number({ error: 'expected a whole number from 0 to 1000' }).int({ error: 'expected a whole number from 0 to 1000' }).min(0, { error: 'expected a whole number from 0 to 1000' }).max(1000, { error: 'expected a whole number from 0 to 1000' }).default(1),
  probes: z.array(probeSchema).max(16, { error: 'expected at most 16 probes' }).default([])
}).strict()

export type ComponentSpec = z.output<typeof componentSchema>
export type ComponentInput = z.input<typeof componentSchema>

/** Resolved artifact path and version, or undefined. */
export function resolveArtifact (spec: ComponentSpec): { path: string, version: string } | undefined {
  const a = spec.artifact
  if (a === undefined) return undefined
  const version = a.version ?? a.versions[a.versions.length - 1]!
  return { path: a.path.replaceAll('{version}', version), version }
}

/** The version before the current one (rollback target), if any. */
export function previousArtifactVersion (spec: ComponentSpec): string | undefined {
  const a = spec.artifact
  if (a === undefined) return undefined
  const cur = a.versions.indexOf(a.version ?? a.versions[a.versions.length - 1]!)
  return cur > 0 ? a.versions[cur - 1] : undefined
}
