// Workload supervision: spawns each configured component as a real child
// process (in its own process group), watches it, keeps stdout/stderr tails,
// and — unless a recovery layer owns that decision (`autoRestart: false`) —
// restarts it per its policy with capped, jittered exponential backoff and
// quarantines a crash loop.
import { spawn, type ChildProcess } from 'node:child_process'
import { HomeostatError } from '@homeostat/interface'
import { ConfigError, parseComponent, parseComponents, resolveArtifact, startOrder, type ComponentInput, type ComponentSpec } from './config.ts'
import { createLineRing, type LineRing } from './ring.ts'
import { backoffDelayMs, isCrashLoop } from './backoff.ts'
import { Emitter, realScheduler, silentLogger, type Logger, type Scheduler, type Unsubscribe } from './events.ts'
import { createCpuLimiter, CPU_LIMIT_DEFAULTS, type CpuLimiter } from './cpu-limit.ts'
import { bootId, COMPONENT_ENV, newRunId, processIdentity, readChildFile, RUN_ENV, stopLeftovers, writeChildFile, type ChildRecord, type OrphanStopped } from './orphans.ts'

export const SUPERVISOR_DEFAULTS = {
  /** Supervise on its own. The micro loop passes false: recovery decides, backs off and records restarts. */
  autoRestart: true,
  /** First restart delay: long enough not to spin on an instant crash, short enough for sub-second MTTR. */
  restartInitialMs: 100,
  /** Restart delay cap (systemd's RestartSec tops out in this region; long enough to stop hammering). */
  restartMaxMs: 30_000,
  /** Doubling per consecutive failure. */
  restartMultiplier: 2,
  /** ±20 % so a fleet restarting after a shared fault does not retry in lockstep. */
  restartJitter: 0.2,
  /** A run that lasted this long resets the backoff (it was not a crash loop). */
  stableAfterMs: 10_000,
  /** More than this many unexpected exits within crashLoopWindowMs → quarantine (auto mode only). */
  crashLoopMaxExits: 5,
  crashLoopWindowMs: 60_000,
  /** SIGTERM → SIGKILL grace for stop/restart (Kubernetes uses 30 s; workloads here are small). */
  graceMs: 3_000,
  /** Lines of stdout/stderr kept per component as incident evidence. */
  tailLines: 50,
  /** Longer lines are truncated: bounds the tail at ~25 KiB per stream. */
  tailLineLength: 512,
  /**
   * Output read per stream per second at most. A process writing faster (`yes`, a log loop) waits on its
   * pipe, as a service writing to journald does when it cannot keep up; reading 1.7 GB/s of `yes` cost
   * the agent a whole core. 8 MiB/s is more log than anyone reads and costs ~0.5 % of a core to read.
   */
  outputBytesPerSec: 8 * 1048576,
  /** Exit times remembered per component (bounds crash-loop bookkeeping). */
  exitHistory: 32,
  /** Last stderr lines (each cut to 300 chars) in the log line of an unexpected exit. */
  exitLogStderrLines: 3,
  /**
   * After 'exit', wait this long at most for the output pipes to drain so the
   * tail holds the last words of a crash (a grandchild holding the pipe open
   * must not delay the exit report for longer).
   */
  exitDrainMs: 50,
  /** A shared component's restart hook that has not finished by then is killed and the restart fails. */
  sharedRestartTimeoutMs: 60_000
} as const

export type ComponentState = 'starting' | 'running' | 'exited' | 'stopped' | 'quarantined'

/** Termination signals a stopped (SIGSTOP) process only acts on once continued. */
const CONTINUE_AFTER: ReadonlySet<NodeJS.Signals> = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'])

export interface ExitInfo {
  code: number | null
  signal: string | null
  atMs: number
  /** The supervisor asked for it (stop/restart/quarantine). */
  expected: boolean
  /** Why, when known: 'stopped', 'oom' (memory limit enforced), 'spawn_error', or a caller's reason. */
  reason?: string
  /** Spawn error message (e.g. ENOENT), when the process never ran. */
  error?: string
}

export interface ComponentInfo {
  name: string
  pid?: number
  state: ComponentState
  /** Starts after the first one. */
  restarts: number
  startedAtMs?: number
  lastExit?: ExitInfo
  spec: ComponentSpec
  /** Artifact version in use, if the component has one. */
  artifactVersion?: string
  /** Held to `cores` of CPU by duty cycle (`limitCpu`); `pausedByUs` while the supervisor holds it stopped (state T is then ours, not a hang). */
  cpuLimit?: { cores: number, method: 'duty-cycle', periodMs: number, pausedByUs: boolean }
}

export interface Tail { stdout: string[], stderr: string[] }

export interface SupervisorEvents extends Record<string, unknown> {
  /** `pid` is absent for a shared component (it runs elsewhere; "start" = watched from now, or restarted by its hook). */
  start: { name: string, pid?: number, atMs: number, restarts: number }
  /** `tail`: the output of the run that exited (earlier runs are in `tail(name)`). */
  exit: { name: string, pid?: number, exit: ExitInfo, tail: Tail }
  state: { name: string, from: ComponentState, to: ComponentState, atMs: number }
  quarantined: { name: string, atMs: number, reason: string }
  /** A quarantine was lifted (`release`): the component may be started again. */
  released: { name: string, atMs: number }
  /** A copy left running by an earlier run of the agent (SIGKILLed, its pipes gone) was stopped before a fresh start. */
  orphan: OrphanStopped & { atMs: number }
  spec: { name: string, spec: ComponentSpec }
}

export interface SupervisorOptions {
  components: ReadonlyArray<ComponentInput | ComponentSpec>
  now?: () => number
  logger?: Logger
  scheduler?: Scheduler
  /** See SUPERVISOR_DEFAULTS.autoRestart. */
  autoRestart?: boolean
  random?: () => number
  restartInitialMs?: number
  restartMaxMs?: number
  stableAfterMs?: number
  crashLoopMaxExits?: number
  crashLoopWindowMs?: number
  graceMs?: number
  tailLines?: number
  /** See SUPERVISOR_DEFAULTS.sharedRestartTimeoutMs. */
  sharedRestartTimeoutMs?: number
  /** See SUPERVISOR_DEFAULTS.outputBytesPerSec. */
  outputBytesPerSec?: number
  /**
   * A file (in the agent's data dir) where the supervisor records every process it starts, durably. `start()`
   * reads what an earlier run left there and stops those processes cleanly before starting fresh copies
   * (see orphans.ts): a service never runs twice after the agent was killed.
   */
  childFile?: string
}

export interface StopOptions { graceMs?: number, reason?: string }

export interface Supervisor {
  /**
   * Starts every component in dependency order; resolves when all have spawned (or failed to).
   * `except`: components left stopped (e.g. relocatable ones, which run where the fleet assigns them).
   */
  start: (opts?: { except?: readonly string[] }) => Promise<void>
  /** Stops every component in reverse dependency order. */
  stop: (opts?: StopOptions) => Promise<void>
  /** Spawns one component; resolves with its info once spawned or failed. Throws COMPONENT_QUARANTINED. */
  startComponent: (name: string, opts?: { force?: boolean }) => Promise<ComponentInfo>
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
  stopComponent: (name: string, opts?: StopOptions) => Promise<ComponentInfo>
  restartComponent: (name: string, opts?: StopOptions) => Promise<ComponentInfo>
  /** Sends a signal to the component's process group. Returns false if not running. `reason` is recorded in lastExit if it dies. */
  signal: (name: string, sig: NodeJS.Signals, reason?: string) => boolean
  info: (name: string) => ComponentInfo
  list: () => ComponentInfo[]
  names: () => string[]
  /** Merges a patch into the spec (validated); takes effect on the next start. */
  updateSpec: (name: string, patch: Partial<ComponentInput>) => ComponentSpec
  /** Stops the component and refuses to start it until `release`. */
  quarantine: (name: string, reason?: string) => Promise<ComponentInfo>
  /** Lifts a quarantine (an operator fixed the cause): the component is stopped and may be started again; its crash-loop history is forgotten. No-op otherwise. */
  release: (name: string) => ComponentInfo
  /**
   * Holds the running process group to `cores` of CPU by duty cycle (SIGSTOP/SIGCONT, see cpu-limit.ts) until
   * `unlimitCpu`, the process's exit or a stop. Undefined when it is not running (or is shared).
   */
  limitCpu: (name: string, cores: number) => { method: 'duty-cycle', periodMs: number } | undefined
  unlimitCpu: (name: string) => void
  tail: (name: string) => Tail
  on: <K extends keyof SupervisorEvents>(event: K, fn: (value: SupervisorEvents[K]) => void) => Unsubscribe
  stats: () => { spawns: number, exits: number, unexpectedExits: number, autoRestarts: number, orphansStopped: number, childFileErrors: number, outputBytes: number, outputPauses: number, listenerErrors: number }
}

export class SupervisorError extends HomeostatError {
  constructor (code: 'COMPONENT_UNKNOWN' | 'COMPONENT_QUARANTINED' | 'SHARED_RESTART_FAILED', message: string) {
    super(code, message)
    this.name = 'SupervisorError'
  }
}

interface Entry {
  spec: ComponentSpec
  state: ComponentState
  child?: ChildProcess
  pid?: number
  restarts: number
  started: number
  startedAtMs?: number
  lastExit?: ExitInfo
  stdout: LineRing
  stderr: LineRing
  /** Where the current run's output begins in each ring (LineRing.total when it started). */
  runMark: { stdout: number, stderr: number }
  exitTimes: number[]
  failureStreak: number
  pendingReason?: string
  stopping: boolean
  restartTimer?: unknown
  exited?: PromiseWithResolversLike
  /** The duty-cycle CPU limiter holding this run's process group, if any. */
  limiter?: { cores: number, periodMs: number, run: CpuLimiter }
  /** Its output has hit the read cap (logged once). */
  flooding?: boolean
}

interface PromiseWithResolversLike { promise: Promise<void>, resolve: () => void }
const deferred = (): PromiseWithResolversLike => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

/** Substitutes `{artifact}` and `{version}` in a string. */
function subst (s: string, art: { path: string, version: string } | undefined): string {
  if (art === undefined) return s
  return s.replaceAll('{artifact}', art.path).replaceAll('{version}', art.version)
}

/** A component's environment: the agent's, its own (substituted), and what homeostat tells it. */
function envOf (name: string, spec: ComponentSpec, art: { path: string, version: string } | undefined, runId: string): Record<string, string> {
  const env: Record<string, string> = { ...process.env as Record<string, string> }
  for (const [k, v] of Object.entries(spec.env)) env[k] = subst(v, art)
  env[COMPONENT_ENV] = name
  // Marks this run's processes (and their children, which inherit it): a later run recognises leftovers by it.
  env[RUN_ENV] = runId
  if (art !== undefined) { env.HOMEOSTAT_ARTIFACT = art.path; env.HOMEOSTAT_ARTIFACT_VERSION = art.version }
  return env
}

export function createSupervisor (options: SupervisorOptions): Supervisor {
  const now = options.now ?? Date.now
  const logger = options.logger ?? silentLogger
  const sched = options.scheduler ?? realScheduler
  const random = options.random ?? Math.random
  const autoRestart = options.autoRestart ?? SUPERVISOR_DEFAULTS.autoRestart
  const graceDefault = options.graceMs ?? SUPERVISOR_DEFAULTS.graceMs
  const backoff = {
    initialMs: options.restartInitialMs ?? SUPERVISOR_DEFAULTS.restartInitialMs,
    maxMs: options.restartMaxMs ?? SUPERVISOR_DEFAULTS.restartMaxMs,
    multiplier: SUPERVISOR_DEFAULTS.restartMultiplier,
    jitter: SUPERVISOR_DEFAULTS.restartJitter
  }
  const stableAfterMs = options.stableAfterMs ?? SUPERVISOR_DEFAULTS.stableAfterMs
  const loopMax = options.crashLoopMaxExits ?? SUPERVISOR_DEFAULTS.crashLoopMaxExits
  const loopWindowMs = options.crashLoopWindowMs ?? SUPERVISOR_DEFAULTS.crashLoopWindowMs
  const tailLines = options.tailLines ?? SUPERVISOR_DEFAULTS.tailLines

  const specs = parseComponents(options.components)
  const entries = new Map<string, Entry>()
  for (const spec of specs) {
    entries.set(spec.name, {
      spec,
      state: 'stopped',
      restarts: 0,
      started: 0,
      stdout: createLineRing(tailLines, SUPERVISOR_DEFAULTS.tailLineLength),
      stderr: createLineRing(tailLines, SUPERVISOR_DEFAULTS.tailLineLength),
      runMark: { stdout: 0, stderr: 0 },
      exitTimes: [],
      failureStreak: 0,
      stopping: false
    })
  }
  const events = new Emitter<SupervisorEvents>(logger)
  const counters = { spawns: 0, exits: 0, unexpectedExits: 0, autoRestarts: 0, orphansStopped: 0, childFileErrors: 0, outputBytes: 0, outputPauses: 0 }
  let running = false
  const runId = newRunId()
  const boot = bootId()
  /** What this run has started and not seen exit, as written to `childFile`. */
  const live = new Map<string, ChildRecord>()
  const saveChildren = (): void => {
    if (options.childFile === undefined) return
    try {
      writeChildFile(options.childFile, { v: 1, bootId: boot, runId, children: [...live.values()] })
    } catch (err) {
      counters.childFileErrors++
      logger.warn({ file: options.childFile, err: (err as Error).message }, 'could not record the started processes (an agent killed now would leave them running unnoticed)')
    }
  }
  const recordChild = (name: string, pid: number, command: string): void => {
    if (options.childFile === undefined) return
    const id = processIdentity(pid)
    if (id === undefined) return
    live.set(name, { name, pid, startTicks: id.startTicks, startedAtMs: now(), command: command.slice(0, 256) })
    saveChildren()
  }
  const forgetChild = (name: string, pid: number | undefined): void => {
    if (live.get(name)?.pid !== pid) return
    live.delete(name)
    saveChildren()
  }
  /** Stops what an earlier run recorded and left running; starts this run's record. */
  const stopEarlierRun = async (): Promise<void> => {
    if (options.childFile === undefined) return
    const file = readChildFile(options.childFile)
    if (file !== undefined && file.runId !== runId) {
      const stopped = await stopLeftovers(file, { graceMs: graceDefault, now })
      for (const o of stopped) {
        counters.orphansStopped++
        logger.warn({ component: o.name, childPid: o.pid, pids: o.pids, signal: o.signal, stoppedInMs: o.stoppedInMs, startedAtMs: o.startedAtMs }, 'a copy left running by an earlier run of the agent was stopped before starting a fresh one (its output pipes died with that agent)')
        events.emit('orphan', { ...o, atMs: now() })
      }
    }
    saveChildren()
  }

  const get = (name: string): Entry => {
    const e = entries.get(name)
    if (e === undefined) throw new SupervisorError('COMPONENT_UNKNOWN', `no component named "${name}"`)
    return e
  }
  const setState = (name: string, e: Entry, to: ComponentState): void => {
    if (e.state === to) return
    const from = e.state
    e.state = to
    events.emit('state', { name, from, to, atMs: now() })
  }
  const infoOf = (e: Entry): ComponentInfo => {
    const art = resolveArtifact(e.spec)
    const i: ComponentInfo = { name: e.spec.name, state: e.state, restarts: e.restarts, spec: e.spec }
    if (e.pid !== undefined) i.pid = e.pid
    if (e.startedAtMs !== undefined) i.startedAtMs = e.startedAtMs
    if (e.lastExit !== undefined) i.lastExit = e.lastExit
    if (art !== undefined) i.artifactVersion = art.version
    if (e.limiter !== undefined) i.cpuLimit = { cores: e.limiter.cores, method: 'duty-cycle', periodMs: e.limiter.periodMs, pausedByUs: e.limiter.run.pausedByUs }
    return i
  }
  /** Ends a duty-cycle limit; the limiter leaves the group running (SIGCONT if it held it stopped). */
  const dropLimiter = (e: Entry): void => {
    const l = e.limiter
    e.limiter = undefined
    l?.run.stop()
  }
  /** Everything the rings hold (earlier runs too): what an operator asks for with `tail`. */
  const tailOf = (e: Entry): Tail => ({ stdout: e.stdout.lines(), stderr: e.stderr.lines() })
  /** The current (or last) run's output only: the evidence an exit carries, never an earlier run's last words. */
  const runTailOf = (e: Entry): Tail => ({ stdout: e.stdout.since(e.runMark.stdout), stderr: e.stderr.since(e.runMark.stderr) })
  /** A new process is about to write: end the last one's unterminated line and mark where this run's output begins. */
  const beginRun = (e: Entry): void => {
    e.stdout.endLine()
    e.stderr.endLine()
    e.runMark = { stdout: e.stdout.total, stderr: e.stderr.total }
  }
  /**
   * A process's output (the component's, or a shared component's restart hook) goes into the component's
   * tail, read at most `outputBytesPerSec` per stream (see SUPERVISOR_DEFAULTS).
   */
  const captureTail = (child: ChildProcess, e: Entry): void => {
    const cap = options.outputBytesPerSec ?? SUPERVISOR_DEFAULTS.outputBytesPerSec
    for (const [stream, ring] of [[child.stdout, e.stdout], [child.stderr, e.stderr]] as const) {
      if (stream == null) continue
      stream.setEncoding('utf8')
      let windowAt = now()
      let bytes = 0
      stream.on('data', (d: string) => {
        ring.push(d)
        const t = now()
        if (t - windowAt >= 1000) { windowAt = t; bytes = 0 }
        bytes += d.length
        counters.outputBytes += d.length
        if (bytes < cap) return
        // Over the budget: stop reading until the second is over (the writer waits on its full pipe).
        stream.pause()
        counters.outputPauses++
        if (!e.flooding) { e.flooding = true; logger.warn({ component: e.spec.name, bytesPerSec: cap }, 'component writes output faster than the agent reads it: read at the cap, the process waits on its pipe') }
        sched.setTimeout(() => { windowAt = now(); bytes = 0; stream.resume() }, Math.max(1, 1000 - (t - windowAt)))
      })
    }
  }

  const killOnce = (e: Entry, sig: NodeJS.Signals): boolean => {
    if (e.pid === undefined) {
      try { return e.child?.kill(sig) ?? false } catch { return false }
    }
    try {
      process.kill(-e.pid, sig)
      return true
    } catch {
      try { return e.child?.kill(sig) ?? false } catch { return false }
    }
  }
  /** Signals the process group. A stopped process cannot act on a termination signal until continued, so SIGCONT follows it (as systemd does). */
  const killGroup = (e: Entry, sig: NodeJS.Signals): boolean => {
    const ok = killOnce(e, sig)
    if (ok && CONTINUE_AFTER.has(sig)) killOnce(e, 'SIGCONT')
    return ok
  }

  const onExit = (name: string, e: Entry, child: ChildProcess, code: number | null, signal: string | null, error?: string, exitAtMs?: number): void => {
    if (e.child !== child) return
    const atMs = exitAtMs ?? now()
    const expected = e.stopping
    const exit: ExitInfo = { code, signal, atMs, expected }
    const reason = e.pendingReason ?? (expected ? 'stopped' : error !== undefined ? 'spawn_error' : undefined)
    if (reason !== undefined) exit.reason = reason
    if (error !== undefined) exit.error = error
    e.lastExit = exit
    e.child = undefined
    const pid = e.pid
    e.pid = undefined
    dropLimiter(e)
    forgetChild(name, pid)
    e.pendingReason = undefined
    counters.exits++
    if (!expected) {
      counters.unexpectedExits++
      e.exitTimes.push(atMs)
      if (e.exitTimes.length > SUPERVISOR_DEFAULTS.exitHistory) e.exitTimes.shift()
      const ranMs = e.startedAtMs !== undefined ? atMs - e.startedAtMs : 0
      e.failureStreak = ranMs >= stableAfterMs ? 1 : e.failureStreak + 1
    }
    if (e.state !== 'quarantined') setState(name, e, expected ? 'stopped' : 'exited')
    const tail = runTailOf(e)
    // An unexpected exit says why in the component's last stderr lines (e.g. "address already in use"):
    // the log line carries them, so the cause is one glance away.
    logger.info({ component: name, childPid: pid, code, signal, expected, reason, ...(expected ? {} : { stderr: tail.stderr.slice(-SUPERVISOR_DEFAULTS.exitLogStderrLines).map((l) => l.slice(0, 300)) }) }, 'component exited')
    const ev: SupervisorEvents['exit'] = { name, exit, tail }
    if (pid !== undefined) ev.pid = pid
    events.emit('exit', ev)
    e.exited?.resolve()
    if (!expected && running && autoRestart) scheduleAutoRestart(name, e, exit)
  }

  const scheduleAutoRestart = (name: string, e: Entry, exit: ExitInfo): void => {
    const policy = e.spec.restart
    const failed = exit.code !== 0 || exit.signal !== null
    if (policy === 'never' || (policy === 'on-failure' && !failed)) return
    if (isCrashLoop(e.exitTimes, exit.atMs, loopWindowMs, loopMax)) {
      void quarantine(name, `crash loop: more than ${loopMax} exits in ${loopWindowMs} ms`)
      return
    }
    const delay = backoffDelayMs(e.failureStreak - 1, backoff, random)
    e.restartTimer = sched.setTimeout(() => {
      e.restartTimer = undefined
      if (!running || e.state !== 'exited') return
      counters.autoRestarts++
      startComponent(name).catch((err) => logger.error({ err, component: name }, 'auto-restart failed'))
    }, delay)
  }

  const startComponent = async (name: string, opts: { force?: boolean } = {}): Promise<ComponentInfo> => {
    const e = get(name)
    if (e.state === 'quarantined' && opts.force !== true) {
      throw new SupervisorError('COMPONENT_QUARANTINED', `component "${name}" is quarantined; release it first`)
    }
    if (e.child !== undefined) return infoOf(e)
    if (e.restartTimer !== undefined) { sched.clearTimeout(e.restartTimer); e.restartTimer = undefined }
    if (e.spec.shared) return watchShared(name, e)
    const spec = e.spec
    const art = resolveArtifact(spec)
    const env = envOf(name, spec, art, runId)
    e.stopping = false
    e.pendingReason = undefined
    if (e.started > 0) e.restarts++
    e.started++
    e.exited = deferred()
    setState(name, e, 'starting')
    beginRun(e)
    let child: ChildProcess
    try {
      child = spawn(subst(spec.command, art), spec.args.map((a) => subst(a, art)), {
        cwd: spec.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true
      })
    } catch (err) {
      // Synchronous spawn failures (bad cwd type, EACCES on some platforms).
      const atMs = now()
      e.lastExit = { code: null, signal: null, atMs, expected: false, reason: 'spawn_error', error: (err as Error).message }
      setState(name, e, 'exited')
      events.emit('exit', { name, exit: e.lastExit, tail: runTailOf(e) })
      e.exited.resolve()
      return infoOf(e)
    }
    e.child = child
    captureTail(child, e)
    await new Promise<void>((resolve) => {
      let settled = false
      child.once('spawn', () => {
        settled = true
        e.pid = child.pid
        e.startedAtMs = now()
        counters.spawns++
        setState(name, e, 'running')
        recordChild(name, child.pid!, spec.command)
        logger.info({ component: name, childPid: child.pid }, 'component started')
        events.emit('start', { name, pid: child.pid!, atMs: e.startedAtMs, restarts: e.restarts })
        resolve()
      })
      child.once('error', (err) => {
        // Spawn failed (ENOENT, EACCES, bad cwd): no 'exit' will follow.
        if (!settled) {
          settled = true
          onExit(name, e, child, null, null, `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${err.message}`)
          resolve()
        } else {
          logger.warn({ err, component: name }, 'child process error')
        }
      })
      child.once('exit', (code, signal) => {
        const exitAtMs = now()
        const drained = (): boolean => (child.stdout?.readableEnded ?? true) && (child.stderr?.readableEnded ?? true)
        if (drained()) { onExit(name, e, child, code, signal, undefined, exitAtMs); return }
        let fired = false
        const fire = (): void => {
          if (fired) return
          fired = true
          clearTimeout(t)
          onExit(name, e, child, code, signal, undefined, exitAtMs)
        }
        const t = setTimeout(fire, SUPERVISOR_DEFAULTS.exitDrainMs)
        child.once('close', fire)
      })
    })
    return infoOf(e)
  }

  // A shared component runs elsewhere (another host, a container) and several
  // nodes use it. Nothing is spawned for it: "running" means watched (its
  // probes say whether it is healthy), and a restart runs its `command` as a
  // hook, to completion, whose output joins the component's tail.
  const watchShared = (name: string, e: Entry): ComponentInfo => {
    if (e.started > 0) e.restarts++
    e.started++
    e.startedAtMs = now()
    setState(name, e, 'running')
    events.emit('start', { name, atMs: e.startedAtMs, restarts: e.restarts })
    return infoOf(e)
  }
  const restartShared = async (name: string, e: Entry): Promise<ComponentInfo> => {
    const spec = e.spec
    const art = resolveArtifact(spec)
    const env = envOf(name, spec, art, runId)
    const timeoutMs = options.sharedRestartTimeoutMs ?? SUPERVISOR_DEFAULTS.sharedRestartTimeoutMs
    beginRun(e)
    const result = await new Promise<{ code: number | null, signal: string | null, error?: string }>((resolve) => {
      let child: ChildProcess
      try {
        child = spawn(subst(spec.command, art), spec.args.map((a) => subst(a, art)), { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      } catch (err) { resolve({ code: null, signal: null, error: (err as Error).message }); return }
      captureTail(child, e)
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch { child.kill('SIGKILL') } }, timeoutMs)
      child.once('error', (err) => { clearTimeout(timer); resolve({ code: null, signal: null, error: `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${err.message}` }) })
      child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal }) })
    })
    if (result.code !== 0) {
      const why = result.error ?? (result.signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exited with code ${String(result.code)}${result.signal != null ? `, signal ${result.signal}` : ''}`)
      const last = e.stderr.lines().slice(-SUPERVISOR_DEFAULTS.exitLogStderrLines).map((l) => l.slice(0, 300))
      logger.warn({ component: name, why, stderr: last }, 'restart hook of a shared component failed')
      throw new SupervisorError('SHARED_RESTART_FAILED', `restart hook of shared component "${name}" failed: ${why}${last.length > 0 ? ` (${last.join(' | ')})` : ''}`)
    }
    logger.info({ component: name }, 'shared component restarted by its hook')
    return watchShared(name, e)
  }

  const stopComponent = async (name: string, opts: StopOptions = {}): Promise<ComponentInfo> => {
    const e = get(name)
    if (e.restartTimer !== undefined) { sched.clearTimeout(e.restartTimer); e.restartTimer = undefined }
    if (e.child === undefined) {
      if (e.state !== 'quarantined') setState(name, e, 'stopped')
      return infoOf(e)
    }
    const graceMs = opts.graceMs ?? graceDefault
    e.stopping = true
    e.pendingReason = opts.reason ?? 'stopped'
    const exited = e.exited!.promise
    dropLimiter(e) // it must not stop the group again while it shuts down
    killGroup(e, 'SIGTERM')
    let timer: unknown
    const killed = new Promise<void>((resolve) => {
      timer = sched.setTimeout(() => {
        if (e.child !== undefined) killGroup(e, 'SIGKILL')
        resolve()
      }, graceMs)
    })
    await Promise.race([exited, killed])
    sched.clearTimeout(timer)
    await exited
    return infoOf(e)
  }

  const quarantine = async (name: string, reason = 'quarantined'): Promise<ComponentInfo> => {
    const e = get(name)
    const atMs = now()
    setState(name, e, 'quarantined')
    events.emit('quarantined', { name, atMs, reason })
    logger.warn({ component: name, reason }, 'component quarantined')
    await stopComponent(name, { reason: 'quarantined' })
    return infoOf(e)
  }

  const onProcessExit = (): void => {
    // The agent is going away: do not leave workloads orphaned.
    for (const e of entries.values()) { dropLimiter(e); if (e.pid !== undefined) killGroup(e, 'SIGKILL') }
  }

  return {
    async start (opts = {}) {
      if (running) return
      running = true
      process.on('exit', onProcessExit)
      await stopEarlierRun()
      const except = new Set(opts.except ?? [])
      for (const name of startOrder(specs.map((s) => get(s.name).spec))) {
        const e = get(name)
        if (e.state === 'quarantined' || e.child !== undefined || except.has(name)) continue
        await startComponent(name)
      }
    },
    async stop (opts = {}) {
      running = false
      process.off('exit', onProcessExit)
      const order = startOrder([...entries.values()].map((e) => e.spec)).reverse()
      for (const name of order) await stopComponent(name, opts)
    },
    startComponent,
    stopComponent,
    async restartComponent (name, opts = {}) {
      const e = get(name)
      if (e.spec.shared) {
        if (e.state === 'quarantined') throw new SupervisorError('COMPONENT_QUARANTINED', `component "${name}" is quarantined; release it first`)
        return await restartShared(name, e)
      }
      await stopComponent(name, { ...opts, reason: opts.reason ?? 'restart' })
      return await startComponent(name)
    },
    signal (name, sig, reason) {
      const e = get(name)
      if (e.child === undefined) return false
      if (reason !== undefined) e.pendingReason = reason
      // A process being terminated must not be stopped again by its CPU limit while it shuts down.
      if (sig === 'SIGTERM' || sig === 'SIGINT' || sig === 'SIGQUIT' || sig === 'SIGKILL') dropLimiter(e)
      return killGroup(e, sig)
    },
    info: (name) => infoOf(get(name)),
    list: () => [...entries.values()].map(infoOf),
    names: () => [...entries.keys()],
    updateSpec (name, patch) {
      const e = get(name)
      const merged = { ...e.spec, ...patch, name: e.spec.name }
      const spec = parseComponent(merged, `components.${name}`)
      for (const d of spec.dependsOn) {
        if (!entries.has(d)) throw new ConfigError(`invalid components.${name}: dependsOn: unknown component "${d}"`, [`components.${name}.dependsOn: unknown component "${d}"`])
      }
      e.spec = spec
      events.emit('spec', { name, spec })
      return spec
    },
    quarantine,
    release (name) {
      const e = get(name)
      if (e.state === 'quarantined') {
        e.exitTimes = []
        e.failureStreak = 0
        setState(name, e, e.child !== undefined || e.spec.shared ? 'running' : 'stopped')
        events.emit('released', { name, atMs: now() })
        logger.info({ component: name }, 'quarantine released')
      }
      return infoOf(e)
    },
    tail: (name) => tailOf(get(name)),
    limitCpu (name, cores) {
      const e = get(name)
      if (e.pid === undefined || e.spec.shared || !(cores > 0)) return undefined
      const pid = e.pid
      dropLimiter(e)
      const run = createCpuLimiter({
        pgid: pid,
        cores,
        now,
        timers: sched,
        logger,
        onGone: () => { if (e.limiter?.run === run) e.limiter = undefined }
      })
      e.limiter = { cores, periodMs: CPU_LIMIT_DEFAULTS.periodMs, run }
      run.start()
      logger.info({ component: name, childPid: pid, cores }, 'CPU limit held by duty cycle (no writable cgroup)')
      return { method: 'duty-cycle', periodMs: e.limiter.periodMs }
    },
    unlimitCpu (name) {
      const e = get(name)
      if (e.limiter !== undefined) logger.info({ component: name, childPid: e.pid }, 'CPU limit lifted')
      dropLimiter(e)
    },
    on: (event, fn) => events.on(event, fn),
    stats: () => ({ ...counters, listenerErrors: events.listenerErrors })
  }
}

