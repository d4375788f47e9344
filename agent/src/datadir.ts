// The data directory: 0700, holding the API token (0600), the swarm key when
// generated there, the incident log and the store. Checked at every start.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync, openSync, closeSync, unlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DataDirError } from './errors.ts'

export const TOKEN_FILE = 'api.token'
export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'

/** Creates `dir` (0700) if missing. Returns warnings about unsafe modes on an existing dir. */
export function ensureDataDir (dir: string): string[] {
  const warnings: string[] = []
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      chmodSync(dir, 0o700)
    } else {
      const st = statSync(dir)
      if (!st.isDirectory()) throw new DataDirError(`data dir ${dir} exists and is not a directory`)
      if ((st.mode & 0o077) !== 0) warnings.push(`data dir ${dir} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); expected 700`)
    }
  } catch (err) {
    if (err instanceof DataDirError) throw err
    throw new DataDirError(`cannot create data dir ${dir}: ${(err as Error).message}`, { cause: err })
  }
  return warnings
}

/** Writes `data` to `file` atomically with `mode` (temp file + rename). */
export function writeSecretFile (file: string, data: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, data, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, file)
}

/** Reads the API token, creating a fresh one (256 bits, mode 0600) if missing. */
export function ensureToken (dataDir: string): string {
  const file = join(dataDir, TOKEN_FILE)
  if (existsSync(file)) return readToken(dataDir)
  const token = randomBytes(32).toString('hex')
  // O_EXCL so two agents racing on one data dir agree on one token.
  try {
    const fd = openSync(file, 'wx', 0o600)
    closeSync(fd)
    writeSecretFile(file, token + '\n')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(dataDir)
    throw new DataDirError(`cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
  return token
}

export function readToken (dataDir: string): string {
  const file = join(dataDir, TOKEN_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new DataDirError(`cannot read the API token ${file}: ${(err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied (run as the agent\'s user)' : (err as Error).message}`, { cause: err })
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new DataDirError(`API token ${file} is malformed (expected 64 hex characters); delete it and restart the agent to make a new one`)
  return text
}

/** A fresh libp2p private-network key, in the pnet file format. */
export function generateSwarmKey (): string {
  return SWARM_KEY_HEADER + randomBytes(32).toString('hex') + '\n'
}

/** Validates a swarm key file's content; throws DataDirError naming the file. */
export function checkSwarmKey (file: string): Uint8Array {
  let text: string
  try {
    const st = statSync(file)
    if ((st.mode & 0o077) !== 0) throw new DataDirError(`swarm key ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`)
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (err instanceof DataDirError) throw err
    throw new DataDirError(`cannot read swarm key ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (homeostat init writes one; copy the same key to every node of the fleet)' : (err as Error).message}`, { cause: err })
  }
  if (!/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\s*$/.test(text)) {
    throw new DataDirError(`swarm key ${file} is malformed: expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex characters on three lines`)
  }
  return new TextEncoder().encode(text)
}

/** A pid file that tells a second agent on the same data dir to stop. */
export function acquirePidFile (dataDir: string): () => void {
  const file = join(dataDir, 'agent.pid')
  if (existsSync(file)) {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    let alive = false
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try { process.kill(pid, 0); alive = true } catch (err) { alive = (err as NodeJS.ErrnoException).code === 'EPERM' }
    }
    if (alive) throw new DataDirError(`another agent (pid ${pid}) is using data dir ${dataDir}`)
  }
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 })
  return () => { try { if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file) } catch {} }
}
