// free_disk: delete the oldest files under configured directories until a
// target amount is freed. Bounded: only configured directories, never follows
// symlinks, skips files written very recently (the live log), caps files
// deleted and entries visited. Nothing can be undone, so it is recorded in
// full — and when it frees nothing it says why (nothing matched, everything
// is still being written, deletion failed) and fails, so the incident moves
// on or escalates instead of calling "freed 0 MB" an action.
import { lstat, readdir, unlink } from 'node:fs/promises'
import { join, relative, isAbsolute } from 'node:path'
import { RECOVERY_ERROR_CODES, RecoveryError, UnsupportedActionError } from '../errors.ts'
import type { FreeDiskConfig } from '../config.ts'
import type { RecoveryDefaults } from '../defaults.ts'
import type { ActionContext, ActionImpl } from './types.ts'

interface Candidate { path: string, bytes: number, mtimeMs: number }

export interface FreeDiskPlan {
  files: Candidate[]
  bytes: number
}

/** Oldest-first selection until `targetBytes` or `maxFiles`. Pure, tested from a table. */
export function selectFilesToFree (candidates: readonly Candidate[], targetBytes: number, maxFiles: number): FreeDiskPlan {
  const sorted = [...candidates].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1))
  const files: Candidate[] = []
  let bytes = 0
  for (const c of sorted) {
    if (bytes >= targetBytes || files.length >= maxFiles) break
    files.push(c)
    bytes += c.bytes
  }
  return { files, bytes }
}

interface Walk {
  candidates: Candidate[]
  /** Regular files seen under the paths. */
  files: number
  /** …of which did not match `patterns`. */
  unmatched: number
  /** …of which matched but were modified after the cutoff (being written). */
  recent: Candidate[]
  visited: number
  truncated: boolean
}

/** `path` is `dir` or inside it. */
function inside (path: string, dir: string): boolean {
  const r = relative(dir, path)
  return r === '' || (!r.startsWith('..') && !isAbsolute(r))
}

async function collect (roots: readonly string[], patterns: RegExp[], cutoffOf: (path: string) => number, maxEntries: number): Promise<Walk> {
  const w: Walk = { candidates: [], files: 0, unmatched: 0, recent: [], visited: 0, truncated: false }
  const stack = [...roots]
  while (stack.length > 0) {
    const dir = stack.pop() as string
    let names: string[]
    try { names = await readdir(dir) } catch { continue }
    for (const n of names) {
      if (++w.visited > maxEntries) { w.truncated = true; return w }
      const p = join(dir, n)
      let st
      try { st = await lstat(p) } catch { continue }
      if (st.isDirectory()) { stack.push(p); continue }
      if (!st.isFile()) continue
      w.files++
      if (patterns.length > 0 && !patterns.some((r) => r.test(n))) { w.unmatched++; continue }
      const c = { path: p, bytes: st.size, mtimeMs: st.mtimeMs }
      if (st.mtimeMs < cutoffOf(p)) w.candidates.push(c); else w.recent.push(c)
    }
  }
  return w
}

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1)

/** Why nothing could be freed, in words a user can act on (pure). */
export function nothingFreedReason (cfg: Pick<FreeDiskConfig, 'paths' | 'patterns'>, w: Pick<Walk, 'files' | 'unmatched' | 'recent' | 'truncated'>, keepRecentMs: number, failed: readonly string[]): string {
  const where = cfg.paths.join(', ')
  if (failed.length > 0) return `could not delete ${failed.length} file(s) under ${where} (${failed.slice(0, 2).join('; ')})`
  if (w.files === 0) return `there are no files under ${where}${w.truncated ? ' (walk truncated)' : ''}`
  if (w.recent.length === 0 && w.unmatched === w.files) return `none of the ${w.files} file(s) under ${where} matches the configured patterns (${(cfg.patterns ?? []).join(', ')})`
  const newest = [...w.recent].sort((a, b) => b.mtimeMs - a.mtimeMs)[0]
  return `all ${w.recent.length} matching file(s) under ${where} (${mb(w.recent.reduce((a, c) => a + c.bytes, 0))} MB) were modified in the last ${Math.round(keepRecentMs / 1000)} s (keepRecentMs), so they are still being written${newest !== undefined ? `: the newest is ${newest.path} (${mb(newest.bytes)} MB)` : ''}`
}

export interface FreeResult {
  freedBytes: number
  deleted: string[]
  failed: string[]
  walk: Walk
  keepRecentMs: number
  targetBytes: number
  maxFiles: number
}

/**
 * Deletes the oldest disposable files per `cfg`. `stoppedWriter`: the component whose directory this is was
 * stopped at that time, so its files written before then are no longer "being written" (only inside `dir`).
 */
export async function freeDiskFiles (cfg: FreeDiskConfig, defaults: RecoveryDefaults, signal: AbortSignal, stoppedWriter?: { dir: string, atMs: number }): Promise<FreeResult> {
  const patterns = (cfg.patterns ?? []).map((p) => new RegExp(p))
  const keepRecentMs = cfg.keepRecentMs ?? defaults.freeDiskKeepRecentMs
  const targetBytes = (cfg.targetMb ?? defaults.freeDiskTargetMb) * 1024 * 1024
  const maxFiles = cfg.maxFiles ?? defaults.freeDiskMaxFiles
  // File mtimes are wall-clock times, so compare against the real clock, not the injected one.
  const cutoff = Date.now() - keepRecentMs
  const cutoffOf = (p: string): number => stoppedWriter !== undefined && inside(p, stoppedWriter.dir) ? Math.max(cutoff, stoppedWriter.atMs) : cutoff
  const walk = await collect(cfg.paths, patterns, cutoffOf, defaults.freeDiskMaxEntries)
  const plan = selectFilesToFree(walk.candidates, targetBytes, maxFiles)
  let freedBytes = 0
  const deleted: string[] = []
  const failed: string[] = []
  for (const f of plan.files) {
    if (signal.aborted) break
    try {
      await unlink(f.path)
      freedBytes += f.bytes
      deleted.push(f.path)
    } catch (err) {
      failed.push(`${f.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  return { freedBytes, deleted, failed, walk, keepRecentMs, targetBytes, maxFiles }
}

export function freeEvidence (r: FreeResult, lines: number): string[] {
  return [
    ...r.deleted.slice(0, lines - 2).map((p) => `deleted ${p}`),
    ...(r.deleted.length > lines - 2 ? [`… and ${r.deleted.length - (lines - 2)} more`] : []),
    ...r.failed.slice(0, 2).map((l) => `could not delete ${l}`)
  ]
}

export const freeDisk: ActionImpl = async (ctx: ActionContext) => {
  const cfg = ctx.config.freeDisk
  if (cfg == null) throw new UnsupportedActionError('free_disk', ctx.component, 'no freeDisk paths configured (recovery.<component>.freeDisk): nothing is known to be safe to delete')
  const r = await freeDiskFiles(cfg, ctx.defaults, ctx.signal)
  const data = { freedBytes: r.freedBytes, files: r.deleted.length, failed: r.failed.length, candidates: r.walk.candidates.length, tooRecent: r.walk.recent.length, unmatched: r.walk.unmatched, visited: r.walk.visited, truncated: r.walk.truncated, targetBytes: r.targetBytes, maxFiles: r.maxFiles }
  if (r.freedBytes === 0 && r.deleted.length === 0) {
    throw new RecoveryError(RECOVERY_ERROR_CODES.actionFailed, `freed nothing: ${nothingFreedReason(cfg, r.walk, r.keepRecentMs, r.failed)}`)
  }
  return {
    summary: `freed ${mb(r.freedBytes)} MB in ${r.deleted.length} files under ${cfg.paths.join(', ')} (oldest first${r.walk.truncated ? '; walk truncated' : ''}${r.walk.recent.length > 0 ? `; kept ${r.walk.recent.length} file(s) still being written` : ''})`,
    evidence: freeEvidence(r, ctx.defaults.evidenceLines),
    data
  }
}
