// Checkpoints on disk: written atomically (temp file, fsync, rename, fsync of
// the directory), checksummed, and semantically validated when read back. A
// torn or corrupt file is detected and the previous checkpoint is used.
// The agent now keeps checkpoints in its LevelDB store (checkpoint-store.ts);
// this directory form stays for one release and as the legacy import's source.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CheckpointError } from './errors.ts'
import { decodeCheckpoint, encodeCheckpoint, validateCheckpoint, type ModelCheckpoint, type ParameterBounds } from './checkpoint.ts'
import type { Tunable } from './tunable.ts'

export const CHECKPOINT_DIR_DEFAULTS = {
  /** Checkpoints kept on disk: enough to step back past a bad one or two. */
  keep: 5
} as const

const NAME = /^ckpt-(\d{10})\.bin$/

export interface CheckpointDir {
  write: (cp: ModelCheckpoint) => Promise<string>
  /** Newest checkpoint that decodes, matches its hash and passes validation; skipped files are reported. */
  readLatest: (bounds?: ParameterBounds) => Promise<{ checkpoint?: ModelCheckpoint, skipped: Array<{ file: string, code: string, message: string }> }>
  list: () => Promise<string[]>
}

/**
 * Checkpoints as files in `dir`.
 * @deprecated The agent keeps them in its store: `storeCheckpointDir` (whose `legacy` option imports such a
 * directory once). Kept for one release.
 */
export function checkpointDir (dir: string, parameterCount: number, options: Tunable<typeof CHECKPOINT_DIR_DEFAULTS> = {}): CheckpointDir {
  const keep = options.keep ?? CHECKPOINT_DIR_DEFAULTS.keep
  const list = async (): Promise<string[]> => {
    try {
      return (await readdir(dir)).filter((f) => NAME.test(f)).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }
  return {
    list,
    async write (cp) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const name = `ckpt-${String(cp.version + 1).padStart(10, '0')}.bin`
      const tmp = join(dir, `.${name}.${process.pid}.tmp`)
      const fh = await open(tmp, 'w', 0o600)
      try {
        await fh.writeFile(encodeCheckpoint(cp))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, join(dir, name))
      const d = await open(dir, 'r')
      try { await d.sync() } finally { await d.close() }
      const files = await list()
      for (const f of files.slice(0, Math.max(0, files.length - keep))) await rm(join(dir, f), { force: true })
      return join(dir, name)
    },
    async readLatest (bounds) {
      const skipped: Array<{ file: string, code: string, message: string }> = []
      for (const f of (await list()).reverse()) {
        try {
          const cp = decodeCheckpoint(await readFile(join(dir, f)), parameterCount)
          validateCheckpoint(cp, bounds)
          return { checkpoint: cp, skipped }
        } catch (err) {
          const code = err instanceof CheckpointError ? err.code : 'FED_CHECKPOINT_CORRUPT'
          skipped.push({ file: f, code, message: (err as Error).message })
        }
      }
      return { skipped }
    }
  }
}
