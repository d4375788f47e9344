// Guards for the patches the mesh applies to private internals of its
// dependencies (frame-decoder-patch.ts, yamux-window-patch.ts). Those
// dependencies are caret-ranged, so an `npm install` may bring a version whose
// internals differ. Before a patch touches anything it checks:
//   1. version: the installed copy of the package (the one the patch's own
//      import resolves to; its package.json) is on the patch's allow-list of
//      exact versions it was read against and tested with;
//   2. copy: each package that uses the patched class loads that same copy (a
//      second copy, e.g. two versions of @libp2p/utils side by side, would
//      leave the patched class unused);
//   3. shape: what it replaces is there and looks as expected (the method,
//      the private fields it reads, the upstream behaviour it fixes).
// Any failure skips the patch (upstream behaviour stays), with a coded error
// (MeshPatchVersionError / MeshPatchShapeError / MeshPatchCopyError) recorded
// as the patch's status. `appliedPatches()` lists every patch's status in this
// process. Skips are logged once per process, by the first createMeshNode
// (its logger's warn, console.warn when it has no logger): patches run at import,
// before any logger exists.
//
// To accept a new version: read the new upstream source of the patched
// method and fields, run the patch tests against it, add the version.
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MeshPatchCopyError, MeshPatchShapeError, MeshPatchVersionError } from './errors.ts'
import type { Logger } from '@homeostat/interface'

/** One patch's outcome in this process. */
export interface PatchStatus {
  /** `frame-decoder` or `yamux-window`. */
  name: string
  /** The package whose internals the patch rewrites. */
  package: string
  /** Its installed version (the copy the patch reaches), from its package.json; undefined if unreadable. */
  version: string | undefined
  applied: boolean
  /** When skipped: the error's stable code (`ERR_MESH_PATCH_VERSION`, `ERR_MESH_PATCH_SHAPE`, `ERR_MESH_PATCH_COPY`). */
  code?: string
  /** When skipped: why, in words. */
  reason?: string
}

/** What a patch is and how to check and apply it. `T` is what it rewrites (a class, a prototype). */
export interface PatchSpec<T> {
  name: string
  package: string
  /** The module specifier the patch imports its target from (resolved from this package). */
  specifier: string
  /** Exact versions whose internals the patch was written against and tested with. */
  versions: readonly string[]
  /** Packages that use the patched class; each must load the copy the patch reaches. */
  consumers: readonly string[]
  /** The object to rewrite. */
  target: () => T
  /** `undefined` when `target` has the shape the patch expects, else what differs. Only called before installing. */
  shape: (target: T) => string | undefined
  /** Whether the patch is already in place on `target`. */
  installed: (target: T) => boolean
  install: (target: T) => void
}

/** An installed copy of a package. */
export interface PackageCopy {
  name: string
  version: string | undefined
  /** Its directory, with symlinks resolved. */
  dir: string
}

/** Where a guard looks; every part is replaceable for tests (a faked version, a fake target). */
export interface PatchEnvironment<T> {
  /** The copy of a package that `specifier` resolves to from this package. */
  locate?: (specifier: string) => PackageCopy | undefined
  /** The directory from which the package `consumer` (resolved from this package) loads `pkg`. */
  locateFrom?: (consumer: string, pkg: string) => string | undefined
  /** Rewrite this instead of `spec.target()`. */
  target?: T
  /** Record the outcome here instead of the process registry. */
  registry?: PatchRegistry
}

export interface GuardedPatch {
  readonly name: string
  /** Checks and applies the patch once; later calls return the first outcome. Never throws. */
  apply: () => PatchStatus
}

/** Patch outcomes of a process (or of a test). */
export interface PatchRegistry {
  record: (status: PatchStatus) => void
  list: () => PatchStatus[]
  /** Skipped patches not handed out before: each is handed out once. */
  takeUnreported: () => PatchStatus[]
}

export function createPatchRegistry (): PatchRegistry {
  const statuses = new Map<string, PatchStatus>()
  const reported = new Set<string>()
  return {
    record (status) { statuses.set(status.name, { ...status }) },
    list: () => [...statuses.values()].map((s) => ({ ...s })),
    takeUnreported () {
      const out: PatchStatus[] = []
      for (const s of statuses.values()) {
        if (s.applied || reported.has(s.name)) continue
        reported.add(s.name)
        out.push({ ...s })
      }
      return out
    }
  }
}

/** The registry every patch of this process records into. */
export const processPatches: PatchRegistry = createPatchRegistry()

/** Which dependency patches this process applied or skipped, and why (empty when none was attempted:
 * the patches are applied by importing the mesh node module). */
export function appliedPatches (): PatchStatus[] {
  return processPatches.list()
}

/** The warn part of the shared Logger. */
export type PatchWarnLogger = Pick<Logger, 'warn'>

/** Logs each skipped patch not logged before: through `logger.warn`, or console.warn without a logger. */
export function reportSkippedPatches (logger?: PatchWarnLogger, registry: PatchRegistry = processPatches): void {
  for (const s of registry.takeUnreported()) {
    const msg = `dependency patch not applied, upstream behaviour kept: ${s.reason ?? s.code ?? 'unknown'}`
    if (logger != null) logger.warn({ patch: s.name, package: s.package, version: s.version, code: s.code }, msg)
    else console.warn(`[homeostat mesh] ${msg} (${s.code ?? ''})`)
  }
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageName (specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] ?? specifier
}

function readPackage (dir: string): { name?: string, version?: string } | undefined {
  try { return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string } } catch { return undefined }
}

/** The copy `specifier` resolves to from this module (the one the patch's static import loads). */
export function locatePackage (specifier: string): PackageCopy | undefined {
  const name = packageName(specifier)
  let file: string
  try { file = fileURLToPath(import.meta.resolve(specifier)) } catch { return undefined }
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = readPackage(dir)
    if (pkg?.name === name) return { name, version: pkg.version, dir: realpathSync(dir) }
    if (dirname(dir) === dir) return undefined
  }
}

/** Node's node_modules lookup for `pkg` starting at the directory of `consumer`. */
export function locatePackageFrom (consumer: string, pkg: string): string | undefined {
  const from = locatePackage(consumer)
  if (from == null) return undefined
  for (let dir = from.dir; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', pkg)
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    }
    if (dirname(dir) === dir) return undefined
  }
}

export function createGuardedPatch<T> (spec: PatchSpec<T>, env: PatchEnvironment<T> = {}): GuardedPatch {
  const locate = env.locate ?? locatePackage
  const locateFrom = env.locateFrom ?? locatePackageFrom
  const registry = env.registry ?? processPatches
  let outcome: PatchStatus | undefined

  const check = (): { status: PatchStatus, target?: T } => {
    const copy = locate(spec.specifier)
    const base = { name: spec.name, package: spec.package, version: copy?.version }
    const skip = (err: { code: string, message: string }): { status: PatchStatus } => ({ status: { ...base, applied: false, code: err.code, reason: err.message } })
    let target: T
    try { target = env.target ?? spec.target() } catch (err) { return skip(new MeshPatchShapeError(spec.name, spec.package, `target unavailable: ${(err as Error).message}`)) }
    if (spec.installed(target)) return { status: { ...base, applied: true } }
    if (copy?.version === undefined || !spec.versions.includes(copy.version)) return skip(new MeshPatchVersionError(spec.name, spec.package, copy?.version, spec.versions))
    for (const consumer of spec.consumers) {
      const used = locateFrom(consumer, spec.package)
      if (used !== undefined && used !== copy.dir) return skip(new MeshPatchCopyError(spec.name, spec.package, consumer, copy.dir, used))
    }
    let detail: string | undefined
    try { detail = spec.shape(target) } catch (err) { detail = `shape check threw: ${(err as Error).message}` }
    if (detail !== undefined) return skip(new MeshPatchShapeError(spec.name, spec.package, detail))
    return { status: { ...base, applied: true }, target }
  }

  return {
    name: spec.name,
    apply () {
      if (outcome != null) return { ...outcome }
      const { status, target } = check()
      if (status.applied && target !== undefined) {
        try { spec.install(target) } catch (err) {
          status.applied = false
          const e = new MeshPatchShapeError(spec.name, spec.package, `install threw: ${(err as Error).message}`)
          status.code = e.code
          status.reason = e.message
        }
      }
      outcome = status
      registry.record(status)
      return { ...status }
    }
  }
}

/** Whether `source` (a function's or class's text) mentions every one of `needles`; the missing ones otherwise. */
export function missingFrom (source: string, needles: readonly string[]): string[] {
  return needles.filter((n) => !source.includes(n))
}
