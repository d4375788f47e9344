// bench/micro's real-supervisor part, as index.ts drives it: spawns
// supervisors.mjs (under reaper.py) for the comparison with monit and the
// duplicate-after-restart test, and for the healthy-noisy watch that runs for
// the whole benchmark; aggregates their JSON lines into table rows and the
// final JSON's fields.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const SYSTEMS = ['monit', 'homeostatMonitTiming', 'homeostat'] as const
const FAULTS = ['crash', 'hang', 'deadlock'] as const
const PATTERNS = ['first', 'recurring'] as const
type System = typeof SYSTEMS[number]
type Fault = typeof FAULTS[number]
type Pattern = typeof PATTERNS[number]

export interface SupLine { type: string, [k: string]: unknown }

export interface SupChild {
  child: ChildProcess
  lines: SupLine[]
  /** Resolves with every line once the process has exited (rejects on a non-zero exit). */
  done: Promise<SupLine[]>
  /** Resolves at the first line of this type (or undefined if the process ends first). */
  waitFor: (type: string) => Promise<SupLine | undefined>
  /** "stop" on stdin (healthy mode reports and exits). */
  stop: () => void
}

const live = new Set<SupChild>()

/** supervisors.mjs MODE ARGS under reaper.py; its stdin stays open (EOF = we are gone: it cleans up and exits). */
export function startSupervisors (args: string[]): SupChild {
  const child = spawn('python3', [join(here, 'reaper.py'), process.execPath, join(here, 'supervisors.mjs'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: SupLine[] = []
  const waiters: Array<{ type: string, resolve: (l: SupLine | undefined) => void }> = []
  let buf = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (d: string) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, i)
      buf = buf.slice(i + 1)
      let l: SupLine
      try { l = JSON.parse(raw) as SupLine } catch { continue }
      lines.push(l)
      for (const w of waiters.filter((x) => x.type === l.type)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l) }
    }
  })
  child.stdin!.on('error', () => {})
  let ended = false
  const done = new Promise<SupLine[]>((resolve, reject) => {
    const end = (err?: Error): void => {
      if (ended) return
      ended = true
      live.delete(handle)
      for (const w of waiters.splice(0)) w.resolve(undefined)
      if (err === undefined) resolve(lines)
      else reject(err)
    }
    // e.g. ENOENT: python3 (for reaper.py) is missing; no 'exit' follows.
    child.once('error', (err) => end(new Error(`cannot run reaper.py: ${err.message} (the comparison needs python3: apt-get install python3)`)))
    child.once('exit', (code, signal) => {
      if (code === 0) end()
      else end(new Error(`supervisors.mjs ${args.join(' ')} exited ${code ?? signal}${lines.some((l) => l.type === 'error') ? `: ${String(lines.find((l) => l.type === 'error')?.message)}` : ''}`))
    })
  })
  const handle: SupChild = {
    child,
    lines,
    done,
    waitFor: async (type) => {
      const seen = lines.find((l) => l.type === type)
      if (seen !== undefined) return seen
      if (ended || child.exitCode !== null || child.signalCode !== null) return undefined
      return await new Promise((resolve) => waiters.push({ type, resolve }))
    },
    stop: () => { try { child.stdin!.write('stop\n') } catch {} }
  }
  live.add(handle)
  return handle
}

/** index.ts's other children (agent.mjs, baseline.mjs): on Ctrl-C their process trees are killed and their temp dirs removed. */
const others = new Set<ChildProcess>()
export function trackChild (child: ChildProcess): void {
  others.add(child)
  child.once('exit', () => others.delete(child))
}

/** pid and all its descendants (by parent pid in /proc), deepest last. */
function treeOf (root: number): number[] {
  const parent = new Map<number, number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8')
      parent.set(Number(d), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i] && !out.includes(pid)) out.push(pid)
  return out
}

/**
 * SIGKILL of a child's whole tree (its workloads are detached process groups that
 * a Ctrl-C does not reach and that it cannot stop once killed), and removal of the
 * temp dirs its workloads name in $FAULT_FILE.
 */
function killTreeAndDirs (child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const tree = treeOf(child.pid)
  const dirs = new Set<string>()
  for (const pid of tree) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('FAULT_FILE='))
      const dir = env === undefined ? undefined : dirname(env.slice('FAULT_FILE='.length))
      if (dir !== undefined && dir.startsWith(join(tmpdir(), 'homeostat-bench-'))) dirs.add(dir)
    } catch {}
  }
  for (const pid of tree) for (const sig of ['SIGCONT', 'SIGKILL'] as const) { try { process.kill(pid, sig) } catch {} }
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}

let interruptedBy: NodeJS.Signals | undefined
/** The signal that is stopping the benchmark, if any (main's errors are then the interruption's, not failures). */
export const interrupted = (): NodeJS.Signals | undefined => interruptedBy

/** On Ctrl-C / SIGTERM: let the children clean up (they stop every agent, monit and server they started), then exit. */
export function installSignalCleanup (): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    interruptedBy = sig
    console.log(`\n${sig}: stopping every process this benchmark started and removing its temp dirs…`)
    for (const c of [...others]) killTreeAndDirs(c)
    const waiting = [...live]
    for (const h of waiting) { try { h.child.kill('SIGTERM') } catch {} }
    const t = setTimeout(() => process.exit(130), 20_000)
    void Promise.allSettled(waiting.map(async (h) => await h.done)).then(() => { clearTimeout(t); process.exit(sig === 'SIGINT' ? 130 : 143) })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // A child killed by the interruption rejects its run: not an error, the handler above exits when all is clean.
  process.on('unhandledRejection', (err) => { if (interruptedBy === undefined) throw err })
}

const pctOf = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const v = s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
  return Number.isFinite(v) ? Math.round(v) : null
}
const ratio = (a: number | null, b: number | null): number | null => a == null || b == null || b === 0 ? null : Math.round((a / b) * 1000) / 1000

interface Cell { n: number, healed: number, p50: number | null, p95: number | null, detectP50: number | null, recordedP50: number | null, actions: Record<string, number>, classes: Record<string, number>, detectedBy: Record<string, number>, incidentsPerFault: number | null, spacingP50S: number | null, sinceServingP50S: number | null }

function cellOf (trials: SupLine[]): Cell {
  // An unhealed trial counts as +∞: it pushes the percentiles up instead of vanishing from them.
  const mttr = trials.filter((t) => t.skipped === undefined).map((t) => typeof t.mttrMs === 'number' ? t.mttrMs : Infinity)
  const nums = (k: string): number[] => trials.map((t) => t[k]).filter((x): x is number => typeof x === 'number')
  const tally = (k: string): Record<string, number> => {
    const o: Record<string, number> = {}
    for (const t of trials) {
      const v = t[k]
      for (const a of Array.isArray(v) ? v : v === undefined ? [] : [v]) o[String(a)] = (o[String(a)] ?? 0) + 1
    }
    return o
  }
  const incs = nums('incidents')
  return {
    n: trials.length,
    healed: trials.filter((t) => typeof t.mttrMs === 'number').length,
    p50: pctOf(mttr, 50),
    p95: pctOf(mttr, 95),
    detectP50: pctOf(nums('detectMs'), 50),
    recordedP50: pctOf(nums('recordedRecoveryMs'), 50),
    actions: tally('actions'),
    classes: tally('failureClass'),
    detectedBy: tally('detectedBy'),
    incidentsPerFault: incs.length > 0 ? Math.round((incs.reduce((a, b) => a + b, 0) / incs.length) * 100) / 100 : null,
    spacingP50S: pctOf(nums('sincePreviousFaultS'), 50),
    sinceServingP50S: pctOf(nums('sinceServingS'), 50)
  }
}

const LABEL: Record<System, string> = {
  monit: 'monit',
  homeostatMonitTiming: 'homeostat (monit timing)',
  homeostat: 'homeostat (defaults)'
}
const FIELD: Record<System, string> = { monit: 'monit', homeostatMonitTiming: 'homeostatMonitTiming', homeostat: 'homeostat' }
const cap = (s: string): string => s[0].toUpperCase() + s.slice(1)

/** Table rows and JSON fields from the comparison's and the healthy watch's lines. */
export function summarise (compare: SupLine[], healthy: SupLine[], quick: boolean): { rows: string[], fields: Record<string, unknown> } {
  const info: SupLine = compare.find((l) => l.type === 'info') ?? { type: 'info' }
  const monitMissing = info.monitMissing === true
  const plan = (info.plan ?? {}) as Record<string, number>
  const trials = compare.filter((l) => l.type === 'trial')
  const cells = {} as Record<System, Record<Fault, Record<Pattern, Cell>>>
  for (const s of SYSTEMS) {
    cells[s] = {} as Record<Fault, Record<Pattern, Cell>>
    for (const f of FAULTS) {
      cells[s][f] = {} as Record<Pattern, Cell>
      for (const p of PATTERNS) cells[s][f][p] = cellOf(trials.filter((t) => t.system === s && t.fault === f && t.pattern === p))
    }
  }
  const rows: string[] = []
  const fmt = (x: number | null, w: number): string => (x === null ? '—' : String(x)).padStart(w)
  rows.push('')
  rows.push(`real supervisors on \`python3 -m http.server\` (monit ${String(info.monitVersion ?? 'missing')}; homeostat agent processes, mesh off): MTTR = fault → first HTTP 200 from another pid (outside poller, ${String(info.pollMs ?? 20)} ms)`)
  rows.push('system                    fault pattern     n healed   p50 ms   p95 ms  detect p50  actions (homeostat incident records)')
  for (const s of SYSTEMS) {
    for (const f of FAULTS) {
      for (const p of PATTERNS) {
        const c = cells[s][f][p]
        if (f === 'deadlock' && c.n === 0) continue // full run only
        if (s === 'monit' && monitMissing) { rows.push(`${LABEL[s].padEnd(25)} ${f.padEnd(5)} ${p.padEnd(9)}   monit missing (apt-get install monit)`); continue }
        const acts = Object.entries(c.actions).map(([k, v]) => `${k}×${v}`).join(' ') || (s === 'monit' ? 'restart (stop+start programs)' : 'none recorded')
        const extra = p === 'recurring' && c.spacingP50S !== null ? `; ${c.spacingP50S} s after the previous fault` : p === 'first' && c.sinceServingP50S !== null ? `; ${c.sinceServingP50S} s after first serving` : ''
        rows.push(`${LABEL[s].padEnd(25)} ${f.padEnd(5)} ${p.padEnd(9)} ${String(c.n).padStart(3)} ${String(c.healed).padStart(6)} ${fmt(c.p50, 8)} ${fmt(c.p95, 8)} ${fmt(c.detectP50, 11)}  ${acts}${extra}`)
        if (s !== 'monit' && f !== 'crash') for (const [k, v] of Object.entries(c.detectedBy)) rows.push(`${''.padEnd(42)}detected by (${v}×): ${k}`)
      }
    }
  }
  const r = (s: System, f: Fault, p: Pattern): number | null => ratio(cells[s][f][p].p50, monitMissing ? null : cells.monit[f][p].p50)
  const ratios = {
    hangMttrVsMonit: r('homeostat', 'hang', 'first'),
    crashMttrVsMonit: r('homeostat', 'crash', 'first'),
    hangMttrVsMonitRecurring: r('homeostat', 'hang', 'recurring'),
    crashMttrVsMonitRecurring: r('homeostat', 'crash', 'recurring'),
    hangMttrVsMonitMonitTiming: r('homeostatMonitTiming', 'hang', 'first'),
    crashMttrVsMonitMonitTiming: r('homeostatMonitTiming', 'crash', 'first'),
    hangMttrVsMonitRecurringMonitTiming: r('homeostatMonitTiming', 'hang', 'recurring'),
    crashMttrVsMonitRecurringMonitTiming: r('homeostatMonitTiming', 'crash', 'recurring'),
    // A hang the kernel does not show (a stuck main thread, state S): only the probes can tell (full run only).
    deadlockMttrVsMonit: r('homeostat', 'deadlock', 'first'),
    deadlockMttrVsMonitRecurring: r('homeostat', 'deadlock', 'recurring'),
    deadlockMttrVsMonitMonitTiming: r('homeostatMonitTiming', 'deadlock', 'first'),
    deadlockMttrVsMonitRecurringMonitTiming: r('homeostatMonitTiming', 'deadlock', 'recurring')
  }
  const show = (x: number | null): string => x === null ? 'n/a' : String(x)
  rows.push(`MTTR ratio, homeostat defaults ÷ monit (p50; target ≤ 0.5): crash ${show(ratios.crashMttrVsMonit)}, hang ${show(ratios.hangMttrVsMonit)}; recurring: crash ${show(ratios.crashMttrVsMonitRecurring)}, hang ${show(ratios.hangMttrVsMonitRecurring)}`)
  rows.push(`MTTR ratio, homeostat with monit's timing ÷ monit (p50):       crash ${show(ratios.crashMttrVsMonitMonitTiming)}, hang ${show(ratios.hangMttrVsMonitMonitTiming)}; recurring: crash ${show(ratios.crashMttrVsMonitRecurringMonitTiming)}, hang ${show(ratios.hangMttrVsMonitRecurringMonitTiming)}`)
  if (cells.homeostat.deadlock.first.n > 0) rows.push(`MTTR ratio on a deadlock (a hang the kernel does not show; no corroboration, the probes' threshold decides): defaults ${show(ratios.deadlockMttrVsMonit)} (recurring ${show(ratios.deadlockMttrVsMonitRecurring)}), monit's timing ${show(ratios.deadlockMttrVsMonitMonitTiming)} (recurring ${show(ratios.deadlockMttrVsMonitRecurringMonitTiming)})`)
  rows.push(`  monit: set daemon 1, "if failed … protocol http request "/" with timeout 1 seconds for 2 cycles then restart", start/stop timeout ${String(info.monitProgramTimeoutS)} s (monit pauses port tests that long after a start), stop = SIGTERM + SIGKILL after ${String(info.monitStopGraceMs)} ms (homeostat's hang grace); under a reaping init (reaper.py)`)
  rows.push(`  homeostat (monit timing): http probe periodMs 1000, timeoutMs 1000, failureThreshold 2, restart: always; homeostat (defaults): http probe with kind and url only`)
  rows.push(`  faults: crash = SIGKILL, hang = SIGSTOP, deadlock = SIGUSR1 to a http.server whose handler never returns (full run), of the pid owning the listening socket, one at a time, at a random phase of the 1 s cycle; first fault ≥ ${Math.round(Number(info.firstFaultAfterServingMs ?? 0) / 1000)} s after a fresh start first served; recurring: same running service, ≥ ${Math.round(Number(plan.recurringSpacingMs ?? 0) / 1000)} s apart and after the previous heal${quick ? '' : ' (each service\'s first fault, a priming one, is not counted)'}`)
  if (quick) rows.push(`  QUICK: ${String(plan.firstFaultRounds)} first fault and ${String(plan.recurringFaults)} recurring fault per (system, fault) (full run: 8 and 8); recurring faults here are the 2nd fault on the service, spaced by the other faults (~${show(cells.homeostat.hang.recurring.spacingP50S)} s, full run: 40 s); run beside the leak/overhead phase above`)
  for (const l of trials.filter((t) => typeof t.skipped === 'string')) rows.push(`  skipped: ${String(l.system)} ${String(l.fault)} ${String(l.pattern)}: ${String(l.skipped)}`)

  // duplicateAfterAgentRestart
  const dups = compare.filter((l) => l.type === 'duplicate')
  const dupTotal = dups.length > 0 ? dups.reduce((a, d) => a + Number(d.duplicate ?? 0), 0) : null
  const answered = dups.filter((d) => d.httpAnswered === true).length
  rows.push('')
  rows.push(`duplicateAfterAgentRestart (target 0): ${show(dupTotal)} over ${dups.length} run(s) of SIGKILL agent → start it again (3 workloads: http.server, python sleeper, node script; Σ|live copies − 1| by argv marker, ready + 5 s)${quick ? ' [QUICK: 1 run, full: 3]' : ''}`)
  for (const d of dups) {
    rows.push(`  run ${String(d.run)}: copies ${JSON.stringify(d.counts)}, of which survivors of the killed agent ${JSON.stringify(d.survivorsOfKilledAgent)}; http.server reply: ${d.httpAnswered === true ? `${String(d.httpBytes)} bytes` : `none (${String(d.httpStatus)})`}; components ${JSON.stringify(d.componentStates)}; incidents ${JSON.stringify(d.incidentsAfterRestart)}`)
  }

  // falseActionsOnHealthy
  const h = healthy.find((l) => l.type === 'healthy')
  const windowS = h !== undefined ? Number(h.windowS) : null
  const warmupS = h !== undefined ? Number(h.warmupSamples) * Number(h.sampleMs) / 1000 : null
  rows.push('')
  if (h === undefined) rows.push('falseActionsOnHealthy: no result (the healthy watch failed)')
  else {
    rows.push(`falseActionsOnHealthy (target 0): ${String(h.acted)} acted steps on a healthy, noisy process (RSS and CPU wander, /health always 200) over ${String(windowS)} s; incidents ${String(h.incidents)}, observations ${String(h.observations)}, anomalies ${String(h.anomalies)}, component restarts ${String(h.componentRestarts)}`)
    if (windowS !== null && warmupS !== null && windowS < warmupS) rows.push(`  the window (${String(windowS)} s) is shorter than the detector's warm-up (${String(h.warmupSamples)} samples = ${warmupS} s): it says nothing about metric anomalies${quick ? ' (QUICK)' : ''}`)
    for (const a of (h.actedDetail as Array<Record<string, unknown>> | undefined) ?? []) rows.push(`  acted: ${String(a.action)}: ${String(a.summary)}`)
    for (const s of ((h.incidentSummaries as string[] | undefined) ?? []).slice(0, 10)) rows.push(`  incident: ${s}`)
  }

  const fields: Record<string, unknown> = { monitMissing }
  for (const s of SYSTEMS) {
    for (const f of FAULTS) {
      for (const p of PATTERNS) {
        const c = cells[s][f][p]
        const none = s === 'monit' && monitMissing
        const base = `${FIELD[s]}${cap(f)}Mttr${p === 'recurring' ? 'Recurring' : ''}`
        fields[`${base}P50Ms`] = none ? null : c.p50
        fields[`${base}P95Ms`] = none ? null : c.p95
        fields[`${base}Healed`] = none ? null : c.healed
        fields[`${base}Trials`] = none ? null : c.n
        if (s !== 'monit') {
          fields[`${FIELD[s]}${cap(f)}Detect${p === 'recurring' ? 'Recurring' : ''}P50Ms`] = c.detectP50
          fields[`${FIELD[s]}${cap(f)}Actions${p === 'recurring' ? 'Recurring' : ''}`] = c.actions
          if (f !== 'crash') fields[`${FIELD[s]}${cap(f)}DetectedBy${p === 'recurring' ? 'Recurring' : ''}`] = c.detectedBy
        }
      }
    }
  }
  Object.assign(fields, ratios)
  fields.recurringSpacingP50S = cells.homeostat.hang.recurring.spacingP50S
  fields.duplicateAfterAgentRestart = dupTotal
  fields.duplicateAfterAgentRestartRuns = dups.length
  fields.duplicateAfterAgentRestartHttpAnswered = dups.length > 0 ? answered : null
  fields.falseActionsOnHealthy = h !== undefined ? Number(h.acted) : null
  fields.falseActionsWindowS = windowS
  fields.falseActionsWindowCoversWarmup = windowS !== null && warmupS !== null ? windowS > warmupS : null
  fields.healthyIncidentsOpened = h !== undefined ? Number(h.incidents) : null
  fields.healthyObservations = h?.observations ?? null
  fields.healthyAnomalies = h?.anomalies ?? null
  return { rows, fields }
}
