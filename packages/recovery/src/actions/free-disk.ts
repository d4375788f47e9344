// free_disk: delete the oldest files under configured directories until a
// target amount is freed. Bounded: only configured directories, never follows
// symlinks, skips files written very recently, caps files deleted and entries
// visited. Nothing can be undone, so it is recorded in full.
import { lstat, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { UnsupportedActionError } from '../errors.ts'
import type { ActionImpl } from './types.ts'

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

async function collect (roots: readonly string[], patterns: RegExp[], keepAfterMs: number, maxEntries: number): Promise<{ candidates: Candidate[], visited: number, truncated: boolean }> {
  const candidates: Candidate[] = []
  const stack = [...roots]
  let visited = 0
  while (stack.length > 0) {
    const dir = stack.pop() as string
    let names: string[]
    try { names = await readdir(dir) } catch { continue }
    for (const n of names) {
      if (++visited > maxEntries) return { candidates, visited, truncated: true }
      const p = join(dir, n)
      let st
      try { st = await lstat(p) } catch { continue }
      if (st.isDirectory()) stack.push(p)
      else if (st.isFile() && st.mtimeMs < keepAfterMs && (patterns.length === 0 || patterns.some((r) => r.test(n)))) {
        candidates.push({ path: p, bytes: st.size, mtimeMs: st.mtimeMs })
      }
    }
  }
  return { candidates, visited, truncated: false }
}

export const freeDisk: ActionImpl = async (ctx) => {
  const cfg = ctx.config.freeDisk
  if (cfg == null) throw new UnsupportedActionError('free_disk', ctx.component, 'no freeDisk paths configured')
  const patterns = (cfg.patterns ?? []).map((p) => new RegExp(p))
  const keepRecentMs = cfg.keepRecentMs ?? ctx.defaults.freeDiskKeepRecentMs
  const targetBytes = (cfg.targetMb ?? ctx.defaults.freeDiskTargetMb) * 1024 * 1024
  const maxFiles = cfg.maxFiles ?? ctx.defaults.freeDiskMaxFiles
  // File mtimes are wall-clock times, so compare against the real clock, not the injected one.
  const { candidates, visited, truncated } = await collect(cfg.paths, patterns, Date.now() - keepRecentMs, ctx.defaults.freeDiskMaxEntries)
  const plan = selectFilesToFree(candidates, targetBytes, maxFiles)
  let freed = 0
  const deleted: string[] = []
  const failed: string[] = []
  for (const f of plan.files) {
    if (ctx.signal.aborted) break
    try {
      await unlink(f.path)
      freed += f.bytes
      deleted.push(f.path)
    } catch (err) {
      failed.push(`${f.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  const mb = (freed / 1024 / 1024).toFixed(1)
  const evidence = [
    ...deleted.slice(0, ctx.defaults.evidenceLines - 2).map((p) => `deleted ${p}`),
    ...(deleted.length > ctx.defaults.evidenceLines - 2 ? [`… and ${deleted.length - (ctx.defaults.evidenceLines - 2)} more`] : []),
    ...failed.slice(0, 2).map((l) => `could not delete ${l}`)
  ]
  return {
    summary: `freed ${mb} MB in ${deleted.length} files under ${cfg.paths.join(', ')} (oldest first${truncated ? '; walk truncated' : ''})`,
    evidence,
    data: { freedBytes: freed, files: deleted.length, failed: failed.length, candidates: candidates.length, visited, truncated, targetBytes, maxFiles }
  }
}
