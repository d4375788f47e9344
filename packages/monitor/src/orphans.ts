// What an earlier run of the supervisor left behind. The supervisor writes
// every process it starts to a small file in the agent's data dir (pid,
// process group, kernel start time, boot id, the run's id) and removes it on
// exit. If the agent is SIGKILLed, its children live on (each runs in its own
// process group), but their stdout/stderr pipes died with the agent: a copy
// that is adopted would fail its next write (EPIPE, or SIGPIPE for a C
// program). So a later run stops them cleanly (SIGTERM + SIGCONT, a grace,
// then SIGKILL) before it starts fresh copies: a supervised service never runs
// twice, and its port is free for the new copy.
//
// A pid can be reused after its process exits, so a record matches a live
// process only if the boot id and the kernel's start time agree. Processes of
// the group whose leader is already gone are recognised by the environment
// the supervisor gave them (HOMEOSTAT_COMPONENT and HOMEOSTAT_SUPERVISOR_RUN,
// inherited by their children), never by pid alone.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { parseProcPidStat } from './metrics/proc.ts'

export const ORPHAN_DEFAULTS = {
  /** SIGTERM → SIGKILL grace for a leftover copy: the supervisor's own stop grace. */
  graceMs: 3_000,
  /** How often the exit of a process that is not our child is polled (no waitpid for it). */
  pollMs: 20,
  /** Records kept (one per component; bounds a corrupt or hostile file). */
  maxRecords: 256
} as const

/** Environment variable naming the supervisor run that started a process (inherited by its children). */
export const RUN_ENV = 'HOMEOSTAT_SUPERVISOR_RUN'
/** Environment variable naming the component (set by the supervisor). */
export const COMPONENT_ENV = 'HOMEOSTAT_COMPONENT'

export interface ChildRecord {
  name: string
  pid: number
  /** The kernel's start time of the process (/proc/PID/stat field 22), clock ticks since boot. */
  startTicks: number
  startedAtMs: number
  command: string
}

export interface ChildFile {
  v: 1
  bootId: string
  runId: string
  children: ChildRecord[]
}

export interface OrphanStopped {
  name: string
  pid: number
  /** Processes signalled (the leader and any of its group still alive). */
  pids: number[]
  /** When the old copy was started (by the earlier run). */
  startedAtMs: number
  /** SIGTERM was enough, or SIGKILL was needed. */
  signal: 'SIGTERM' | 'SIGKILL'
  stoppedInMs: number
}

export function newRunId (): string {
  return randomBytes(6).toString('hex')
}

export function bootId (procRoot = '/proc'): string {
  try { return readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim() } catch { return 'unknown' }
}

/** Start time (ticks since boot) and process group of a live pid, or undefined. */
export function processIdentity (pid: number, procRoot = '/proc'): { startTicks: number, pgrp: number, state: string } | undefined {
  let text: string
  try { text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8') } catch { return undefined }
  const st = parseProcPidStat(text)
  if (st === undefined || st.state === 'Z' || st.state === 'X') return undefined
  return { startTicks: st.startTicks, pgrp: st.pgrp, state: st.state }
}

/** Parses the record file; anything malformed is dropped (the file is ours, but a crash may have torn it). */
export function parseChildFile (text: string): ChildFile | undefined {
  let v: unknown
  try { v = JSON.parse(text) } catch { return undefined }
  if (v === null || typeof v !== 'object') return undefined
  const o = v as Partial<ChildFile>
  if (o.v !== 1 || typeof o.bootId !== 'string' || typeof o.runId !== 'string' || !Array.isArray(o.children)) return undefined
  const children = o.children.slice(0, ORPHAN_DEFAULTS.maxRecords).filter((c): c is ChildRecord =>
    c !== null && typeof c === 'object' && typeof c.name === 'string' && Number.isInteger(c.pid) && c.pid > 1 &&
    Number.isFinite(c.startTicks) && Number.isFinite(c.startedAtMs) && typeof c.command === 'string')
  return { v: 1, bootId: o.bootId, runId: o.runId, children }
}

/** Writes the file durably: a temp file, fsync, rename over the old one. */
export function writeChildFile (path: string, f: ChildFile): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, JSON.stringify(f))
    fsyncSync(fd)
  } finally { closeSync(fd) }
  renameSync(tmp, path)
}

export function readChildFile (path: string): ChildFile | undefined {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch { return undefined }
  return parseChildFile(text)
}

function environOf (pid: number, procRoot: string): string[] {
  try { return readFileSync(`${procRoot}/${pid}/environ`, 'utf8').split('\0') } catch { return [] }
}

/** Live processes of process group `pgid` that carry `name`'s and `runId`'s markers in their environment. */
export function markedGroupMembers (pgid: number, name: string, runId: string, procRoot = '/proc'): number[] {
  const out: number[] = []
  let entries: string[]
  try { entries = readdirSync(procRoot) } catch { return out }
  const want = [`${COMPONENT_ENV}=${name}`, `${RUN_ENV}=${runId}`]
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    const pid = Number(e)
    const id = processIdentity(pid, procRoot)
    if (id === undefined || id.pgrp !== pgid) continue
    const env = environOf(pid, procRoot)
    if (want.every((w) => env.includes(w))) out.push(pid)
  }
  return out
}

/**
 * The processes of a record that are still alive and provably ours: the whole group if its leader is the
 * recorded process (same boot, same kernel start time), else the group's members carrying our markers.
 */
export function leftoversOf (rec: ChildRecord, file: Pick<ChildFile, 'bootId' | 'runId'>, currentBootId: string, procRoot = '/proc'): { group: boolean, pids: number[] } {
  if (file.bootId !== currentBootId) return { group: false, pids: [] } // a reboot ended every process
  const id = processIdentity(rec.pid, procRoot)
  if (id !== undefined && id.startTicks === rec.startTicks) return { group: id.pgrp === rec.pid, pids: [rec.pid] }
  return { group: false, pids: markedGroupMembers(rec.pid, rec.name, file.runId, procRoot) }
}

/** Alive and not a zombie (an orphan's zombie waits for init to reap it: it is gone for our purposes). */
const alive = (pid: number): boolean => {
  try { process.kill(pid, 0) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false }
  return processIdentity(pid) !== undefined
}

/** Sends `sig` to the group (or to each pid). */
function send (target: { group: boolean, pids: number[] }, leader: number, sig: NodeJS.Signals): void {
  if (target.group) { try { process.kill(-leader, sig); return } catch {} }
  for (const p of target.pids) { try { process.kill(p, sig) } catch {} }
}

/**
 * Stops what `file` says an earlier run left behind. SIGCONT follows SIGTERM (a stopped process could
 * not act on it), as systemd does; SIGKILL after `graceMs`.
 */
export async function stopLeftovers (file: ChildFile, opts: { procRoot?: string, graceMs?: number, now?: () => number, sleep?: (ms: number) => Promise<void> } = {}): Promise<OrphanStopped[]> {
  const procRoot = opts.procRoot ?? '/proc'
  const graceMs = opts.graceMs ?? ORPHAN_DEFAULTS.graceMs
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? (async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const current = bootId(procRoot)
  const found = file.children.map((rec) => ({ rec, target: leftoversOf(rec, file, current, procRoot) })).filter((x) => x.target.pids.length > 0)
  if (found.length === 0) return []
  const t0 = now()
  for (const { rec, target } of found) { send(target, rec.pid, 'SIGTERM'); send(target, rec.pid, 'SIGCONT') }
  const groupAlive = (rec: ChildRecord, target: { group: boolean, pids: number[] }): boolean => {
    if (target.group) { try { process.kill(-rec.pid, 0) } catch { return false } }
    return target.group ? target.pids.some(alive) || markedOrLeaderAlive(rec) : target.pids.some(alive)
  }
  // A group outlives its leader while a member lives: the leader's zombie or exit does not end the wait.
  const markedOrLeaderAlive = (rec: ChildRecord): boolean => markedGroupMembers(rec.pid, rec.name, file.runId, procRoot).length > 0
  const out: OrphanStopped[] = found.map(({ rec, target }) => ({ name: rec.name, pid: rec.pid, pids: target.pids, startedAtMs: rec.startedAtMs, signal: 'SIGTERM', stoppedInMs: 0 }))
  const pending = new Set(found.map((_, i) => i))
  while (pending.size > 0 && now() - t0 < graceMs) {
    for (const i of [...pending]) if (!groupAlive(found[i]!.rec, found[i]!.target)) { pending.delete(i); out[i]!.stoppedInMs = now() - t0 }
    if (pending.size > 0) await sleep(ORPHAN_DEFAULTS.pollMs)
  }
  for (const i of pending) {
    const { rec, target } = found[i]!
    send(target, rec.pid, 'SIGKILL')
    out[i]!.signal = 'SIGKILL'
  }
  for (const i of pending) {
    const { rec, target } = found[i]!
    for (let k = 0; k < 50 && groupAlive(rec, target); k++) await sleep(ORPHAN_DEFAULTS.pollMs)
    out[i]!.stoppedInMs = now() - t0
  }
  return out
}
