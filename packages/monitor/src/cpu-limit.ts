// cpu-limit: hold one process group to a share of CPU by duty cycle
// (SIGSTOP / SIGCONT to the whole group), as cpulimit does. It is the method
// of last resort where no cgroup cpu controller is writable: `nice` cannot do
// it (priority only matters under contention; a lone busy process keeps its
// whole core at nice 19).
//
// Each period the group runs for `runFraction · periodMs` and is stopped for
// the rest. The run fraction is steered from what the group really used,
// read from /proc (utime+stime of every member, and the children they reaped)
// over a sliding window: the group's demand while running is measured ÷ run
// fraction, and the next run fraction is what lets that demand use the limit.
//
// Decisions:
// - Stops we did not make are left alone. At the end of each run slice the
//   members' states are read anyway (for their CPU); a member in `T`/`t` then
//   was stopped by someone else (an operator, a debugger, a chaos test). While
//   that lasts the limiter sends nothing — no SIGCONT that would undo their
//   stop, no SIGSTOP — and counts `foreignStopPeriods`; the limit is not
//   enforced meanwhile (a stopped member uses no CPU). A foreign SIGSTOP that
//   arrives *during our* stopped slice cannot be told apart from ours and is
//   undone by our next SIGCONT (signals do not stack); this is documented,
//   not solved.
// - stop() sends SIGCONT only if we hold the group stopped, so it always
//   leaves the group as we found it: never frozen by us. One process 'exit'
//   hook (shared by all limiters) does the same if the agent exits without
//   stopping them. Only a SIGKILL of the agent can leave a group stopped.
// - Members are the processes whose pgrp is `pgid`. A member that moves to
//   another group (setsid, setpgid) escapes the limit, as it escapes a
//   signal to the group.
import { closeSync, openSync, readSync, readdirSync, readFileSync } from 'node:fs'
import { HomeostatError } from '@homeostat/interface'
import { CLOCK_TICKS_PER_S } from './metrics/proc.ts'
import { realScheduler } from './events.ts'

export const CPU_LIMIT_DEFAULTS = {
  /**
   * 100 ms, cpulimit's slot and the kernel's CFS period. A request that
   * arrives while the group is stopped waits at most the stopped slice
   * (≤ 95 ms with `minRunFraction` 0.05), well under probe timeouts (1 s by
   * default) and below what a user of a throttled service notices. 10 ms
   * would cost ten times the agent's wakeups and make Node's ~1 ms timer
   * lateness a tenth of each slice; 1 s would stall requests for half a
   * second at 0.5 cores and let probes time out.
   */
  periodMs: 100,
  /**
   * 3 ms: Node's timers have 1 ms resolution and fire ~1 ms late, so a
   * shorter slice cannot be timed. A stopped slice shorter than this is
   * skipped (the group runs the whole period: a 2 ms stop is not worth two
   * signals); a run slice is never shorter.
   */
  minSliceMs: 3,
  /**
   * 0.05: the group always runs at least 5 ms per 100 ms period, so it keeps
   * making progress (and answering signals such as SIGTERM promptly) however
   * low the limit; it also bounds the stopped slice at 95 ms.
   */
  minRunFraction: 0.05,
  /**
   * Aim at 95 % of the limit: CPU times in /proc count 10 ms ticks and timers
   * fire late, so aiming at the limit itself would put a reader's short
   * window (the cpu_hog verifier reads 300 ms) over it about half the time.
   */
  aimRatio: 0.95,
  /**
   * 1 s (10 periods): /proc counts in 10 ms ticks, so a 1 s window reads a
   * half-core group to ±2 %; a longer one reacts later when the group's
   * demand changes (a new busy thread).
   */
  windowMs: 1_000,
  /**
   * 300 ms: the run fraction is first steered once this much has been
   * measured (±3 % at 10 ms ticks per reading); until then the first guess
   * holds (the limit itself, as if the group wanted one core).
   */
  minMeasureMs: 300,
  /**
   * 2: the run fraction at most doubles per period, so a group that looked
   * idle (a member not yet found, a lost reading) is let go over a few
   * periods, not at once.
   */
  maxGrowth: 2,
  /**
   * 1 s between looks for new members, starting at one period and doubling up
   * to this (a group usually spawns its workers right after it starts). A
   * look is incremental — /proc's listing plus the stat of pids not listed at
   * the last look (pids wrap, so not "pids above the highest seen": pid_max is
   * 32768 on many hosts) — and a member is counted from its birth (its start time
   * against /proc/uptime), so what it used before it was found is not lost,
   * only the reaction to it waits. Children too short-lived to be found are
   * counted when a member reaps them (cutime/cstime), so a group that forks
   * all the time costs no more looks.
   */
  rescanMs: 1_000,
  /** Every 30th look reads every pid's stat (a pid reused between two looks; processes that joined the group with setpgid). */
  fullRescanEvery: 30,
  /**
   * 256 members at most (one open /proc/PID/stat descriptor each; re-reading
   * an open descriptor costs ~5 µs against ~14 µs for open+read+close, and a
   * reused pid cannot be mistaken for a member: its old descriptor reads ESRCH).
   */
  maxMembers: 256,
  /** A full look reads at most this many /proc entries (bounded cost on a host with a runaway fork). */
  maxScanEntries: 32_768,
  /**
   * 2 s: a member that vanished is expected to show up in its reaper's
   * cutime/cstime within this (Node reaps at once; a shell at its next
   * `wait`); until then that much of a reaper's cutime growth is not counted
   * twice. After it the credit lapses (it was reaped outside the group).
   */
  reapCreditMs: 2_000
} as const

export type CpuLimitTuning = { -readonly [K in keyof typeof CPU_LIMIT_DEFAULTS]: number }

export type CpuLimitSignal = 'SIGSTOP' | 'SIGCONT'

export interface CpuLimiterOptions extends Partial<CpuLimitTuning> {
  /** Process group to hold (signals go to -pgid); its leader's pid = pgid. */
  pgid: number
  /** Allowed share in cores (0.5 = half a core; may exceed 1 for multi-threaded or multi-process groups). */
  cores: number
  /** Monotonic ms; default performance.now (slices are timed to fractions of a ms, and wall-clock steps must not count as run time). */
  now?: () => number
  timers?: { setTimeout: (fn: () => void, ms: number) => unknown, clearTimeout: (t: unknown) => void }
  /**
   * Cumulative CPU ms of the group; `undefined` when the group has no live
   * process left (the limiter then stops itself and calls onGone). Default:
   * /proc of the group's processes (see createGroupReader).
   */
  readCpuMs?: () => number | undefined
  /**
   * True while a member is stopped by someone else (job control or ptrace);
   * asked at the end of each run slice, when no stop of ours is in force.
   * Default: from the same /proc reads as readCpuMs; false when readCpuMs is
   * injected without it.
   */
  readStopped?: () => boolean
  /** Default: process.kill(-pgid, sig); false when there is no such group (ESRCH), throws on other errors. */
  signal?: (pgid: number, sig: CpuLimitSignal) => boolean
  logger?: { warn: (o: object, m?: string) => void, debug?: (o: object, m?: string) => void }
  /** The group no longer exists: the limiter has stopped itself. Called once. */
  onGone?: () => void
  /** /proc, for the default reader. */
  procRoot?: string
}

export interface CpuLimiterStats {
  /** Measurement points so far (one per period). */
  periods: number
  /** CPU used by the group over the window, cores (NaN before the first window). */
  measuredCores: number
  /** Share of each period the group is let run, 0..1. */
  runFraction: number
  /** What the group uses while running, cores: measuredCores ÷ the window's run fraction. */
  demandCores: number
  /** Live members at the last reading. */
  members: number
  /** SIGSTOP + SIGCONT sent. */
  signals: number
  /** Periods spent standing aside because someone else had stopped a member. */
  foreignStopPeriods: number
  /** Looks through /proc for new members. */
  scans: number
  /** Wall time spent in the limiter's own callbacks, ms (its CPU cost: the work is synchronous). */
  workMs: number
  pausedByUs: boolean
  /** True while standing aside for someone else's stop. */
  standingAside: boolean
  running: boolean
}

export interface CpuLimiter {
  start: () => void
  /** Idempotent; never leaves the group stopped by us (SIGCONT if we hold it). */
  stop: () => void
  /** True while we hold the group stopped (a probe seeing state T must not call that a hang). */
  readonly pausedByUs: boolean
  stats: () => CpuLimiterStats
}

export class CpuLimitError extends HomeostatError {
  constructor (code: 'ERR_CPU_LIMIT_OPTIONS', message: string) {
    super(code, message)
    this.name = 'CpuLimitError'
  }
}

// ---------------------------------------------------------------- control maths (pure)

/**
 * The run fraction for the next period. `prevFraction` is the share of the
 * window the group was let run, `measuredCores` what it used over the same
 * window; its demand while running is their ratio, and the answer lets that
 * demand use `aimRatio · limitCores`. Clamped to [minRunFraction, 1] and to
 * `maxGrowth · prevFraction`; a reading that is not a number keeps `prevFraction`.
 */
export function nextRunFraction (
  prevFraction: number,
  measuredCores: number,
  limitCores: number,
  o: Pick<CpuLimitTuning, 'aimRatio' | 'minRunFraction' | 'maxGrowth'> = CPU_LIMIT_DEFAULTS
): number {
  const prev = clamp(Number.isFinite(prevFraction) ? prevFraction : 1, o.minRunFraction, 1)
  if (!Number.isFinite(measuredCores) || measuredCores < 0) return prev
  const wanted = measuredCores === 0 ? Infinity : prev * o.aimRatio * limitCores / measuredCores
  return clamp(Math.min(wanted, prev * o.maxGrowth), o.minRunFraction, 1)
}

/** The first run fraction, before anything is measured: as if the group wanted one core. */
export function initialRunFraction (limitCores: number, o: Pick<CpuLimitTuning, 'aimRatio' | 'minRunFraction'> = CPU_LIMIT_DEFAULTS): number {
  return clamp(o.aimRatio * limitCores, o.minRunFraction, 1)
}

/**
 * Run and stopped slices of one period, whole ms. A stopped slice under
 * `minSliceMs` is dropped (run the whole period); a run slice is at least `minSliceMs`.
 */
export function sliceMs (periodMs: number, runFraction: number, minSliceMs: number): { runMs: number, stopMs: number } {
  const f = clamp(Number.isFinite(runFraction) ? runFraction : 1, 0, 1)
  let runMs = Math.max(minSliceMs, Math.round(f * periodMs))
  if (periodMs - runMs < minSliceMs) runMs = periodMs
  return { runMs, stopMs: periodMs - runMs }
}

export interface WindowSample {
  tMs: number
  /** Cumulative CPU of the group, ms. */
  cpuMs: number
  /** Cumulative time the group was let run (not stopped by us), ms. */
  runMs: number
}

/** CPU rate and run fraction between a window's first and last samples; undefined with less than two or no elapsed time. */
export function windowRates (samples: readonly WindowSample[]): { measuredCores: number, runFraction: number, spanMs: number } | undefined {
  if (samples.length < 2) return undefined
  const a = samples[0]!
  const b = samples[samples.length - 1]!
  const spanMs = b.tMs - a.tMs
  if (!(spanMs > 0)) return undefined
  return { measuredCores: Math.max(0, b.cpuMs - a.cpuMs) / spanMs, runFraction: clamp((b.runMs - a.runMs) / spanMs, 0, 1), spanMs }
}

/** Drops samples from the front so that exactly one remains at or before `windowMs` before the last (in place). */
export function trimWindow (samples: WindowSample[], windowMs: number): void {
  const last = samples[samples.length - 1]
  if (last === undefined) return
  let drop = 0
  while (drop + 1 < samples.length - 1 && samples[drop + 1]!.tMs <= last.tMs - windowMs) drop++
  if (drop > 0) samples.splice(0, drop)
}

function clamp (x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x
}

// ---------------------------------------------------------------- group CPU from /proc

export interface GroupStat {
  state: string
  ppid: number
  pgrp: number
  /** utime + stime, ticks. */
  ownTicks: number
  /** cutime + cstime (children waited for), ticks. */
  reapedTicks: number
  /** Start time, ticks since boot. */
  startTicks: number
}

/** The fields of /proc/PID/stat this module uses (after the parenthesised comm, which may hold spaces and parentheses). Pure. */
export function parseGroupStat (text: string): GroupStat | undefined {
  const i = text.lastIndexOf(')')
  if (i < 0) return undefined
  const f = text.slice(i + 2).split(' ')
  if (f.length < 20) return undefined
  const n = (k: number): number => Number(f[k])
  const st: GroupStat = { state: f[0]!, ppid: n(1), pgrp: n(2), ownTicks: n(11) + n(12), reapedTicks: n(13) + n(14), startTicks: n(19) }
  return Number.isFinite(st.pgrp) && Number.isFinite(st.ownTicks) && Number.isFinite(st.reapedTicks) ? st : undefined
}

/**
 * Ticks to add for one member between two readings. Its own CPU always
 * counts; growth of its children's (reaped) CPU counts except the part that
 * is a vanished member's CPU already counted (`creditTicks`, consumed). Pure.
 */
export function memberDelta (
  prev: { ownTicks: number, reapedTicks: number },
  next: { ownTicks: number, reapedTicks: number },
  creditTicks: number
): { addTicks: number, creditTicks: number } {
  const own = Math.max(0, next.ownTicks - prev.ownTicks)
  const reaped = Math.max(0, next.reapedTicks - prev.reapedTicks)
  const absorbed = Math.min(reaped, Math.max(0, creditTicks))
  return { addTicks: own + reaped - absorbed, creditTicks: Math.max(0, creditTicks) - absorbed }
}

/** Stopped by job control (`T`) or a tracer (`t`). */
export function isStoppedState (state: string): boolean {
  return state === 'T' || state === 't'
}

const isLive = (state: string): boolean => state !== 'Z' && state !== 'X' && state !== 'x'

export interface GroupSample {
  /** Cumulative CPU of the group since the reader was made, ms. */
  cpuMs: number
  /** Live (not zombie) members. */
  members: number
  /** Live members stopped by job control or a tracer. */
  stopped: number
}

export interface GroupReader {
  /** One reading of every member (and a look for new ones when due); undefined when no live member is left. */
  sample: () => GroupSample | undefined
  /** Closes the members' descriptors. */
  close: () => void
  stats: () => { members: number, scans: number, fullScans: number, capped: boolean }
}

export interface GroupReaderOptions extends Partial<Pick<CpuLimitTuning, 'rescanMs' | 'periodMs' | 'fullRescanEvery' | 'maxMembers' | 'maxScanEntries' | 'reapCreditMs'>> {
  pgid: number
  procRoot?: string
  now?: () => number
}

interface Member { fd: number, ownTicks: number, reapedTicks: number }

const MS_PER_TICK = 1000 / CLOCK_TICKS_PER_S

/**
 * Cumulative CPU of a process group from /proc: one kept-open stat
 * descriptor per member, re-read per sample; new members looked for
 * incrementally (see CPU_LIMIT_DEFAULTS.rescanMs).
 */
export function createGroupReader (o: GroupReaderOptions): GroupReader {
  const d = { ...CPU_LIMIT_DEFAULTS, ...definedOnly(o) }
  const proc = o.procRoot ?? '/proc'
  const now = o.now ?? Date.now
  const buf = Buffer.alloc(2048)
  const members = new Map<number, Member>()
  let totalTicks = 0
  let creditTicks = 0
  let creditAtMs = 0
  /** Pids listed at the last look (members or not): an incremental look examines only the others. Not "pids above the
   * highest seen": pids wrap at pid_max (32768 on many hosts) and a busy host wraps within hours. */
  let listedBefore = new Set<number>()
  let lastScanUptimeTicks: number | undefined
  let nextScanAtMs = -Infinity
  let scanDelayMs = d.periodMs
  let scans = 0
  let fullScans = 0
  let capped = false

  const readFd = (fd: number): string | undefined => {
    try {
      const n = readSync(fd, buf, 0, buf.length, 0)
      return buf.toString('latin1', 0, n)
    } catch { return undefined }
  }
  const closeFd = (fd: number): void => { try { closeSync(fd) } catch { /* already closed */ } }
  const uptimeTicks = (): number | undefined => {
    try {
      const s = Number(readFileSync(`${proc}/uptime`, 'latin1').split(' ')[0])
      return Number.isFinite(s) ? Math.floor(s * CLOCK_TICKS_PER_S) : undefined
    } catch { return undefined }
  }

  /** Looks for members not yet tracked; counts those found (live, stopped). Their CPU since their birth (if after the last look) is added. */
  const scan = (full: boolean): { found: number, stopped: number } => {
    scans++
    if (full) fullScans++
    const up = uptimeTicks()
    let names: string[]
    try { names = readdirSync(proc) } catch { return { found: 0, stopped: 0 } }
    let found = 0
    let stopped = 0
    let visited = 0
    const listed = new Set<number>()
    for (const name of names) {
      const c = name.charCodeAt(0)
      if (c < 48 || c > 57) continue
      const pid = Number(name)
      if (!Number.isInteger(pid)) continue
      listed.add(pid)
      if ((!full && listedBefore.has(pid)) || members.has(pid)) continue
      if (++visited > d.maxScanEntries) break
      let fd: number
      try { fd = openSync(`${proc}/${pid}/stat`, 'r') } catch { continue }
      const st = parseGroupStat(readFd(fd) ?? '')
      if (st === undefined || st.pgrp !== o.pgid || !isLive(st.state)) { closeFd(fd); continue }
      if (members.size >= d.maxMembers) { capped = true; closeFd(fd); continue }
      // Born since the last look: nothing it used was counted yet.
      if (lastScanUptimeTicks !== undefined && st.startTicks >= lastScanUptimeTicks) totalTicks += st.ownTicks + st.reapedTicks
      members.set(pid, { fd, ownTicks: st.ownTicks, reapedTicks: st.reapedTicks })
      found++
      if (isStoppedState(st.state)) stopped++
    }
    listedBefore = listed
    // One tick back: a process born in the same tick as this look may or may not have been listed.
    if (up !== undefined) lastScanUptimeTicks = Math.max(0, up - 1)
    return { found, stopped }
  }

  return {
    sample () {
      const t = now()
      if (creditTicks > 0 && t - creditAtMs > d.reapCreditMs) creditTicks = 0
      let live = 0
      let stopped = 0
      for (const [pid, m] of members) {
        const text = readFd(m.fd)
        const st = text === undefined ? undefined : parseGroupStat(text)
        if (st === undefined) {
          // Gone (reaped): what it used is counted, and will reappear in its reaper's cutime.
          creditTicks += m.ownTicks + m.reapedTicks
          creditAtMs = t
          closeFd(m.fd)
          members.delete(pid)
          continue
        }
        if (st.pgrp !== o.pgid) { closeFd(m.fd); members.delete(pid); continue } // left the group
        const delta = memberDelta(m, st, creditTicks)
        totalTicks += delta.addTicks
        creditTicks = delta.creditTicks
        m.ownTicks = st.ownTicks
        m.reapedTicks = st.reapedTicks
        if (isLive(st.state)) {
          live++
          if (isStoppedState(st.state)) stopped++
        }
      }
      if (t >= nextScanAtMs || live === 0) {
        const r = scan(live === 0 || scans % d.fullRescanEvery === 0)
        live += r.found
        stopped += r.stopped
        scanDelayMs = Math.min(d.rescanMs, scanDelayMs * 2)
        nextScanAtMs = t + scanDelayMs
      }
      if (live === 0) return undefined
      return { cpuMs: totalTicks * MS_PER_TICK, members: live, stopped }
    },
    close () {
      for (const m of members.values()) closeFd(m.fd)
      members.clear()
    },
    stats: () => ({ members: members.size, scans, fullScans, capped })
  }
}

/**
 * The live pids whose process group is `pgid`, by one pass over /proc
 * (at most `maxEntries` entries). For acting on a whole group at once
 * (moving it into a cgroup, renicing it).
 */
export function processGroupPids (pgid: number, procRoot = '/proc', maxEntries: number = CPU_LIMIT_DEFAULTS.maxScanEntries): number[] {
  let names: string[]
  try { names = readdirSync(procRoot) } catch { return [] }
  const out: number[] = []
  let visited = 0
  for (const name of names) {
    const c = name.charCodeAt(0)
    if (c < 48 || c > 57) continue
    if (++visited > maxEntries) break
    let text: string
    try { text = readFileSync(`${procRoot}/${name}/stat`, 'latin1') } catch { continue }
    const st = parseGroupStat(text)
    if (st !== undefined && st.pgrp === pgid && isLive(st.state)) out.push(Number(name))
  }
  return out.sort((a, b) => (a === pgid ? -1 : b === pgid ? 1 : a - b))
}

// ---------------------------------------------------------------- the limiter

/** Release functions of limiters holding a group stopped, run by one process 'exit' hook. */
const held = new Set<() => void>()
let exitHookInstalled = false
function registerHeld (release: () => void): void {
  held.add(release)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const r of held) { try { r() } catch { /* exiting */ } }
    })
  }
}

function defaultSignal (pgid: number, sig: CpuLimitSignal): boolean {
  try {
    process.kill(-pgid, sig)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

function definedOnly<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

function ownPgrp (): number | undefined {
  try { return parseGroupStat(readFileSync('/proc/self/stat', 'latin1'))?.pgrp } catch { return undefined }
}

const TUNING_KEYS = Object.keys(CPU_LIMIT_DEFAULTS) as Array<keyof CpuLimitTuning>

export function createCpuLimiter (o: CpuLimiterOptions): CpuLimiter {
  const bad = (m: string): never => { throw new CpuLimitError('ERR_CPU_LIMIT_OPTIONS', m) }
  if (!Number.isInteger(o.pgid) || o.pgid <= 1) bad(`pgid must be an integer > 1 (got ${o.pgid}): signals go to -pgid, and -1 or 0 would reach every process or our own group`)
  if (o.signal === undefined && o.pgid === ownPgrp()) bad(`pgid ${o.pgid} is the agent's own process group`)
  if (!(Number.isFinite(o.cores) && o.cores > 0)) bad(`cores must be a positive number (got ${o.cores})`)
  const d: CpuLimitTuning = { ...CPU_LIMIT_DEFAULTS }
  for (const k of TUNING_KEYS) {
    const v = o[k]
    if (v === undefined) continue
    if (!(Number.isFinite(v) && v > 0)) bad(`${k} must be a positive number (got ${v})`)
    d[k] = v
  }
  if (d.minRunFraction > 1) bad(`minRunFraction must be ≤ 1 (got ${d.minRunFraction})`)
  if (d.minSliceMs * 2 > d.periodMs) bad(`periodMs (${d.periodMs}) must be at least twice minSliceMs (${d.minSliceMs})`)

  const pgid = o.pgid
  const cores = o.cores
  const now = o.now ?? (() => performance.now())
  const timers = o.timers ?? realScheduler
  const signal = o.signal ?? defaultSignal
  const logger = o.logger
  let reader: GroupReader | undefined
  let readCpuMs: () => number | undefined
  let readStopped: () => boolean
  let lastMembers = 0
  if (o.readCpuMs !== undefined) {
    readCpuMs = o.readCpuMs
    readStopped = o.readStopped ?? (() => false)
  } else {
    let stoppedNow = false
    const r = createGroupReader({ ...d, pgid, procRoot: o.procRoot, now })
    reader = r
    readCpuMs = () => {
      const s = r.sample()
      stoppedNow = s !== undefined && s.stopped > 0
      lastMembers = s?.members ?? 0
      return s?.cpuMs
    }
    readStopped = o.readStopped ?? (() => stoppedNow)
  }

  let timer: unknown
  let started = false
  let halted = false
  let paused = false
  let aside = false
  let runFraction = initialRunFraction(cores, d)
  let runStartedAtMs = 0
  let runAccumMs = 0
  const window: WindowSample[] = []
  let measuredCores = NaN
  let windowRunFraction = NaN
  const counts = { periods: 0, signals: 0, foreignStopPeriods: 0, workMs: 0 }

  const release = (): void => {
    if (!paused) return
    paused = false
    try { signal(pgid, 'SIGCONT') } catch { /* gone or not ours any more */ }
  }
  const schedule = (fn: () => void, ms: number): void => {
    timer = timers.setTimeout(() => { timer = undefined; work(fn) }, ms)
  }
  const work = (fn: () => void): void => {
    if (halted) return
    const t0 = performance.now()
    try { fn() } catch (err) {
      logger?.warn({ err, pgid }, 'cpu limiter failed; stopping it (the group is left running)')
      halt()
    } finally { counts.workMs += performance.now() - t0 }
  }
  const halt = (): void => {
    if (halted) return
    halted = true
    if (timer !== undefined) { timers.clearTimeout(timer); timer = undefined }
    release()
    held.delete(release)
    reader?.close()
  }
  const gone = (why: string): void => {
    logger?.debug?.({ pgid, why }, 'cpu limiter: group gone')
    halt()
    try { o.onGone?.() } catch (err) { logger?.warn({ err, pgid }, 'cpu limiter: onGone threw') }
  }
  /** Sends `sig` to the group; false (after stopping the limiter) when the group is gone. */
  const send = (sig: CpuLimitSignal): boolean => {
    let ok: boolean
    try { ok = signal(pgid, sig) } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      logger?.warn({ pgid, sig, code, err }, sig === 'SIGCONT' ? 'cpu limiter cannot resume the group (it may stay stopped); stopping the limiter' : 'cpu limiter cannot signal the group; stopping the limiter (the group is left running)')
      if (sig === 'SIGCONT') paused = false // nothing more we can do
      halt()
      return false
    }
    counts.signals++
    if (!ok) { paused = false; gone(`${sig}: no such process group`); return false }
    return true
  }

  /** End of a run slice (or of a period spent running): measure, steer, stop the group if the slice says so. */
  const runEnd = (): void => {
    const t = now()
    runAccumMs += t - runStartedAtMs
    runStartedAtMs = t
    counts.periods++
    const cpuMs = readCpuMs()
    if (cpuMs === undefined) { gone('no live process in the group'); return }
    if (readStopped()) {
      // Someone else stopped (part of) the group: leave their stop alone, forget the window.
      if (!aside) logger?.debug?.({ pgid }, 'cpu limiter: group stopped by someone else; standing aside')
      aside = true
      counts.foreignStopPeriods++
      window.length = 0
      schedule(runEnd, d.periodMs)
      return
    }
    aside = false
    window.push({ tMs: t, cpuMs, runMs: runAccumMs })
    trimWindow(window, d.windowMs)
    const r = windowRates(window)
    if (r !== undefined) {
      measuredCores = r.measuredCores
      windowRunFraction = r.runFraction
      if (r.spanMs >= d.minMeasureMs) runFraction = nextRunFraction(r.runFraction, r.measuredCores, cores, d)
    }
    const s = sliceMs(d.periodMs, runFraction, d.minSliceMs)
    if (s.stopMs === 0) { schedule(runEnd, s.runMs); return }
    if (!send('SIGSTOP')) return
    paused = true
    schedule(stopEnd, s.stopMs)
  }
  /** End of a stopped slice: let the group run again. */
  const stopEnd = (): void => {
    if (!send('SIGCONT')) return
    paused = false
    runStartedAtMs = now()
    schedule(runEnd, sliceMs(d.periodMs, runFraction, d.minSliceMs).runMs)
  }

  return {
    start () {
      if (started || halted) return
      started = true
      registerHeld(release)
      work(() => {
        runStartedAtMs = now()
        const cpuMs = readCpuMs()
        if (cpuMs !== undefined) window.push({ tMs: runStartedAtMs, cpuMs, runMs: 0 })
        logger?.debug?.({ pgid, cores, periodMs: d.periodMs }, 'cpu limiter started')
        // The first slice runs (the group is running now); its end measures and steers.
        schedule(runEnd, sliceMs(d.periodMs, runFraction, d.minSliceMs).runMs)
      })
    },
    stop () { halt() },
    get pausedByUs () { return paused },
    stats () {
      return {
        periods: counts.periods,
        measuredCores,
        runFraction,
        demandCores: windowRunFraction > 0 ? measuredCores / windowRunFraction : NaN,
        members: reader !== undefined ? lastMembers : NaN,
        signals: counts.signals,
        foreignStopPeriods: counts.foreignStopPeriods,
        scans: reader?.stats().scans ?? 0,
        workMs: counts.workMs,
        pausedByUs: paused,
        standingAside: aside,
        running: started && !halted
      }
    }
  }
}
