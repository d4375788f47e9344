// Who listens on a TCP port (Linux /proc): the listening sockets of
// /proc/net/tcp{,6} and the process whose file descriptors hold them. Used to
// tell a component's own answer from a stale copy's (or a stranger's) that
// holds its port: a probe that passes because someone else answers is not a
// recovery, and "port 8080 is held by pid 1234" is a cause, not a mystery.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { parseProcPidStat } from './metrics/proc.ts'

export const PORTS_DEFAULTS = {
  /** Processes whose descriptors are scanned for the owner at most (bounded cost on a busy host). */
  maxProcesses: 4096,
  /** Descriptors read per process at most. */
  maxFdsPerProcess: 4096
} as const

export interface PortOwner {
  port: number
  pid: number
  /** Its process group (a supervised component's group is its leader's pid). */
  pgrp: number
  /** Its command line, for the record (cut to 200 characters). */
  command: string
}

/** Inodes of the LISTEN sockets on `port` in a /proc/net/tcp(6) table (pure). */
export function listeningInodes (table: string, port: number): string[] {
  const out: string[] = []
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    const local = f[1]!
    if (f[3] !== '0A') continue // TCP_LISTEN
    if (local.slice(local.lastIndexOf(':') + 1) !== hexPort) continue
    if (f[9] !== '0') out.push(f[9]!)
  }
  return out
}

/** The port a probe of this spec connects to on this host, if it is a local http(s) or tcp probe. */
export function localProbePort (probe: { kind: string, url?: string, host?: string, port?: number }): number | undefined {
  const local = (h: string): boolean => h === 'localhost' || h === '0.0.0.0' || h === '::' || h === '::1' || h === '[::1]' || /^127\./.test(h)
  if (probe.kind === 'tcp' && probe.port !== undefined) return local(probe.host ?? '127.0.0.1') ? probe.port : undefined
  if (probe.kind === 'http' && probe.url !== undefined) {
    try {
      const u = new URL(probe.url)
      if (!local(u.hostname)) return undefined
      return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
    } catch { return undefined }
  }
  return undefined
}

function read (path: string): string | undefined {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}

function holds (pid: number, wanted: Set<string>, procRoot: string): boolean {
  let fds: string[]
  try { fds = readdirSync(`${procRoot}/${pid}/fd`) } catch { return false }
  for (const fd of fds.slice(0, PORTS_DEFAULTS.maxFdsPerProcess)) {
    let link: string
    try { link = readlinkSync(`${procRoot}/${pid}/fd/${fd}`) } catch { continue }
    if (link.startsWith('socket:[') && wanted.has(link.slice(8, -1))) return true
  }
  return false
}

function describe (pid: number, port: number, procRoot: string): PortOwner {
  const st = parseProcPidStat(read(`${procRoot}/${pid}/stat`) ?? '')
  const cmd = (read(`${procRoot}/${pid}/cmdline`) ?? '').split('\0').filter((x) => x !== '').join(' ').slice(0, 200)
  return { port, pid, pgrp: st?.pgrp ?? pid, command: cmd }
}

/**
 * The process listening on `port`, or undefined when nothing listens. `null` when something listens but
 * its owner is not visible to us (another user's process without root). Processes in `first` are looked
 * at before the rest of /proc (the component's own, usually the answer).
 */
export function portOwner (port: number, opts: { first?: readonly number[], procRoot?: string } = {}): PortOwner | null | undefined {
  const procRoot = opts.procRoot ?? '/proc'
  const inodes = new Set([...listeningInodes(read(`${procRoot}/net/tcp`) ?? '', port), ...listeningInodes(read(`${procRoot}/net/tcp6`) ?? '', port)])
  if (inodes.size === 0) return undefined
  for (const pid of opts.first ?? []) if (holds(pid, inodes, procRoot)) return describe(pid, port, procRoot)
  let entries: string[]
  try { entries = readdirSync(procRoot) } catch { return null }
  let n = 0
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    if (++n > PORTS_DEFAULTS.maxProcesses) break
    const pid = Number(e)
    if (opts.first?.includes(pid) === true) continue
    if (holds(pid, inodes, procRoot)) return describe(pid, port, procRoot)
  }
  return null
}
