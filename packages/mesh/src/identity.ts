// Peer-id persistence: the private key as libp2p protobuf bytes in a file (mode 0600).
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { IdentityStore } from './node.ts'

export function fileIdentity (path: string): IdentityStore {
  return {
    async load () {
      try {
        return new Uint8Array(await readFile(path))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async save (key) {
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}.tmp`
      await writeFile(tmp, key, { mode: 0o600 })
      await rename(tmp, path)
    }
  }
}
