// The baseline for bench/micro: a supervisor with Kubernetes' default
// liveness-probe timing (periodSeconds 10, timeoutSeconds 1,
// failureThreshold 3, initialDelaySeconds 0) and restartPolicy Always.
// On the third consecutive failure the container is killed (SIGTERM, grace,
// SIGKILL) and started again at once (the first restart has no back-off).
// The grace is 1 s, twice homeostat's hang grace (Kubernetes' default
// terminationGracePeriodSeconds is 30 s, which would make the baseline
// slower still for a process that ignores SIGTERM, as this one does).
// Probing starts once the container first serves (no start-up failure is
// counted against it). Recovery time is when the restarted process first answers, seen by an
// observer polling every 50 ms — kinder to the baseline than waiting for its
// next 10 s probe.
//   node baseline.mjs hang <faultAfterMs>
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

export const K8S_DEFAULTS = { periodMs: 10_000, timeoutMs: 1_000, failureThreshold: 3, initialDelayMs: 0, graceMs: 1_000 }

const here = dirname(fileURLToPath(import.meta.url))
const fixture = join(here, '..', '..', 'test', 'fixtures', 'micro-hang.mjs')

async function freePort () {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

function get (port, timeoutMs) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: timeoutMs }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode >= 200 && res.statusCode < 400)) })
    req.on('timeout', () => { req.destroy(); resolve(false) })
    req.on('error', () => resolve(false))
    req.end()
  })
}


async function hang (faultAfterMs) {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-baseline-'))
  const port = await freePort()
  const faultFile = join(dir, 'fault')
  let onsetMs
  const start = () => {
    const child = spawn(process.execPath, [fixture], { env: { ...process.env, PORT: String(port), FAULT_FILE: faultFile, FAULT_AFTER_MS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d) => { const m = /FAULT_ONSET=(\d+)/.exec(d); if (m) onsetMs = Number(m[1]) })
    return child
  }
  let child = start()
  // Wait until the container serves (as if its startup/readiness had passed),
  // so no start-up failure is counted against it; probing starts from there.
  const readyAtMs = await (async () => { for (;;) { if (await get(port, 200)) return Date.now(); await sleep(20) } })()
  // The fault is injected at a random phase of the probe period (same fixture, same mechanism as homeostat's trials).
  setTimeout(() => { writeFileSync(faultFile, '') }, faultAfterMs)
  let failures = 0
  let detectedAtMs
  for (let k = 1; ; k++) {
    const at = readyAtMs + K8S_DEFAULTS.initialDelayMs + k * K8S_DEFAULTS.periodMs
    await sleep(Math.max(0, at - Date.now()))
    const ok = await get(port, K8S_DEFAULTS.timeoutMs)
    failures = ok ? 0 : failures + 1
    if (failures >= K8S_DEFAULTS.failureThreshold) { detectedAtMs = Date.now(); break }
    if (Date.now() - readyAtMs > 120_000) break
  }
  // Kill: SIGTERM, grace, SIGKILL; then restart at once.
  const old = child
  const exited = new Promise((r) => old.once('exit', r))
  old.kill('SIGTERM')
  const graceful = await Promise.race([exited.then(() => true), sleep(K8S_DEFAULTS.graceMs).then(() => false)])
  if (!graceful) { old.kill('SIGKILL'); await exited }
  child = start()
  const restartedAtMs = Date.now()
  let servedAtMs
  while (servedAtMs === undefined && Date.now() - restartedAtMs < 10_000) {
    if (await get(port, 200)) servedAtMs = Date.now()
    else await sleep(50)
  }
  child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  process.stdout.write(JSON.stringify({ type: 'baseline', kind: 'hang', faultAfterMs, onsetMs, detectedAtMs, restartedAtMs, servedAtMs, sigkill: !graceful, mttrMs: servedAtMs !== undefined && onsetMs !== undefined ? servedAtMs - onsetMs : null }) + '\n')
}

const [mode, arg] = process.argv.slice(2)
if (mode === 'hang') await hang(Number(arg))
else { console.error('usage: baseline.mjs hang <faultAfterMs>'); process.exit(2) }
process.exit(0)
