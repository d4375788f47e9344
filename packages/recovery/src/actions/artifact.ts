// Artifact versions on disk, for rollback. Two layouts:
// - `path` is a symlink to one of several sibling versions (models/current →
//   models/v3): roll back re-points it to the version sorted just before.
// - `path` is a regular file with `<path>.prev` beside it: the two are swapped.
// Both switch atomically (rename over the old name).
import { lstat, readlink, readdir, rename, symlink, unlink } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { ActionFailedError } from '../errors.ts'

export interface ArtifactSwitch {
  /** What the path held before. */
  from: string
  /** What it holds now. */
  to: string
  /** Restores `from`. */
  undo: () => Promise<void>
}

const collator = new Intl.Collator('en', { numeric: true })

async function exists (p: string): Promise<boolean> {
  try { await lstat(p); return true } catch { return false }
}

async function pointSymlink (path: string, to: string): Promise<void> {
  const tmp = `${path}.homeostat-tmp-${process.pid}`
  await unlink(tmp).catch(() => {})
  await symlink(to, tmp)
  await rename(tmp, path)
}

/** The version a rollback would switch to, or undefined when there is none. */
export async function previousArtifact (path: string): Promise<string | undefined> {
  let st
  try { st = await lstat(path) } catch { return undefined }
  if (st.isSymbolicLink()) {
    const link = await readlink(path)
    const current = isAbsolute(link) ? link : resolve(dirname(path), link)
    const dir = dirname(current)
    const name = basename(current)
    const siblings = (await readdir(dir)).filter((n) => !n.startsWith('.') && join(dir, n) !== resolve(path)).sort(collator.compare)
    const i = siblings.indexOf(name)
    if (i <= 0) return undefined
    return join(dir, siblings[i - 1])
  }
  return (await exists(`${path}.prev`)) ? `${path}.prev` : undefined
}

export async function rollbackArtifact (path: string): Promise<ArtifactSwitch> {
  const st = await lstat(path).catch((err: unknown) => { throw new ActionFailedError('rollback', `artifact ${path}: ${(err as Error).message}`) })
  const prev = await previousArtifact(path)
  if (prev == null) throw new ActionFailedError('rollback', `no previous version of ${path}`)
  if (st.isSymbolicLink()) {
    const link = await readlink(path)
    await pointSymlink(path, prev)
    return { from: link, to: prev, undo: async () => { await pointSymlink(path, link) } }
  }
  // Regular file: path ↔ path.prev, via a third name so neither is ever missing for long.
  const tmp = `${path}.homeostat-swap`
  await rename(path, tmp)
  await rename(`${path}.prev`, path)
  await rename(tmp, `${path}.prev`)
  const swapBack = async (): Promise<void> => {
    await rename(path, tmp)
    await rename(`${path}.prev`, path)
    await rename(tmp, `${path}.prev`)
  }
  return { from: `${path} (now ${path}.prev)`, to: `${path}.prev (now ${path})`, undo: swapBack }
}
