import { strict as assert } from 'node:assert'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { mkdtempSync, writeFileSync, utimesSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createSupervisor, createProbeRunner, httpProbe, tcpProbe, execProbe, heartbeatProbe, systemdProbe,
  processProbe, procState, parseSystemctlShow, statusAccepted, type Supervisor, type ProbeRunner
} from '../src/index.ts'

const worker = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))
const node = process.execPath
const waitFor = async (pred: () => boolean, timeoutMs = 5000): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}
const freePort = async (): Promise<number> => await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)) })
})

describe('monitor: probe mechanisms', () => {
  let server: http.Server | undefined
  afterEach(async () => { if (server !== undefined) { server.closeAllConnections(); await new Promise((r) => server!.close(r)); server = undefined } })
  const serve = async (handler: http.RequestListener): Promise<number> => {
    server = http.createServer(handler)
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    return (server.address() as net.AddressInfo).port
  }

  it('http: ok with status, body match and latency', async () => {
    const port = await serve((_q, s) => s.end('model ready'))
    const r = await httpProbe({ url: `http://127.0.0.1:${port}/health`, timeoutMs: 1000, bodyMatch: 'ready' })
    assert.equal(r.status, 'ok', r.detail)
    assert.ok(r.latencyMs >= 0)
  })
  it('http: fails on bad status, body mismatch and slowness', async () => {
    const port = await serve((q, s) => {
      if (q.url === '/500') { s.statusCode = 500; s.end('x'); return }
      if (q.url === '/slow') { setTimeout(() => s.end('ready'), 120); return }
      s.end('loading')
    })
    assert.equal((await httpProbe({ url: `http://127.0.0.1:${port}/500`, timeoutMs: 1000 })).status, 'fail')
    assert.equal((await httpProbe({ url: `http://127.0.0.1:${port}/`, timeoutMs: 1000, bodyMatch: 'ready' })).status, 'fail')
    const slow = await httpProbe({ url: `http://127.0.0.1:${port}/slow`, timeoutMs: 1000, maxLatencyMs: 50 })
    assert.equal(slow.status, 'fail')
    assert.match(slow.detail, /slow/)
    assert.equal((await httpProbe({ url: `http://127.0.0.1:${port}/500`, timeoutMs: 1000, expectStatus: [500, 599] })).status, 'ok')
  })
  it('http: a server that accepts but never answers fails by timeout', async () => {
    const port = await serve(() => { /* never answers */ })
    const t0 = Date.now()
    const r = await httpProbe({ url: `http://127.0.0.1:${port}/`, timeoutMs: 200 })
    assert.equal(r.status, 'fail')
    assert.match(r.detail, /timeout/)
    assert.ok(Date.now() - t0 < 1000)
  })
  it('http/tcp: a refused connection is a failure, not a probe error', async () => {
    const port = await freePort()
    assert.equal((await httpProbe({ url: `http://127.0.0.1:${port}/`, timeoutMs: 500 })).status, 'fail')
    const t = await tcpProbe({ host: '127.0.0.1', port, timeoutMs: 500 })
    assert.equal(t.status, 'fail')
    assert.match(t.detail, /ECONNREFUSED/)
  })
  it('tcp: connects to a listener', async () => {
    const port = await serve((_q, s) => s.end())
    assert.equal((await tcpProbe({ host: '127.0.0.1', port, timeoutMs: 500 })).status, 'ok')
  })
  it('exec: exit code decides; a missing command is a probe error; a slow one times out', async () => {
    assert.equal((await execProbe({ command: node, args: ['-e', 'process.exit(0)'], timeoutMs: 2000, expectExitCode: 0 })).status, 'ok')
    const bad = await execProbe({ command: node, args: ['-e', 'console.error("disk gone"); process.exit(2)'], timeoutMs: 2000, expectExitCode: 0 })
    assert.equal(bad.status, 'fail')
    assert.match(bad.detail, /exit 2.*disk gone/)
    const missing = await execProbe({ command: '/no/such/check', args: [], timeoutMs: 2000, expectExitCode: 0 })
    assert.equal(missing.status, 'error')
    assert.match(missing.detail, /ENOENT/)
    assert.equal((await execProbe({ command: node, args: ['-e', 'setTimeout(()=>{}, 5000)'], timeoutMs: 150, expectExitCode: 0 })).status, 'fail')
  })
  it('heartbeat: fresh, stale and missing files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'))
    try {
      const f = join(dir, 'hb')
      assert.equal((await heartbeatProbe({ path: f, maxAgeMs: 1000 })).status, 'fail')
      writeFileSync(f, 'x')
      assert.equal((await heartbeatProbe({ path: f, maxAgeMs: 1000 })).status, 'ok')
      const old = (Date.now() - 5000) / 1000
      utimesSync(f, old, old)
      const r = await heartbeatProbe({ path: f, maxAgeMs: 1000 })
      assert.equal(r.status, 'fail')
      assert.match(r.detail, /old/)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
  it('systemd: unsupported where systemd is not init; parses systemctl output', async () => {
    const r = await systemdProbe({ unit: 'x.service', expectState: 'active', timeoutMs: 500 }, () => false)
    assert.equal(r.status, 'unsupported')
    assert.deepEqual(parseSystemctlShow('LoadState=loaded\nActiveState=failed\nSubState=failed\n'), { LoadState: 'loaded', ActiveState: 'failed', SubState: 'failed' })
  })
  it('process: alive, missing, and the state letter of /proc/PID/stat', () => {
    assert.equal(processProbe(process.pid).status, 'ok')
    assert.equal(processProbe(undefined).status, 'fail')
    assert.equal(procState('123 (a) b) c) T 1 2'), 'T')
    assert.equal(statusAccepted(204, undefined), true)
    assert.equal(statusAccepted(404, undefined), false)
  })
})

describe('monitor: probe runner with real workloads', () => {
  let sup: Supervisor | undefined
  let runner: ProbeRunner | undefined
  afterEach(async () => { runner?.stop(); runner = undefined; await sup?.stop({ graceMs: 200 }); sup = undefined })

  it('a hung HTTP server (accepts, never answers) turns unhealthy after failureThreshold timeouts', async () => {
    const port = await freePort()
    sup = createSupervisor({
      autoRestart: false,
      components: [{ name: 'api', command: node, args: [worker], env: { MODE: 'hang', PORT: String(port) }, probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 100, timeoutMs: 150, failureThreshold: 3 }] }]
    })
    await sup.start()
    await waitFor(() => sup!.tail('api').stdout.some((l) => l.startsWith('listening')))
    runner = createProbeRunner({ supervisor: sup })
    const bad: Array<{ failures: number, first?: number }> = []
    runner.on('unhealthy', (e) => bad.push({ failures: e.status.consecutiveFailures, first: e.status.firstFailureAtMs }))
    const t0 = Date.now()
    runner.start()
    await waitFor(() => bad.length === 1, 5000)
    const took = Date.now() - t0
    assert.equal(bad[0]!.failures, 3)
    assert.ok(took < 5000, `took ${took} ms`)
    assert.ok(bad[0]!.first !== undefined && bad[0]!.first <= Date.now())
    const h = runner.health('api')
    assert.equal(h.healthy, false)
    assert.equal(h.status, 'unhealthy')
    assert.match(h.reasons.join(), /timeout/)
    const v = await runner.checkNow('api')
    assert.equal(v.healthy, false)
  })

  it('checkNow verifies a healthy server and reports a stopped process as down', async () => {
    const port = await freePort()
    sup = createSupervisor({
      autoRestart: false,
      components: [{ name: 'web', command: node, args: [worker], env: { MODE: 'http', PORT: String(port) }, probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/`, bodyMatch: 'ready', periodMs: 1000, timeoutMs: 500 }, { kind: 'process' }] }]
    })
    await sup.start()
    runner = createProbeRunner({ supervisor: sup })
    await waitFor(() => sup!.tail('web').stdout.some((l) => l.startsWith('listening')))
    const ok = await runner.checkNow('web')
    assert.equal(ok.healthy, true, ok.reasons.join())
    sup.signal('web', 'SIGSTOP')
    await new Promise((r) => setTimeout(r, 50))
    const stopped = await runner.checkNow('web')
    assert.equal(stopped.healthy, false)
    assert.equal(stopped.status, 'down')
    assert.match(stopped.reasons.join(), /stopped/)
    sup.signal('web', 'SIGCONT')
    await sup.stopComponent('web', { graceMs: 200 })
    const down = await runner.checkNow('web')
    assert.equal(down.status, 'down')
  })

  it('a probe whose command is missing is reported as probe_error and given up, not retried forever', async () => {
    sup = createSupervisor({
      autoRestart: false,
      components: [{ name: 'job', command: node, args: [worker], probes: [{ kind: 'exec', command: '/no/such/healthcheck', periodMs: 20, timeoutMs: 500 }, { kind: 'systemd', unit: 'job.service', periodMs: 20 }] }]
    })
    await sup.start()
    runner = createProbeRunner({ supervisor: sup, probeErrorBackoffMs: 20, maxProbeErrors: 3, systemdAvailable: () => false })
    const errors: Array<{ probe: string, gaveUp: boolean, unsupported: boolean }> = []
    runner.on('probe_error', (e) => errors.push(e))
    let unhealthy = 0
    runner.on('unhealthy', () => { unhealthy++ })
    runner.start()
    await waitFor(() => errors.filter((e) => e.gaveUp).length === 2, 5000)
    await new Promise((r) => setTimeout(r, 400))
    const execErrors = errors.filter((e) => e.probe === 'exec#0')
    assert.equal(execErrors.length, 3, 'exactly maxProbeErrors attempts, then silence')
    assert.equal(execErrors[2]!.gaveUp, true)
    assert.equal(errors.filter((e) => e.probe === 'systemd#1').length, 1)
    assert.equal(errors.find((e) => e.probe === 'systemd#1')!.unsupported, true)
    assert.equal(unhealthy, 0, 'a broken probe does not make the workload unhealthy')
    const h = runner.health('job')
    assert.equal(h.healthy, true)
    assert.equal(h.probeErrors.length, 2)
    assert.equal(h.probes[0]!.state, 'probe_error')
    assert.equal(h.probes[1]!.state, 'unsupported')
    assert.equal(runner.stats().gaveUp, 2)
  })

  it('failureThreshold and successThreshold: unhealthy after N failures, healthy again only after M successes', async () => {
    let failing = true
    let hits = 0
    const server = http.createServer((_q, res) => { hits++; res.statusCode = failing ? 503 : 200; res.end('x') })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as net.AddressInfo).port
    try {
      sup = createSupervisor({ autoRestart: false, components: [{ name: 'flaky', command: node, args: [worker], probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/`, periodMs: 30, timeoutMs: 500, failureThreshold: 2, successThreshold: 3 }] }] })
      await sup.start()
      runner = createProbeRunner({ supervisor: sup })
      const transitions: Array<[string, number]> = []
      runner.on('unhealthy', (e) => transitions.push(['unhealthy', e.status.consecutiveFailures]))
      runner.on('healthy', (e) => transitions.push(['healthy', e.status.consecutiveSuccesses]))
      runner.start()
      await waitFor(() => transitions.length === 1)
      assert.deepEqual(transitions[0], ['unhealthy', 2])
      failing = false
      const at = hits
      await waitFor(() => transitions.length === 2)
      assert.deepEqual(transitions[1], ['healthy', 3])
      assert.ok(hits - at >= 3)
      assert.equal(runner.health('flaky').healthy, true)
    } finally { server.closeAllConnections(); server.close() }
  })
})
