// The store-like seam learning (and the planner) persist through: get/put of
// JSON values by key. The agent passes a LevelDB-backed one; this file has a
// memory store for tests and a file store (one JSON file per key, written
// atomically via rename) for a daemon with no database.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LearningError } from './errors.ts'

export interface JsonStore {
  /** The stored value, or undefined when the key was never written. */
  get: (key: string) => Promise<unknown>
  put: (key: string, value: unknown) => Promise<void>
}

export function createMemoryJsonStore (): JsonStore & { raw: Map<string, string> } {
  const raw = new Map<string, string>()
  return {
    raw,
    get: async (key) => {
      const v = raw.get(key)
      return v === undefined ? undefined : JSON.parse(v)
    },
    put: async (key, value) => { raw.set(key, JSON.stringify(value)) }
  }
}

const safeKey = (key: string): string => {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(key)) throw new LearningError('ERR_BAD_OPTIONS', `store key must match [A-Za-z0-9._-]{1,128}, got ${JSON.stringify(key)}`)
  return key
}

/** Values live in `<dir>/<key>.json`; a write goes to a temp file first, so a crash never leaves half a file. */
export function createFileJsonStore (dir: string): JsonStore {
  let seq = 0
  return {
    async get (key) {
      let text: string
      try {
        text = await readFile(join(dir, `${safeKey(key)}.json`), 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      try {
        return JSON.parse(text)
      } catch (err) {
        throw new LearningError('ERR_BAD_SNAPSHOT', `${key}.json is not valid JSON: ${(err as Error).message}`)
      }
    },
    async put (key, value) {
      await mkdir(dir, { recursive: true })
      const file = join(dir, `${safeKey(key)}.json`)
      const tmp = `${file}.${process.pid}.${seq++}.tmp`
      await writeFile(tmp, JSON.stringify(value))
      await rename(tmp, file)
    }
  }
}
