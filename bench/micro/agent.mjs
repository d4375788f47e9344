// The homeostat side of bench/micro, run as its own compiled-JS process (so
// its CPU and RSS are the agent's alone). Modes:
//   trials <crash|hang|leak> <n> <seed>   inject the fault n times, print each closed incident
//   watch <components> <metrics> <seconds>  steady-state overhead: N components, M system metrics, 1 Hz
// Prints one JSON object per line on stdout.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import { createHlc } from '@homeostat/hlc'
import { createSupervisor, createProbeRunner, createMetricsCollector, createAnomalyWatch } from '@homeostat/monitor'
import { createMicroLoop, createResourceWatch } from '@homeostat/micro'
import { createSystemMetricsReader } from './system-metrics.mjs'
import { seededRandom } from '@homeostat/interface'
import { setTimeout as sleep } from 'node:timers/promises'

const here = dirname(fileURLToPath(import.meta.url))
const FIXTURES = join(here, '..', '..', 'test', 'fixtures')
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n') }


async function waitHealthy (probes, name) {
  let streak = 0
  for (let i = 0; i < 400 && streak < 2; i++) {
    streak = (await probes.checkNow(name)).healthy ? streak + 1 : 0
    await sleep(50)
  }
}

async function freePort () {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

const seeded = seededRandom

/** Our probe timing: 4 Hz HTTP probes, 250 ms timeout, 2 failures (a hang is confirmed in ~0.5–0.8 s). */
const OUR_PROBE = { periodMs: 250, timeoutMs: 250, failureThreshold: 2, initialDelayMs: 0 }
const FIXTURE = { crash: 'micro-crasher.mjs', hang: 'micro-hang.mjs', leak: 'micro-leak.mjs' }
const LEAK_LIMIT_MB = 256
/** Leak rates, MB/s: the limit is 13–50 s away from a healthy start. */
const LEAK_RATES = [5, 10, 20]

async function trials (kind, n, seed) {
  const random = seeded(seed)
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-micro-'))
  // One component per trial: independent faults, as in a fleet, not one
  // component failing every two seconds (which restart back-off and
  // crash-loop quarantine would rightly treat as a crash loop).
  const components = []
  for (let i = 0; i < n; i++) {
    const port = await freePort()
    components.push({
      name: `svc${i}`,
      command: process.execPath,
      args: [join(FIXTURES, FIXTURE[kind])],
      env: { PORT: String(port), FAULT_FILE: join(dir, `fault${i}`), FAULT_AFTER_MS: '0', MEMORY_LIMIT_MB: String(LEAK_LIMIT_MB) },
      probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, ...OUR_PROBE }],
      limits: kind === 'leak' ? { memoryMb: LEAK_LIMIT_MB } : {}
    })
  }
  const sup = createSupervisor({ autoRestart: false, components })
  const probes = createProbeRunner({ supervisor: sup })
  // Detection: the monitor's metrics collector (1 Hz) and anomaly watch (leak prediction, limits).
  const metrics = createMetricsCollector({ supervisor: sup, intervalMs: 1000 })
  const watch = createAnomalyWatch({ metrics, supervisor: sup })
  // Verification of resource classes (RSS back down, CPU under its limit, disk freed).
  const verify = createResourceWatch({ supervisor: sup })
  const hlc = createHlc({ nodeId: 'bench-edge', now: Date.now })
  const loop = createMicroLoop({ node: 'bench-edge', hlc, supervisor: sup, probes, sources: [watch.source], verifiers: verify.verifiers, random })
  loop.start()
  await sup.start()
  probes.start()
  metrics.start()
  watch.start()
  const expected = { crash: 'crash', hang: 'hang', leak: 'memory_leak' }[kind]
  const spurious = []
  loop.on('closed', (inc) => { if (inc.failureClass !== expected) spurious.push(`${inc.component} ${inc.failureClass}: ${inc.steps.find((s) => s.kind === 'detected')?.summary}`) })
  const oomBy = new Set()
  sup.on('exit', (e) => { if (e.exit.code === 137 || e.exit.reason === 'oom' || e.tail.stderr.some((l) => l.startsWith('OOM'))) oomBy.add(e.name) })
  const runTrial = async (i) => {
    const name = `svc${i}`
    // Inject into a process that is up and healthy, at a random phase of the probe period.
    await waitHealthy(probes, name)
    await sleep(Math.round(random() * 1000))
    const leakMbPerS = LEAK_RATES[i % LEAK_RATES.length]
    const closed = new Promise((resolve) => {
      const off = loop.on('closed', (inc) => {
        if (inc.component !== name || inc.failureClass !== expected) return
        off(); resolve(inc)
      })
    })
    // Written aside and renamed, so the workload never reads a half-written file.
    writeFileSync(join(dir, `fault${i}.tmp`), kind === 'leak' ? String(leakMbPerS) : '')
    renameSync(join(dir, `fault${i}.tmp`), join(dir, `fault${i}`))
    const incident = await Promise.race([closed, sleep(90_000).then(() => undefined)])
    out({ type: 'incident', kind, trial: i, leakMbPerS: kind === 'leak' ? leakMbPerS : undefined, incident: incident ?? null, oom: oomBy.has(name), incidentsTotal: loop.incidents().length })
  }
  if (kind === 'leak') {
    // Independent slow faults: injected together, healed concurrently (one recovery per component).
    await Promise.all(Array.from({ length: n }, (_, i) => runTrial(i)))
  } else {
    // Sequential, so that one recovery's CPU does not slow another's start.
    for (let i = 0; i < n; i++) await runTrial(i)
  }
  out({ type: 'spurious', kind, count: spurious.length, incidents: spurious.slice(0, 10) })
  out({ type: 'stats', kind, loop: loop.stats(), recovery: loop.recovery.stats(), watch: watch.stats() })
  watch.stop()
  metrics.stop()
  await loop.stop(1000)
  probes.stop()
  await sup.stop({ graceMs: 300 })
  rmSync(dir, { recursive: true, force: true })
}

async function watchMode (nComponents, nMetrics, seconds) {
  const components = []
  for (let i = 0; i < nComponents; i++) {
    const port = await freePort()
    components.push({
      name: `svc${i}`,
      command: process.execPath,
      args: [join(FIXTURES, 'micro-crasher.mjs')],
      env: { PORT: String(port) },
      probes: [
        { kind: 'process', periodMs: 1000, timeoutMs: 1000, failureThreshold: 3 },
        ...(process.env.BENCH_MICRO_NO_HTTP === '1' ? [] : [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 1000, timeoutMs: 1000, failureThreshold: 3 }])
      ],
      limits: { memoryMb: 512, cpu: 0.9 }
    })
  }
  const sup = createSupervisor({ autoRestart: false, components })
  const probes = createProbeRunner({ supervisor: sup })
  const metrics = createMetricsCollector({ supervisor: sup, intervalMs: 1000 })
  const watch = createAnomalyWatch({ metrics, supervisor: sup })
  const verify = createResourceWatch({ supervisor: sup })
  const hlc = createHlc({ nodeId: 'bench-edge', now: Date.now })
  // The collector reads ~11 node-wide series here; the rest of the 50 system
  // metrics (per-core CPU times, memory fields, load, network, thermal) enter
  // through ingest — the path device telemetry takes — and go through the same
  // detectors at 1 Hz.
  const loop = createMicroLoop({ node: 'bench-edge', hlc, supervisor: sup, probes, sources: [watch.source], verifiers: verify.verifiers })
  loop.start()
  await sup.start()
  probes.start()
  metrics.start()
  watch.start()
  await sleep(2200) // two collector passes: rate series need a previous value
  const native = [...metrics.latest().keys()].filter((k) => k.startsWith('node/')).length
  const extra = await createSystemMetricsReader({ metrics: Math.max(0, nMetrics - native) })
  const feed = setInterval(() => { const t = Date.now(); metrics.ingest(extra.values().map(([metric, value]) => ({ metric: `sys.${metric}`, component: 'node', value, atMs: t }))) }, 1000)
  await sleep(1500)
  const nodeSeries = [...metrics.latest().keys()].filter((k) => k.startsWith('node/')).length
  const series = metrics.latest().size
  out({ type: 'ready', pid: process.pid, components: nComponents, metrics: nodeSeries, series, metricSource: `monitor collector (${native} node series) + ${extra.names().length} ingested /proc series, monitor anomaly watch` })
  await sleep(seconds * 1000)
  out({ type: 'stats', loop: loop.stats(), probes: probes.stats(), metrics: metrics.stats(), watch: watch.stats(), incidents: loop.incidents().map((i) => `${i.component}:${i.failureClass}:${i.status}`) })
  clearInterval(feed)
  watch.stop()
  metrics.stop()
  await loop.stop(1000)
  probes.stop()
  await sup.stop({ graceMs: 300 })
}

/** How long the crash fixture takes from spawn to its first HTTP answer (the "starts in < 200 ms" premise), measured. */
async function startTime (n) {
  const { spawn } = await import('node:child_process')
  const { request } = await import('node:http')
  const get = (port) => new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 200 }, (res) => { res.resume(); res.on('end', () => resolve(true)) })
    req.on('error', () => resolve(false)); req.on('timeout', () => { req.destroy(); resolve(false) }); req.end()
  })
  for (let i = 0; i < n; i++) {
    const port = await freePort()
    const t0 = performance.now()
    const child = spawn(process.execPath, [join(FIXTURES, 'micro-crasher.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' })
    while (!(await get(port))) await sleep(5)
    out({ type: 'start', ms: Math.round(performance.now() - t0) })
    child.kill('SIGKILL')
    await sleep(100)
  }
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'trials') await trials(args[0], Number(args[1]), Number(args[2] ?? 1))
else if (mode === 'start') await startTime(Number(args[0]))
else if (mode === 'watch') await watchMode(Number(args[0]), Number(args[1]), Number(args[2]))
else { console.error('usage: agent.mjs trials <crash|hang|leak> <n> [seed] | watch <components> <metrics> <seconds>'); process.exit(2) }
process.exit(0)
