// bench/micro, real supervisors side by side. Run under reaper.py (a child
// subreaper: orphans below it are reaped at once, as systemd would, and killed
// if anything is left at the end). Prints one JSON object per line on stdout,
// progress on stderr. Modes:
//   compare [--quick] [--seed N]   monit vs `homeostat agent` (monit's probe timing) vs `homeostat agent`
//                                  (its defaults) on `python3 -m http.server`: crash (SIGKILL) and
//                                  hang (SIGSTOP), first fault and recurring; and, before the faults,
//                                  duplicateAfterAgentRestart
//   healthy                        `homeostat agent` (defaults) on a healthy, noisy process until
//                                  "stop" (or EOF) on stdin; then its incident records
// MTTR, for every system alike, is measured from outside: fault injection (the
// kill(2) of the process that owns the port's listening socket) → the first
// HTTP 200, on a fresh connection opened after the fault, answered while the
// port's listening socket belongs to another process (read from /proc/net/tcp
// and /proc/PID/fd, never from the supervisor). Polls every 20 ms, 150 ms timeout.
// Environment (development): BENCH_MICRO_MONIT=PATH another monit binary (a
// missing one shows the report without monit); BENCH_MICRO_SUP_PLAN='{"firstFaultRounds":1}'
// overrides the plan (the `info` line shows the plan used).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { seededRandom } from '@homeostat/interface'
import { RECOVERY_DEFAULTS } from '@homeostat/recovery'
import { WATCH_DEFAULTS } from '@homeostat/monitor'
import { alive, httpGet, killHard, listenerPid, pidsWithMarker, processState } from './procfs.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const REPO = join(here, '..', '..')
const CLI = join(REPO, 'agent', 'bin', 'homeostat.js')
const NOISY = join(here, 'noisy.mjs')
const out = (o) => { try { process.stdout.write(JSON.stringify(o) + '\n') } catch {} }
const T0 = Date.now()
const say = (s) => { try { process.stderr.write(`  [supervisors ${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${s}\n`) } catch {} }

export const SYSTEMS = ['monit', 'homeostatMonitTiming', 'homeostat']
/**
 * crash = SIGKILL; hang = SIGSTOP (the kernel shows the process stopped, which homeostat uses to corroborate a
 * failing probe at once); deadlock = the server's main thread blocks forever in a SIGUSR1 handler (state S:
 * nothing but the probes can tell, the fair hang). Deadlock runs in the full run only (quick stays < 1 min).
 */
export const FAULTS = ['crash', 'hang', 'deadlock']
const QUICK_FAULTS = ['crash', 'hang']
/**
 * The deadlock workload: Python's own http.server, with a SIGUSR1 handler that never returns (a stuck main
 * thread: connections queue unanswered, SIGTERM still ends it). argv: PORT DIR.
 */
const DEADLOCKABLE = 'import functools, http.server, signal, sys, time; signal.signal(signal.SIGUSR1, lambda *a: time.sleep(1e9)); h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2]); http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), h).serve_forever()'
const serverArgs = (fault, port, www) => fault === 'deadlock' ? ['-c', DEADLOCKABLE, String(port), www] : ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', www]

/** Timing of the comparison. Full: what the README's figures come from; quick: a smoke run (< 1 min with the rest of bench/micro). */
const PLAN = {
  // settleMs: after a heal is seen, wait this long before the next fault (verification, incident bookkeeping).
  full: { firstFaultRounds: 8, recurringFaults: 8, recurringSpacingMs: 40_000, healTimeoutMs: 90_000, duplicateRuns: 3, settleMs: 1_000 },
  quick: { firstFaultRounds: 1, recurringFaults: 1, recurringSpacingMs: 10_000, healTimeoutMs: 25_000, duplicateRuns: 1, settleMs: 500 }
}
/** A first fault hits a service this long after it first served: longer than monit's start timeout below, during which monit pauses its connection tests. */
const FIRST_FAULT_AFTER_SERVING_MS = 6_000
/** monit's start/stop program timeout; monit does not test the port while the process is younger than this. */
const MONIT_PROGRAM_TIMEOUT_S = 5
const POLL_MS = 20
const POLL_TIMEOUT_MS = 150

// ---------------------------------------------------------------- cleanup
const ROOT = mkdtempSync(join(tmpdir(), 'homeostat-bench-sup-'))
/** Every process this script spawned (agents, monits). */
const spawned = new Set()
let cleaning
async function cleanup () {
  if (cleaning !== undefined) return await cleaning
  cleaning = (async () => {
    const procs = [...spawned].filter((p) => p.exitCode === null && p.signalCode === null)
    for (const p of procs) { try { p.kill('SIGTERM') } catch {} }
    await Promise.race([Promise.all(procs.map(exited)), sleep(7_000)])
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL') } catch {} }
    // Whatever is left with our temp root in its argv (servers, workloads): every workload's argv has it.
    for (let pass = 0; pass < 3; pass++) {
      const left = pidsWithMarker(ROOT)
      if (left.length === 0) break
      for (const pid of left) killHard(pid)
      await sleep(100)
    }
    rmSync(ROOT, { recursive: true, force: true })
  })()
  return await cleaning
}
let aborting = false
const abort = (why, code) => {
  if (aborting) return
  aborting = true
  say(`${why}: cleaning up`)
  void cleanup().finally(() => process.exit(code))
}
process.on('SIGINT', () => abort('SIGINT', 130))
process.on('SIGTERM', () => abort('SIGTERM', 143))
process.on('SIGHUP', () => abort('SIGHUP', 129))
process.on('uncaughtException', (err) => { say(`error: ${err.stack ?? err}`); abort('uncaught exception', 1) })
process.on('unhandledRejection', (err) => { say(`error: ${err?.stack ?? err}`); abort('unhandled rejection', 1) })
process.stdout.on('error', () => abort('stdout closed', 1))

function exited (p) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => p.once('exit', () => resolve()))
}

// ---------------------------------------------------------------- helpers
const handedOut = new Set()
async function freePort () {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
    })
    if (!handedOut.has(port)) { handedOut.add(port); return port }
  }
}

function which (cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 })
  return r.error != null || r.status !== 0 ? undefined : r.stdout.trim()
}

/** The real interpreter behind `python3` (a pyenv shim would add a shell between the supervisor and the server). */
const PYTHON = which('python3', ['-c', 'import sys; print(sys.executable)'])
/** $BENCH_MICRO_MONIT: another monit binary (or a missing one, to see the report without it). */
const MONIT_BIN = process.env.BENCH_MICRO_MONIT ?? 'monit'
const MONIT_V = which(MONIT_BIN, ['-V'])
const MONIT = MONIT_V !== undefined ? MONIT_BIN : undefined
const MONIT_VERSION = MONIT_V !== undefined ? /version ([\d.]+)/i.exec(MONIT_V)?.[1] : undefined

const pct = (xs, p) => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

async function until (cond, timeoutMs, stepMs = 50) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const v = await cond()
    if (v) return v
    if (performance.now() > deadline || aborting) return undefined
    await sleep(stepMs)
  }
}

function spawnLogged (cmd, args, dir, logName) {
  const fd = openSync(join(dir, logName), 'a')
  // detached: its own process group, so a Ctrl-C reaches only this script, which stops it in order.
  const p = spawn(cmd, args, { cwd: dir, stdio: ['ignore', fd, fd], detached: true })
  closeSync(fd)
  spawned.add(p)
  p.once('exit', () => spawned.delete(p))
  p.once('error', (err) => say(`${cmd}: ${err.message}`))
  return p
}

const q = JSON.stringify

// ---------------------------------------------------------------- homeostat
function agentYaml ({ name, dataDir, apiPort, components }) {
  return `# generated by bench/micro/supervisors.mjs
node:
  name: ${name}
  dataDir: ${q(dataDir)}
api:
  listen: 127.0.0.1:${apiPort}
mesh:
  enabled: false   # one node on its own; several agents on one host would also collide on the mesh port
components:
${components}`
}

async function startAgent (inst) {
  inst.proc = spawnLogged(process.execPath, [CLI, 'agent', '--config', inst.config], inst.dir, 'agent.log')
  const ok = await until(async () => {
    if (inst.proc.exitCode !== null || inst.proc.signalCode !== null) return 'exited'
    try { return (await fetch(`${inst.api}/readyz`, { signal: AbortSignal.timeout(500) })).ok ? 'ready' : undefined } catch { return undefined }
  }, 30_000, 100)
  if (ok !== 'ready') throw new Error(`homeostat agent ${inst.id} did not become ready (${ok ?? 'timeout'}); see ${join(inst.dir, 'agent.log')}:\n${tail(join(inst.dir, 'agent.log'))}`)
}

function tail (file, n = 15) {
  try { return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n') } catch { return '(no log)' }
}

async function getJson (url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    return r.ok ? await r.json() : undefined
  } catch { return undefined }
}

// ---------------------------------------------------------------- monit
function writeMonit (inst) {
  const d = inst.dir
  const grace = RECOVERY_DEFAULTS.hangGraceMs
  const start = `#!/bin/sh
# monit's start program: the server in the background, its pid in the pid file.
cd ${q(inst.www)} || exit 1
${q(PYTHON)} ${serverArgs(inst.fault, inst.port, inst.www).map(q).join(' ')} >>${q(join(d, 'server.log'))} 2>&1 &
echo $! > ${q(join(d, 'server.pid.tmp'))} && mv ${q(join(d, 'server.pid.tmp'))} ${q(join(d, 'server.pid'))}
`
  // SIGTERM, then SIGKILL after homeostat's own grace for a hung process (recovery's hangGraceMs),
  // so that the systems differ in detection and decision, not in how long they wait for a kill.
  const stop = `#!/bin/sh
# monit's stop program: SIGTERM, SIGKILL after ${grace} ms.
pid=$(cat ${q(join(d, 'server.pid'))} 2>/dev/null) || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt ${Math.max(1, Math.round(grace / 50))} ]; then kill -KILL "$pid" 2>/dev/null; exit 0; fi
  sleep 0.05
done
`
  const rc = `# generated by bench/micro/supervisors.mjs (monit ${MONIT_VERSION ?? '?'})
set daemon 1
set log ${q(join(d, 'monit.log'))}
set pidfile ${q(join(d, 'monit.pid'))}
set idfile ${q(join(d, 'monit.id'))}
set statefile ${q(join(d, 'monit.state'))}

check process web with pidfile ${q(join(d, 'server.pid'))}
  start program = ${q(join(d, 'start.sh'))} with timeout ${MONIT_PROGRAM_TIMEOUT_S} seconds
  stop program = ${q(join(d, 'stop.sh'))} with timeout ${MONIT_PROGRAM_TIMEOUT_S} seconds
  if failed host 127.0.0.1 port ${inst.port} protocol http request "/" with timeout 1 seconds for 2 cycles then restart
`
  writeFileSync(join(d, 'start.sh'), start, { mode: 0o700 })
  writeFileSync(join(d, 'stop.sh'), stop, { mode: 0o700 })
  writeFileSync(join(d, 'monitrc'), rc, { mode: 0o600 })
  inst.config = join(d, 'monitrc')
  const check = spawnSync(MONIT, ['-t', '-c', inst.config], { encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`monit -t rejected ${inst.config}: ${check.stdout}${check.stderr}`)
}

// ---------------------------------------------------------------- instances
let seq = 0
/** One system supervising its own copy of the server on its own port. */
async function createInstance (system, fault, tag) {
  const id = `${tag}-${system}-${fault}`
  const dir = join(ROOT, `${String(seq++).padStart(3, '0')}-${id}`)
  mkdirSync(dir, { mode: 0o700 })
  const www = join(dir, 'www')
  mkdirSync(www)
  writeFileSync(join(www, 'index.html'), `<!doctype html><p>bench/micro ${id}</p>\n`)
  const inst = { id, system, fault, dir, www, port: await freePort(), faults: [], servingSince: undefined, lastFault: undefined }
  if (system === 'monit') {
    writeMonit(inst)
  } else {
    inst.apiPort = await freePort()
    inst.api = `http://127.0.0.1:${inst.apiPort}`
    inst.config = join(dir, 'homeostat.yaml')
    const probe = system === 'homeostatMonitTiming'
      ? `      - kind: http
        url: http://127.0.0.1:${inst.port}/
        periodMs: 1000        # monit's cycle
        timeoutMs: 1000       # monit's "with timeout 1 seconds"
        failureThreshold: 2   # monit's "for 2 cycles"`
      : `      - kind: http      # homeostat's defaults for everything else
        url: http://127.0.0.1:${inst.port}/`
    const comp = `  - name: web
    command: ${q(PYTHON)}
    args: ${JSON.stringify(serverArgs(fault, inst.port, www))}
    cwd: ${q(www)}
${system === 'homeostatMonitTiming' ? '    restart: always\n' : ''}    probes:
${probe}
`
    mkdirSync(join(dir, 'data'), { mode: 0o700 })
    writeFileSync(inst.config, agentYaml({ name: `bench-${seq}`, dataDir: join(dir, 'data'), apiPort: inst.apiPort, components: comp }), { mode: 0o600 })
  }
  return inst
}

async function startInstance (inst) {
  if (inst.system === 'monit') inst.proc = spawnLogged(MONIT, ['-I', '-c', inst.config], inst.dir, 'monit.out')
  else await startAgent(inst)
  const served = await until(async () => (await httpGet(inst.port, { timeoutMs: 300 })).status === 200, 30_000, 50)
  if (served !== true) throw new Error(`${inst.id}: the server never answered on port ${inst.port}; see ${inst.dir}`)
  inst.servingSince = performance.now()
}

async function stopInstance (inst) {
  const p = inst.proc
  if (p !== undefined && p.exitCode === null && p.signalCode === null) {
    p.kill('SIGTERM')
    await Promise.race([exited(p), sleep(7_000)])
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    await exited(p)
  }
  // monit leaves its services running when it exits; a stopped server may be left by an unhealed trial.
  for (const pid of pidsWithMarker(inst.www)) killHard(pid)
}

/** The agent's incident records for its component, assigned to the faults they followed. */
async function attachIncidents (inst) {
  if (inst.system === 'monit') return
  const list = (await getJson(`${inst.api}/api/incidents?component=web&limit=1000`))?.incidents ?? []
  const faults = inst.faults.filter((f) => f.wallMs !== undefined)
  for (const [i, f] of faults.entries()) {
    const next = faults[i + 1]?.wallMs ?? Infinity
    const mine = list.filter((inc) => {
      const d = inc.steps.find((s) => s.kind === 'detected')
      const at = d?.atMs ?? inc.openedAtMs
      return at >= f.wallMs - 50 && at < next
    }).sort((a, b) => a.openedAtMs - b.openedAtMs)
    f.incidents = mine.length
    const inc = mine[0]
    if (inc === undefined) continue
    const detected = inc.steps.find((s) => s.kind === 'detected')
    const recovered = inc.steps.find((s) => s.kind === 'recovered')
    f.failureClass = inc.failureClass
    f.status = inc.status
    f.detectMs = detected !== undefined ? detected.atMs - f.wallMs : null
    /** What saw it: the detected step's summary without the component, e.g. "http#0 failing 3×: timeout…" or "process#1: pid 123 is stopped (state T)". */
    f.detectedBy = detected !== undefined ? detected.summary.replace(/^.*? detected on [^:]+:\s*/, '').replace(/\d{3,}/g, 'N').slice(0, 120) : null
    /** The agent's own record: injection → its `recovered` step (for comparison with the outside measurement). */
    f.recordedRecoveryMs = recovered !== undefined ? recovered.atMs - f.wallMs : null
    f.actions = mine.flatMap((x) => x.steps.filter((s) => s.kind === 'acted').map((s) => String(s.data?.action ?? s.summary.split(' ')[0])))
    f.actedSummaries = mine.flatMap((x) => x.steps.filter((s) => s.kind === 'acted').map((s) => s.summary.slice(0, 160)))
  }
}

// ---------------------------------------------------------------- faults
/**
 * One fault on one instance, measured from outside. Returns the trial record;
 * mttrMs null when no other process served within healTimeoutMs.
 */
async function inject (inst, kind, pattern, plan, random) {
  const healTimeoutMs = plan.healTimeoutMs
  const trial = { type: 'trial', system: inst.system, fault: kind, pattern, instance: inst.id }
  // At a random phase of the supervisors' 1 s cycles and probe periods.
  await sleep(Math.round(random() * 1000))
  // It must be serving now (and we need the pid that serves).
  const ok = await httpGet(inst.port, { timeoutMs: 1000 })
  const pid = ok.status === 200 ? listenerPid(inst.port) : undefined
  if (pid === undefined) { trial.skipped = `not serving before the fault (${ok.error ?? ok.status})`; trial.mttrMs = null; inst.faults.push(trial); return trial }
  trial.pid = pid
  trial.sinceServingS = Math.round((performance.now() - inst.servingSince) / 100) / 10
  if (inst.lastFault !== undefined) trial.sincePreviousFaultS = Math.round((performance.now() - inst.lastFault) / 100) / 10
  const t0 = performance.now()
  trial.wallMs = Date.now()
  try { process.kill(pid, kind === 'crash' ? 'SIGKILL' : kind === 'hang' ? 'SIGSTOP' : 'SIGUSR1') } catch (err) { trial.skipped = `kill: ${err.message}`; trial.mttrMs = null; inst.faults.push(trial); return trial }
  inst.lastFault = t0
  trial.mttrMs = null
  let answeredByFaulted = 0
  let lastNew
  while (performance.now() - t0 < healTimeoutMs && !aborting) {
    const r = await httpGet(inst.port, { timeoutMs: POLL_TIMEOUT_MS })
    if (r.status === 200) {
      const at = r.at
      const owner = listenerPid(inst.port, [lastNew, pid])
      const faultedGone = !alive(pid) || processState(pid) === 'T'
      if ((owner !== undefined && owner !== pid) || (owner === undefined && faultedGone)) {
        trial.mttrMs = Math.round(at - t0)
        trial.newPid = owner ?? null
        break
      }
      answeredByFaulted++
      lastNew = owner
    }
    await sleep(POLL_MS)
  }
  if (answeredByFaulted > 0) trial.answeredByFaulted = answeredByFaulted
  trial.faultedPidState = processState(pid) ?? 'gone'
  inst.faults.push(trial)
  say(`${inst.system.padEnd(20)} ${kind.padEnd(5)} ${pattern.padEnd(9)} ${trial.mttrMs === null ? 'NOT HEALED' : `${trial.mttrMs} ms`}`)
  await sleep(plan.settleMs)
  return trial
}

function report (inst) {
  for (const f of inst.faults) out(f)
}

// ---------------------------------------------------------------- duplicateAfterAgentRestart
/**
 * A real agent supervising 3 workloads, each with a unique marker in its argv;
 * SIGKILL of the agent alone (its children live on), the agent started again
 * on the same config and data dir; ready + 5 s later, the live processes per
 * marker. duplicate = Σ |count − 1|.
 */
async function duplicateTest (run) {
  const dir = join(ROOT, `dup-${run}`)
  mkdirSync(dir, { mode: 0o700 })
  const www = join(dir, 'www-web')
  mkdirSync(www)
  writeFileSync(join(www, 'index.html'), `<!doctype html><p>bench/micro dup ${run}</p>\n`)
  const worker = join(dir, 'worker.mjs')
  writeFileSync(worker, "// bench/micro duplicate test: a small long-running node workload\nsetInterval(() => {}, 1000)\nprocess.on('SIGTERM', () => process.exit(0))\n")
  const markers = { web: www, sleeper: join(dir, 'sleeper-marker'), worker }
  const port = await freePort()
  const inst = { id: `dup-${run}`, dir, apiPort: await freePort(), config: join(dir, 'homeostat.yaml') }
  inst.api = `http://127.0.0.1:${inst.apiPort}`
  mkdirSync(join(dir, 'data'), { mode: 0o700 })
  const comps = `  - name: web
    command: ${q(PYTHON)}
    args: ["-m", "http.server", "${port}", "--bind", "127.0.0.1", "--directory", ${q(www)}]
    cwd: ${q(www)}
    probes:
      - kind: http
        url: http://127.0.0.1:${port}/
  - name: sleeper
    command: ${q(PYTHON)}
    args: ["-c", "import signal; signal.pause()", ${q(markers.sleeper)}]
  - name: worker
    command: ${q(process.execPath)}
    args: [${q(worker)}]
`
  writeFileSync(inst.config, agentYaml({ name: `bench-dup-${run}`, dataDir: join(dir, 'data'), apiPort: inst.apiPort, components: comps }), { mode: 0o600 })
  const counts = () => Object.fromEntries(Object.entries(markers).map(([k, m]) => [k, pidsWithMarker(m)]))
  const result = { type: 'duplicate', run }
  try {
    await startAgent(inst)
    const allUp = await until(async () => {
      const c = counts()
      return Object.values(c).every((p) => p.length === 1) && (await httpGet(port, { timeoutMs: 500 })).status === 200
    }, 20_000, 100)
    if (allUp !== true) throw new Error(`dup-${run}: the 3 workloads never all ran: ${JSON.stringify(counts())}`)
    const before = counts()
    result.pidsBefore = before
    inst.proc.kill('SIGKILL')
    await exited(inst.proc)
    result.killedAgentPid = inst.proc.pid
    await startAgent(inst)
    await sleep(5_000)
    const after = counts()
    result.pidsAfter = after
    result.counts = Object.fromEntries(Object.entries(after).map(([k, p]) => [k, p.length]))
    result.survivorsOfKilledAgent = Object.fromEntries(Object.entries(after).map(([k, p]) => [k, p.filter((x) => before[k].includes(x)).length]))
    result.duplicate = Object.values(result.counts).reduce((a, c) => a + Math.abs(c - 1), 0)
    const r = await httpGet(port, { timeoutMs: 1000 })
    result.httpAnswered = r.status === 200 && r.bytes > 0
    result.httpStatus = r.status ?? r.error
    result.httpBytes = r.bytes ?? 0
    const comps = (await getJson(`${inst.api}/api/components`))?.components ?? []
    result.componentStates = Object.fromEntries(comps.map((c) => [c.name, c.state ?? c.status ?? '?']))
    const incs = (await getJson(`${inst.api}/api/incidents?limit=100`))?.incidents ?? []
    result.incidentsAfterRestart = incs.map((i) => `${i.component}:${i.failureClass}:${i.status}`)
  } finally {
    const p = inst.proc
    if (p !== undefined && p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM')
      await Promise.race([exited(p), sleep(7_000)])
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    }
    for (const m of Object.values(markers)) for (const pid of pidsWithMarker(m)) killHard(pid)
  }
  say(`duplicateAfterAgentRestart run ${run}: ${JSON.stringify(result.counts)} → ${result.duplicate}; http ${result.httpAnswered ? 'answers' : 'does not answer'}`)
  out(result)
  return result
}

// ---------------------------------------------------------------- compare
async function compare (quick, seed) {
  // $BENCH_MICRO_SUP_PLAN (JSON, for development): overrides, e.g. {"firstFaultRounds":1}; the info line shows the plan used.
  const plan = { ...(quick ? PLAN.quick : PLAN.full), ...JSON.parse(process.env.BENCH_MICRO_SUP_PLAN ?? '{}') }
  const random = seededRandom(seed)
  out({ type: 'info', monitMissing: MONIT === undefined, monitVersion: MONIT_VERSION ?? null, python: PYTHON ?? null, plan, firstFaultAfterServingMs: FIRST_FAULT_AFTER_SERVING_MS, monitProgramTimeoutS: MONIT_PROGRAM_TIMEOUT_S, monitStopGraceMs: RECOVERY_DEFAULTS.hangGraceMs, pollMs: POLL_MS, pollTimeoutMs: POLL_TIMEOUT_MS })
  if (PYTHON === undefined) throw new Error('python3 is missing (apt-get install python3): the workload is python3 -m http.server')
  if (MONIT === undefined) say('monit is not installed (apt-get install monit): its figures will be null')
  const systems = SYSTEMS.filter((s) => s !== 'monit' || MONIT !== undefined)
  const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length])

  if (quick) {
    // One set of fresh instances; the duplicate test runs while they warm up
    // (before any fault); each instance gets a first fault, then a second
    // (recurring) one once the other five have had theirs.
    const insts = []
    for (const f of QUICK_FAULTS) for (const s of systems) insts.push(await createInstance(s, f, 'q'))
    const starting = Promise.all(insts.map(startInstance))
    starting.catch(() => {}) // awaited below; not an unhandled rejection meanwhile
    for (let r = 0; r < plan.duplicateRuns; r++) await duplicateTest(r)
    await starting
    const order = rotate(insts, Math.floor(random() * insts.length))
    for (const inst of order) {
      await until(() => performance.now() - inst.servingSince >= FIRST_FAULT_AFTER_SERVING_MS, 60_000, 50)
      await inject(inst, inst.fault, 'first', plan, random)
    }
    for (let k = 0; k < plan.recurringFaults; k++) {
      for (const inst of order) {
        await until(() => performance.now() - inst.lastFault >= plan.recurringSpacingMs, 120_000, 50)
        await inject(inst, inst.fault, 'recurring', plan, random)
      }
    }
    await Promise.all(insts.map(attachIncidents))
    insts.forEach(report)
    await Promise.all(insts.map(stopInstance))
  } else {
    for (let r = 0; r < plan.duplicateRuns; r++) await duplicateTest(r)
    // First fault: fresh instances every round (3 systems × 2 faults), faults one at a time.
    for (let round = 0; round < plan.firstFaultRounds && !aborting; round++) {
      const insts = []
      for (const f of FAULTS) for (const s of systems) insts.push(await createInstance(s, f, `r${round}`))
      try {
        await Promise.all(insts.map(startInstance))
        const order = rotate(insts, (round + Math.floor(random() * insts.length)) % insts.length)
        for (const inst of order) {
          await until(() => performance.now() - inst.servingSince >= FIRST_FAULT_AFTER_SERVING_MS, 60_000, 50)
          await inject(inst, inst.fault, 'first', plan, random)
        }
        await Promise.all(insts.map(attachIncidents))
        insts.forEach(report)
      } finally {
        await Promise.all(insts.map(stopInstance))
        for (const i of insts) rmSync(i.dir, { recursive: true, force: true })
      }
    }
    // Recurring: one long-running set; faults on each instance ≥ 40 s apart and
    // each after its previous heal; the six instances take turns (one fault at a
    // time). The first fault of each is the priming one (not counted as recurring).
    const insts = []
    for (const f of FAULTS) for (const s of systems) insts.push(await createInstance(s, f, 'rec'))
    try {
      await Promise.all(insts.map(startInstance))
      const order = rotate(insts, Math.floor(random() * insts.length))
      for (let k = 0; k <= plan.recurringFaults && !aborting; k++) {
        for (const inst of order) {
          if (k === 0) await until(() => performance.now() - inst.servingSince >= FIRST_FAULT_AFTER_SERVING_MS, 60_000, 50)
          else await until(() => performance.now() - inst.lastFault >= plan.recurringSpacingMs, 300_000, 50)
          await inject(inst, inst.fault, k === 0 ? 'priming' : 'recurring', plan, random)
        }
      }
      await Promise.all(insts.map(attachIncidents))
      insts.forEach(report)
    } finally {
      await Promise.all(insts.map(stopInstance))
    }
  }
  out({ type: 'done' })
}

// ---------------------------------------------------------------- healthy
async function healthy () {
  const dir = join(ROOT, 'healthy')
  mkdirSync(dir, { mode: 0o700 })
  const port = await freePort()
  const inst = { id: 'healthy', dir, apiPort: await freePort(), config: join(dir, 'homeostat.yaml') }
  inst.api = `http://127.0.0.1:${inst.apiPort}`
  mkdirSync(join(dir, 'data'), { mode: 0o700 })
  const comps = `  - name: noisy
    command: ${q(process.execPath)}
    args: ["--expose-gc", ${q(NOISY)}, ${q(join(dir, 'noisy-marker'))}]
    env: { PORT: "${port}" }
    probes:
      - kind: http
        url: http://127.0.0.1:${port}/health
`
  writeFileSync(inst.config, agentYaml({ name: 'bench-healthy', dataDir: join(dir, 'data'), apiPort: inst.apiPort, components: comps }), { mode: 0o600 })
  await startAgent(inst)
  const served = await until(async () => (await httpGet(port, { path: '/health', timeoutMs: 300 })).status === 200, 20_000, 100)
  if (served !== true) throw new Error('the noisy workload never answered')
  const t0 = Date.now()
  out({ type: 'healthy-ready' })
  await new Promise((resolve) => {
    let buf = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (d) => { buf += d; if (buf.includes('stop')) resolve() })
    process.stdin.on('end', resolve)
    process.stdin.on('close', resolve)
  })
  const windowS = Math.round((Date.now() - t0) / 100) / 10
  const incidents = (await getJson(`${inst.api}/api/incidents?limit=1000`))?.incidents ?? []
  const acted = incidents.flatMap((i) => i.steps.filter((s) => s.kind === 'acted').map((s) => ({ component: i.component, action: String(s.data?.action ?? '?'), summary: s.summary.slice(0, 200) })))
  let metricsText = ''
  try { metricsText = await (await fetch(`${inst.api}/metrics`, { signal: AbortSignal.timeout(5_000) })).text() } catch {}
  const loopStats = {}
  for (const m of metricsText.matchAll(/^homeostat_micro_loop_stat\{[^}]*?="([^"]+)"[^}]*\}\s+([\d.e+-]+)$/gm)) loopStats[m[1]] = Number(m[2])
  const restarts = [...metricsText.matchAll(/^homeostat_micro_component_restarts\{[^}]*\}\s+([\d.e+-]+)$/gm)].reduce((a, m) => a + Number(m[1]), 0)
  const comps2 = (await getJson(`${inst.api}/api/components`))?.components ?? []
  out({
    type: 'healthy',
    windowS,
    /** The detector ignores a series' first samples (1 Hz): a shorter window says nothing about metric anomalies. */
    warmupSamples: WATCH_DEFAULTS.detectorWarmupSamples,
    sampleMs: 1000,
    incidents: incidents.length,
    incidentSummaries: incidents.slice(0, 20).map((i) => `${i.component}:${i.failureClass}:${i.status}`),
    acted: acted.length,
    actedDetail: acted.slice(0, 20),
    anomalies: loopStats.anomalies ?? null,
    observations: loopStats.observations ?? null,
    loopStats,
    componentRestarts: restarts,
    componentStates: Object.fromEntries(comps2.map((c) => [c.name, c.state ?? c.status ?? '?']))
  })
}

// ---------------------------------------------------------------- main
const [mode, ...rest] = process.argv.slice(2)
const seedAt = rest.indexOf('--seed')
const seed = seedAt >= 0 ? Number(rest[seedAt + 1]) : Date.now() % 100_000
try {
  if (mode === 'compare') {
    process.stdin.on('end', () => abort('parent gone (stdin closed)', 1))
    process.stdin.resume()
    await compare(rest.includes('--quick'), seed)
  } else if (mode === 'healthy') {
    await healthy()
  } else {
    console.error('usage: supervisors.mjs compare [--quick] [--seed N] | healthy')
    process.exitCode = 2
  }
} catch (err) {
  say(`error: ${err.stack ?? err}`)
  out({ type: 'error', message: String(err.message ?? err) })
  process.exitCode = 1
}
await cleanup()
process.exit(process.exitCode ?? 0)
