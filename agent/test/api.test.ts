// The local API: auth (no/wrong token → 401 for anything that changes state,
// and nothing changes), reads, health/readiness, Prometheus metrics, SSE.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, getJson, startTestAgent, testConfigYaml, waitFor, type TestAgent } from './helpers.ts'
import { DETECTION_DEFAULTS } from '../src/config/schema.ts'

describe('agent API', function () {
  this.timeout(30_000)
  let t: TestAgent
  before(async () => { t = await startTestAgent(testConfigYaml({})) })
  after(async () => { await t.stop() })

  it('writes the token 0600 in a 0700 data dir', () => {
    const dataDir = join(t.dir, 'data')
    assert.equal(statSync(dataDir).mode & 0o777, 0o700)
    assert.equal(statSync(join(dataDir, 'api.token')).mode & 0o777, 0o600)
    assert.equal(readFileSync(join(dataDir, 'api.token'), 'utf8').trim(), t.token)
  })

  it('serves healthz, readyz and status', async () => {
    assert.equal((await fetch(t.url + '/healthz')).status, 200)
    assert.equal((await fetch(t.url + '/readyz')).status, 200)
    const s = await getJson(t.url + '/api/status')
    assert.equal(s.status, 200)
    assert.equal(s.body.node, 'test-node')
    assert.deepEqual(s.body.loops.map((l: { name: string }) => l.name), ['micro'])
  })

  for (const [what, headers] of [['no token', {}], ['a wrong token', { authorization: 'Bearer ' + '0'.repeat(64) }], ['a malformed header', { authorization: 'Basic abc' }]] as const) {
    it(`refuses approve/deny/reload with ${what} (401) and changes nothing`, async () => {
      const { approval } = t.agent.context.approvals.request({ incidentId: 'i-1', component: 'web', action: 'restart', reason: 'test', timeoutMs: 60_000 })
      for (const path of [`/api/approvals/${approval.id}/approve`, `/api/approvals/${approval.id}/deny`, '/api/reload']) {
        const r = await getJson(t.url + path, { method: 'POST', headers })
        assert.equal(r.status, 401, path)
        assert.equal(r.body.error.code, 'ERR_UNAUTHORIZED')
      }
      assert.equal(t.agent.context.approvals.get(approval.id)?.state, 'pending')
      t.agent.context.approvals.decide(approval.id, 'denied', 'test cleanup')
    })
  }

  it('decides an approval with the token; a second decision is a 409', async () => {
    const { approval, decision } = t.agent.context.approvals.request({ incidentId: 'i-2', component: 'web', action: 'rollback', reason: 'test', timeoutMs: 60_000 })
    const auth = { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' }
    const r = await getJson(`${t.url}/api/approvals/${approval.id}/approve`, { method: 'POST', headers: auth, body: JSON.stringify({ note: 'go', by: 'ops' }) })
    assert.equal(r.status, 200)
    assert.equal(r.body.state, 'approved')
    assert.equal(await decision, 'approved')
    const again = await getJson(`${t.url}/api/approvals/${approval.id}/deny`, { method: 'POST', headers: auth })
    assert.equal(again.status, 409)
    assert.equal(again.body.error.code, 'ERR_APPROVAL_DECIDED')
    const missing = await getJson(`${t.url}/api/approvals/apr-nope/deny`, { method: 'POST', headers: auth })
    assert.equal(missing.status, 404)
  })

  it('rejects a bad body (400) and an oversized one (413)', async () => {
    const auth = { authorization: `Bearer ${t.token}` }
    const { approval } = t.agent.context.approvals.request({ incidentId: 'i-3', component: 'web', action: 'restart', reason: 'test', timeoutMs: 60_000 })
    assert.equal((await fetch(`${t.url}/api/approvals/${approval.id}/approve`, { method: 'POST', headers: auth, body: '{not json' })).status, 400)
    assert.equal((await fetch(`${t.url}/api/approvals/${approval.id}/approve`, { method: 'POST', headers: auth, body: 'x'.repeat(64 * 1024) })).status, 413)
    assert.equal(t.agent.context.approvals.get(approval.id)?.state, 'pending')
    t.agent.context.approvals.decide(approval.id, 'denied', 'test cleanup')
  })

  it('refuses a foreign Host header (DNS rebinding guard)', async () => {
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(t.url)
      const req = request({ host: u.hostname, port: u.port, path: '/api/status', headers: { host: 'evil.example:80' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end()
    })
    assert.equal(status, 403)
  })

  it('exports Prometheus metrics for the agent and its loops', async () => {
    const r = await fetch(t.url + '/metrics')
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/)
    const text = await r.text()
    for (const m of ['homeostat_agent_info', 'homeostat_loop_up{', 'homeostat_micro_incidents_opened_total', '# HELP homeostat_micro_mttr_seconds', 'homeostat_agent_api_requests_total', 'homeostat_agent_process_resident_memory_bytes', 'homeostat_micro_components']) {
      assert.ok(text.includes(m), `metric ${m}`)
    }
    assert.match(text, /^homeostat_loop_up\{[^}]*loop="micro"[^}]*\} 1$/m)
    // /proc readings of the node arrive within a sampling period.
    await waitFor('system metrics', async () => /homeostat_system_metric\{[^}]*metric="mem\.used_pct"[^}]*\} \d/.test(await (await fetch(t.url + '/metrics')).text()) || undefined, 5000, 200)
    const st = await getJson(t.url + '/api/status')
    assert.ok(typeof st.body.system['mem.used_pct'] === 'number')
  })

  it('streams events over SSE, resuming from Last-Event-ID', async () => {
    const ac = new AbortController()
    const res = await fetch(t.url + '/api/events', { signal: ac.signal })
    assert.equal(res.headers.get('content-type'), 'text/event-stream')
    const reader = res.body!.getReader()
    const { approval } = t.agent.context.approvals.request({ incidentId: 'i-4', component: 'web', action: 'restart', reason: 'sse', timeoutMs: 60_000 })
    let buf = ''
    await waitFor('approval event', async () => {
      const { value } = await reader.read()
      buf += new TextDecoder().decode(value)
      return buf.includes(`"id":"${approval.id}"`) || undefined
    }, 5000, 0)
    assert.match(buf, /event: approval/)
    ac.abort()
    const lastId = Number(/id: (\d+)\nevent: approval/.exec(buf)?.[1])
    t.agent.context.approvals.decide(approval.id, 'denied', 'test')
    // A reconnecting client gets what it missed.
    const ac2 = new AbortController()
    const res2 = await fetch(t.url + '/api/events', { signal: ac2.signal, headers: { 'last-event-id': String(lastId) } })
    const r2 = res2.body!.getReader()
    let buf2 = ''
    await waitFor('replayed decision', async () => {
      const { value } = await r2.read()
      buf2 += new TextDecoder().decode(value)
      return buf2.includes('"state":"denied"') || undefined
    }, 5000, 0)
    ac2.abort()
  })

  it('reloads a good config and refuses a bad one, keeping the old', async () => {
    const auth = { authorization: `Bearer ${t.token}` }
    const good = readFileSync(t.configFile, 'utf8')
    writeFileSync(t.configFile, good.replace('approvalRiskThreshold: 1', 'approvalRiskThreshold: 0.5'))
    const ok = await getJson(t.url + '/api/reload', { method: 'POST', headers: auth })
    assert.equal(ok.status, 200)
    assert.equal(t.agent.context.config().config.policy.approvalRiskThreshold, 0.5)
    writeFileSync(t.configFile, good.replace('approvalRiskThreshold: 1', 'approvalRiskThreshold: 7'))
    const bad = await getJson(t.url + '/api/reload', { method: 'POST', headers: auth })
    assert.equal(bad.status, 422)
    assert.match(bad.body.error.message, /policy\.approvalRiskThreshold: expected a number between 0 and 1, got 7/)
    assert.equal(t.agent.context.config().config.policy.approvalRiskThreshold, 0.5)
    // Sampling and detection are built at start: a change is refused (restart), the old settings stay.
    writeFileSync(t.configFile, good + 'system:\n  detection:\n    scoreThreshold: 0.9\n')
    const sys = await getJson(t.url + '/api/reload', { method: 'POST', headers: auth })
    assert.equal(sys.status, 422)
    assert.equal(sys.body.error.code, 'ERR_CONFIG')
    assert.match(sys.body.error.message, /system: sampling and detection settings cannot change while running/)
    assert.equal(t.agent.context.config().config.system.detection.scoreThreshold, DETECTION_DEFAULTS.scoreThreshold)
    writeFileSync(t.configFile, good)
  })

  it('refuses a reload that makes a component relocatable (where it runs is decided at start-up)', async () => {
    const w = await startTestAgent(testConfigYaml({ inferencePort: await freePort() }))
    try {
      const good = readFileSync(w.configFile, 'utf8')
      writeFileSync(w.configFile, good.replace('    probes:', '    relocatable: true\n    probes:'))
      const r = await getJson(w.url + '/api/reload', { method: 'POST', headers: { authorization: `Bearer ${w.token}` } })
      assert.equal(r.status, 422)
      assert.match(r.body.error.message, /cannot become relocatable or stop being relocatable while running \(inference\); restart the agent/)
      assert.equal(w.agent.context.config().config.components[0]!.relocatable, false)
    } finally { await w.stop() }
  })

  it('releases a quarantined component once its cause is fixed: it runs again; wrong names, wrong states and missing tokens are refused', async function () {
    this.timeout(90_000)
    // A worker that crash-loops while the file `broken` exists (a bad model file on this node, say).
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-release-'))
    const broken = join(dir, 'broken')
    writeFileSync(broken, '')
    const script = `const fs = require('node:fs'); if (fs.existsSync(${JSON.stringify(broken)})) { console.error('model file corrupt'); process.exit(3) } setInterval(() => {}, 1000)`
    const w = await startTestAgent(testConfigYaml({
      extra: `components:
  - name: worker
    command: ${JSON.stringify(process.execPath)}
    args: ["-e", ${JSON.stringify(script)}]
`
    }).replace('components: []\n', '').replace('policy:\n', 'policy:\n  engine: playbook\n'))
    try {
      const auth = { authorization: `Bearer ${w.token}`, 'content-type': 'application/json' }
      const state = async (): Promise<string | undefined> => ((await getJson(w.url + '/api/components')).body.components as Array<{ name: string, state: string }>).find((c) => c.name === 'worker')?.state
      await waitFor('the crash loop is quarantined', async () => await state() === 'quarantined', 60_000, 200)
      assert.equal((await getJson(`${w.url}/api/components/worker/release`, { method: 'POST' })).status, 401)
      const nope = await getJson(`${w.url}/api/components/nope/release`, { method: 'POST', headers: auth })
      assert.equal(nope.status, 404)
      assert.equal(nope.body.error.code, 'ERR_NO_SUCH_COMPONENT')
      rmSync(broken) // the operator fixes the node
      const seen: unknown[] = []
      const unsubscribe = w.agent.context.events.subscribe((e) => { if (e.type === 'component') seen.push(e.data) })
      const r = await getJson(`${w.url}/api/components/worker/release`, { method: 'POST', headers: auth, body: JSON.stringify({ by: 'ops' }) })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.component, 'worker')
      assert.equal(r.body.started, true)
      assert.equal(r.body.placedByFleet, false)
      unsubscribe()
      assert.deepEqual(seen, [{ component: 'worker', action: 'released', by: 'ops', state: r.body.state, placedByFleet: false }], 'dashboards hear of the release')
      await new Promise((resolve) => setTimeout(resolve, 1500))
      assert.equal(await state(), 'running', 'it stays up now that the cause is gone')
      const again = await getJson(`${w.url}/api/components/worker/release`, { method: 'POST', headers: auth })
      assert.equal(again.status, 409)
      assert.equal(again.body.error.code, 'ERR_NOT_QUARANTINED')
    } finally { await w.stop(); rmSync(dir, { recursive: true, force: true }) }
  })

  it('start and restart a component (homeostat start|restart): an exited one runs again, a running one is restarted, and its retry back-off ends', async function () {
    this.timeout(60_000)
    // A job with restart: never that exits once: nothing brings it back but an operator.
    const w = await startTestAgent(testConfigYaml({
      extra: `components:
  - name: job
    command: ${JSON.stringify(process.execPath)}
    args: ["-e", "setTimeout(() => process.exit(2), 300)"]
    restart: never
  - name: svc
    command: ${JSON.stringify(process.execPath)}
    args: ["-e", "setInterval(() => {}, 1000)"]
`
    }).replace('components: []\n', ''))
    try {
      const auth = { authorization: `Bearer ${w.token}`, 'content-type': 'application/json' }
      const comp = async (n: string): Promise<{ state: string, pid?: number }> => ((await getJson(w.url + '/api/components')).body.components as Array<{ name: string, state: string, pid?: number }>).find((c) => c.name === n)!
      await waitFor('the job exited', async () => (await comp('job')).state === 'exited', 10_000, 100)
      assert.equal((await getJson(`${w.url}/api/components/job/start`, { method: 'POST' })).status, 401)
      const started = await getJson(`${w.url}/api/components/job/start`, { method: 'POST', headers: auth, body: JSON.stringify({ by: 'ops' }) })
      assert.equal(started.status, 200, JSON.stringify(started.body))
      assert.deepEqual({ component: started.body.component, action: started.body.action, started: started.body.started }, { component: 'job', action: 'start', started: true })
      const svcBefore = (await comp('svc')).pid
      const busy = await getJson(`${w.url}/api/components/svc/start`, { method: 'POST', headers: auth })
      assert.equal(busy.status, 409)
      assert.equal(busy.body.error.code, 'ERR_ALREADY_RUNNING')
      const restarted = await getJson(`${w.url}/api/components/svc/restart`, { method: 'POST', headers: auth, body: JSON.stringify({ by: 'ops' }) })
      assert.equal(restarted.status, 200, JSON.stringify(restarted.body))
      assert.equal(restarted.body.started, true)
      assert.notEqual((await comp('svc')).pid, svcBefore, 'a new process')
      await new Promise((resolve) => setTimeout(resolve, 800))
      const incidents = (await getJson(`${w.url}/api/incidents`)).body.incidents as Array<{ component: string }>
      assert.ok(!incidents.some((i) => i.component === 'svc'), 'an operator restart is not a failure')
      assert.equal((await getJson(`${w.url}/api/components/nope/restart`, { method: 'POST', headers: auth })).status, 404)
      // The CLI verb, against the same agent.
      const { main } = await import('../src/cli.ts')
      const out: string[] = []
      const code = await main(['restart', 'svc', '--api', w.url, '--token', w.token], { out: (x) => out.push(x), err: (x) => out.push(x) })
      assert.equal(code, 0, out.join('\n'))
      assert.match(out.join('\n'), /svc restarted: now (running|starting)/)
    } finally { await w.stop() }
  })

  it('answers unknown routes with a JSON 404', async () => {
    const r = await getJson(t.url + '/api/nope')
    assert.equal(r.status, 404)
    assert.equal(r.body.error.code, 'ERR_NOT_FOUND')
  })
})
