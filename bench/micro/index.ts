// bench/micro: homeostat's micro loop against a baseline supervisor with
// Kubernetes' default probe timing, on the same faults, in one run.
// - crash: a service that starts in < 200 ms exits; MTTR onset → verified recovery.
// - hang: an HTTP server that accepts but never answers and ignores SIGTERM.
// - leak: services leaking 5/10/20 MB/s towards a 256 MB limit (OOM = the limit hit).
// - overhead: the agent alone, as a compiled-JS process, watching 10
//   components (process + HTTP probes at 1 Hz, resource watch at 1 Hz) and
//   50 system metrics at 1 Hz: CPU % of one core and RSS.
// MTTR is read from the incident records (first anomaly / fault onset →
// `recovered` step), never estimated.
// Real supervisors (supervisors-run.ts → supervisors.mjs): monit vs real
// `homeostat agent` processes (monit's probe timing, and its defaults) on
// `python3 -m http.server`, crash and hang, first fault and recurring, MTTR
// measured from outside; duplicateAfterAgentRestart; falseActionsOnHealthy (a
// healthy, noisy process watched by an agent for the whole benchmark).
// Usage: npm run bench -- micro [--quick] [--seed N]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Incident } from '@homeostat/interface'
import { seededRandom } from '@homeostat/interface'
import { installSignalCleanup, interrupted, startSupervisors, summarise, trackChild, type SupLine } from './supervisors-run.ts'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const seedArg = argv.indexOf('--seed')
const seed = seedArg >= 0 ? Number(argv[seedArg + 1]) : Date.now() % 100_000
const TRIALS = quick ? { crash: 3, hang: 3, leak: 3, baseline: 1, watchS: 10 } : { crash: 9, hang: 9, leak: 6, baseline: 3, watchS: 30 }
const WARMUP_S = 3

const seeded = seededRandom
const random = seeded(seed)

interface Line { type: string, [k: string]: unknown }

function run (script: string, args: string[], onLine?: (l: Line, pid: number) => void, env: Record<string, string> = {}): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    // detached: a Ctrl-C reaches index.ts, which kills the child's whole tree (its workloads included).
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env }, detached: true })
    trackChild(child)
    const lines: Line[] = []
    let buf = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, i)
        buf = buf.slice(i + 1)
        try {
          const l = JSON.parse(raw) as Line
          lines.push(l)
          onLine?.(l, child.pid!)
        } catch { /* not ours */ }
      }
    })
    child.once('error', reject)
    child.once('exit', (code) => { code === 0 ? resolve(lines) : reject(new Error(`${script} ${args.join(' ')} exited ${code}`)) })
  })
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}
const round = (x: number, d = 0): number => Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x

/**
 * Fault onset: the earlier of the incident's opening (first anomaly) and the
 * FAULT_ONSET marker the workload logged, which the record holds as evidence
 * (the stderr tail; the last marker is this fault's).
 */
function onsetOf (inc: Incident): number {
  let marker: number | undefined
  for (const s of inc.steps) for (const e of s.evidence ?? []) {
    const m = /FAULT_ONSET=(\d+)/.exec(e)
    if (m != null && Number(m[1]) <= inc.openedAtMs + 1000) marker = Number(m[1])
  }
  return marker === undefined ? inc.openedAtMs : Math.min(inc.openedAtMs, marker)
}
function mttrOf (inc: Incident | null): number | undefined {
  if (inc == null) return undefined
  const r = inc.steps.find((s) => s.kind === 'recovered')
  return r == null ? undefined : r.atMs - onsetOf(inc)
}
function detectionOf (inc: Incident | null): number | undefined {
  if (inc == null) return undefined
  const d = inc.steps.find((s) => s.kind === 'detected')
  return d == null ? undefined : d.atMs - onsetOf(inc)
}

function cpuSecondsOf (pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
function rssMbOf (pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m == null ? Number.NaN : Number(m[1]) / 1024
}

async function main (): Promise<void> {
  const t0 = Date.now()
  console.log(`bench/micro ${quick ? '--quick ' : ''}seed ${seed}`)
  installSignalCleanup()
  // A real agent on a healthy, noisy process, for the whole benchmark (falseActionsOnHealthy).
  const healthy = startSupervisors(['healthy'])
  healthy.done.catch(() => {}) // awaited at the end
  if (await healthy.waitFor('healthy-ready') === undefined) console.log('healthy watch failed to start (falseActionsOnHealthy will be null)')
  let compare: ReturnType<typeof startSupervisors> | undefined
  const compareArgs = ['compare', ...(quick ? ['--quick'] : []), '--seed', String(seed)]
  // The baseline runs alongside (it is idle but for a probe every 10 s).
  const baselineRuns = Array.from({ length: TRIALS.baseline }, () => run('baseline.mjs', ['hang', String(300 + Math.round(random() * 10_000))]))

  const starts = (await run('agent.mjs', ['start', quick ? '3' : '7'])).filter((l) => l.type === 'start').map((l) => l.ms as number)
  const results: Record<string, Line[]> = {}
  const spurious: Record<string, number> = {}
  const trials = async (kind: 'crash' | 'hang' | 'leak'): Promise<void> => {
    const lines = await run('agent.mjs', ['trials', kind, String(TRIALS[kind]), String(seed)])
    results[kind] = lines.filter((l) => l.type === 'incident')
    spurious[kind] = Number(lines.find((l) => l.type === 'spurious')?.count ?? 0)
  }
  // Crash and hang one after the other (their MTTR is timing-sensitive).
  await trials('crash')
  await trials('hang')
  // Quick only: the real-supervisor comparison runs beside the leak/overhead phase
  // (neither is timing-sensitive the way the crash/hang trials above are), to stay under a minute.
  if (quick) { compare = startSupervisors(compareArgs); compare.done.catch(() => {}) }
  // Leaks take 10–30 s to predict; their outcome (restarted before the limit
  // or not) is not timing-sensitive, so they run alongside the overhead
  // measurement (which reads only the watching agent's own CPU time).
  const leakRun = trials('leak')

  // Overhead: the agent alone, compiled JS, steady state after warm-up.
  const overhead = async (env: Record<string, string> = {}): Promise<{ cpuPct: number, rssMb: number, info?: Line }> => {
    let cpuPct = Number.NaN
    let rssMb = Number.NaN
    let info: Line | undefined
    let measured: Promise<void> | undefined
    await run('agent.mjs', ['watch', '10', '50', String(WARMUP_S + TRIALS.watchS + 1)], (l, pid) => {
      if (l.type !== 'ready') return
      info = l
      measured = (async () => {
        await new Promise((r) => setTimeout(r, WARMUP_S * 1000))
        const c0 = cpuSecondsOf(pid); const w0 = performance.now()
        await new Promise((r) => setTimeout(r, TRIALS.watchS * 1000))
        const c1 = cpuSecondsOf(pid); const w1 = performance.now()
        cpuPct = ((c1 - c0) / ((w1 - w0) / 1000)) * 100
        rssMb = rssMbOf(pid)
      })()
    }, env)
    await measured
    return { cpuPct, rssMb, info }
  }
  const primary = await overhead()
  const cpuPct = primary.cpuPct
  const rssMb = primary.rssMb
  const watchInfo = primary.info
  await leakRun
  // Full run only: the same without the 10 HTTP probes, to show where the cost is.
  const noHttp = quick ? undefined : await overhead({ BENCH_MICRO_NO_HTTP: '1' })
  const baselines = (await Promise.all(baselineRuns)).flat().filter((l) => l.type === 'baseline')
  // Full run: the real-supervisor comparison alone, after everything above.
  if (compare === undefined) compare = startSupervisors(compareArgs)
  let compareLines: SupLine[]
  try { compareLines = await compare.done } catch (err) { console.log(`real-supervisor comparison failed: ${(err as Error).message}`); compareLines = compare.lines }
  healthy.stop()
  let healthyLines: SupLine[]
  try { healthyLines = await healthy.done } catch (err) { console.log(`healthy watch failed: ${(err as Error).message}`); healthyLines = healthy.lines }
  const sup = summarise(compareLines, healthyLines, quick)

  const incidentsOf = (k: string): Array<Incident | null> => results[k].map((l) => l.incident as Incident | null)
  const mttrs = (k: string): number[] => incidentsOf(k).map(mttrOf).filter((x): x is number => x !== undefined)
  const crash = mttrs('crash')
  const hang = mttrs('hang')
  const leakOk = results.leak.filter((l) => {
    const inc = l.incident as Incident | null
    return inc != null && inc.status === 'recovered' && l.oom === false && inc.steps.some((s) => s.kind === 'acted' && s.data?.action === 'restart')
  }).length
  const baseHang = baselines.map((b) => b.mttrMs as number | null).filter((x): x is number => x != null)
  const hangP50 = pct(hang, 50)
  const baseP50 = pct(baseHang, 50)

  const row = (name: string, n: number, xs: number[], note = ''): string =>
    `${name.padEnd(28)} ${String(n).padStart(3)} ${String(round(pct(xs, 50))).padStart(8)} ${String(round(pct(xs, 95))).padStart(8)} ${String(round(Math.max(...xs))).padStart(8)}  ${note}`
  console.log('\nscenario                     n    p50 ms   p95 ms   max ms')
  console.log(row('homeostat crash MTTR', crash.length, crash, `of ${TRIALS.crash}; detection p50 ${round(pct(incidentsOf('crash').map(detectionOf).filter((x): x is number => x !== undefined), 50))} ms`))
  console.log(row('homeostat hang MTTR', hang.length, hang, `of ${TRIALS.hang}; detection p50 ${round(pct(incidentsOf('hang').map(detectionOf).filter((x): x is number => x !== undefined), 50))} ms`))
  console.log(row('baseline (k8s) hang MTTR', baseHang.length, baseHang, `of ${TRIALS.baseline}; period 10 s, failureThreshold 3`))
  for (const l of results.leak) {
    const inc = l.incident as Incident | null
    const det = inc?.steps.find((s) => s.kind === 'detected')
    console.log(`leak ${String(l.leakMbPerS).padStart(2)} MB/s → limit 256 MB: ${inc?.status ?? 'no incident'}${l.oom === true ? ', OOM' : ''}; ${det?.summary ?? ''}`)
  }
  console.log(`workload start (spawn → first HTTP answer): p50 ${round(pct(starts, 50))} ms over ${starts.length} starts; spurious incidents: ${JSON.stringify(spurious)}`)
  console.log(`overhead: ${watchInfo?.components} components, ${watchInfo?.metrics} system metrics (${watchInfo?.metricSource}), 1 Hz: CPU ${round(cpuPct, 2)} % of a core, RSS ${round(rssMb, 1)} MB`)
  if (noHttp != null) console.log(`overhead without the 10 HTTP probes (process probes only): CPU ${round(noHttp.cpuPct, 2)} % of a core, RSS ${round(noHttp.rssMb, 1)} MB`)
  for (const r of sup.rows) console.log(r)
  console.log(`elapsed ${round((Date.now() - t0) / 1000, 1)} s`)

  const summary = {
    bench: 'micro',
    quick,
    seed,
    crashMttrP50Ms: round(pct(crash, 50)),
    crashMttrP95Ms: round(pct(crash, 95)),
    crashTrials: TRIALS.crash,
    workloadStartMsP50: round(pct(starts, 50)),
    /** From the restart to verified health: the workload's own start plus verification (the rest of MTTR is detection and decision). */
    crashRestartToVerifiedP50Ms: round(pct(incidentsOf('crash').map((i) => { const a = i?.steps.find((s) => s.kind === 'acted'); const v = i?.steps.find((s) => s.kind === 'verified'); return a != null && v != null ? v.atMs - a.atMs : undefined }).filter((x): x is number => x !== undefined), 50)),
    crashRecovered: crash.length,
    hangMttrP50Ms: round(hangP50),
    hangMttrP95Ms: round(pct(hang, 95)),
    hangTrials: TRIALS.hang,
    hangRecovered: hang.length,
    leakRestartedBeforeOom: round(leakOk / Math.max(1, results.leak.length), 3),
    leakTrials: results.leak.length,
    baselineHangMttrP50Ms: round(baseP50),
    baselineTrials: baseHang.length,
    mttrReductionHang: round(1 - hangP50 / baseP50, 3),
    agentCpuPct: round(cpuPct, 2),
    agentRssMb: round(rssMb, 1),
    agentCpuPctNoHttpProbes: noHttp != null ? round(noHttp.cpuPct, 2) : null,
    spuriousIncidents: Object.values(spurious).reduce((a, b) => a + b, 0),
    watchedComponents: watchInfo?.components ?? null,
    watchedSystemMetrics: watchInfo?.metrics ?? null,
    ...sup.fields,
    elapsedS: round((Date.now() - t0) / 1000, 1)
  }
  console.log(JSON.stringify(summary))
}

try {
  await main()
} catch (err) {
  // Interrupted: the signal handler is stopping everything and exits when done.
  if (interrupted() === undefined) throw err
}
