// Where the agent keeps its replicated documents (the meso loop's coordination
// state, the federated loop's model registry): the agent's LevelDB store, one
// raw sub-store per document (coordination's storePersistence). Agents before
// the store kept one base64 line per update in a file in the data dir; such a
// file is imported once and renamed `<file>.migrated`.
import { readFile, rename } from 'node:fs/promises'
import { storePersistence, type RawStore, type UpdatePersistence } from '@homeostat/coordination'

/** Reads a pre-store update log (one base64 line per update); a torn last line (SIGKILL mid-write) is skipped. */
export async function readLegacyUpdateLog (file: string): Promise<Uint8Array[] | undefined> {
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; throw err }
  const out: Uint8Array[] = []
  for (const l of text.split('\n')) {
    if (l === '' || !/^[A-Za-z0-9+/=]+$/.test(l)) continue
    out.push(new Uint8Array(Buffer.from(l, 'base64')))
  }
  return out
}

export function docPersistence (store: RawStore, sub: string, o: { legacyFile?: string, log?: (msg: string, fields: object) => void } = {}): UpdatePersistence {
  const p = storePersistence(store, sub)
  return {
    ...p,
    async load () {
      const held = await p.load()
      if (o.legacyFile === undefined) return held
      const legacy = await readLegacyUpdateLog(o.legacyFile)
      if (legacy === undefined) return held
      for (const u of legacy) await p.append(u)
      await rename(o.legacyFile, o.legacyFile + '.migrated')
      o.log?.('imported a pre-store update log into the agent store', { file: o.legacyFile, updates: legacy.length, sub })
      return [...held, ...legacy]
    }
  }
}
