// The agent as a real process (from source, under tsx): JSON logs, a crash
// healed by the micro loop, SIGHUP reloads (a bad config is refused and the
// old one kept, state not dropped), SIGTERM stops it — workloads included —
// within 5 s.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, printTailsIfFailed, spawnAgent, tempDir, testConfigYaml, waitFor, type AgentProcess } from '../agent/test/helpers.ts'

type Proc = AgentProcess

describe('agent process: signals, reload, JSON logs', function () {
  this.timeout(90_000)
  let a: Proc | undefined
  let cleanup: (() => void) | undefined
  afterEach(function () { printTailsIfFailed(this, { 'agent stdout/stderr': a?.output }) })
  after(() => {
    if (a !== undefined && a.p.exitCode === null) a.p.kill('SIGKILL')
    cleanup?.()
  })

  it('heals, reloads on SIGHUP (refusing a bad config), and stops on SIGTERM within 5 s', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const port = await freePort()
    const config = join(t.dir, 'homeostat.yaml')
    const good = testConfigYaml({ inferencePort: port }).replace('level: silent', 'level: info')
    writeFileSync(config, good)
    a = spawnAgent(config)
    const ready = await waitFor('agent ready', () => a!.lines.find((l) => l.msg === 'agent ready'), 60_000)
    const api = ready.api as string
    assert.match(api, /^http:\/\/127\.0\.0\.1:\d+$/)
    const token = readFileSync(join(t.dir, 'data', 'api.token'), 'utf8').trim()
    assert.equal(readFileSync(join(t.dir, 'data', 'agent.pid'), 'utf8').trim(), String(a.p.pid))

    // A real crash, healed.
    await waitFor('inference up', async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) || undefined, 20_000)
    await fetch(`http://127.0.0.1:${port}/fault/crash`, { method: 'POST' })
    const recovered = await waitFor('recovered', async () => {
      const r = await fetch(`${api}/api/incidents`).then(async (x) => await x.json() as { incidents: Array<{ status: string }> })
      return r.incidents.find((i) => i.status === 'recovered')
    }, 20_000, 200)
    assert.ok(recovered)

    // SIGHUP with a broken file: refused, logged with the reason, old config kept, state kept.
    writeFileSync(config, good.replace('approvalRiskThreshold: 1', 'approvalRiskThreshold: lots'))
    a.p.kill('SIGHUP')
    const rejected = await waitFor('reload rejected', () => a!.lines.find((l) => l.msg === 'config reload rejected; keeping the running config'), 10_000)
    assert.match(String(rejected.err), /policy\.approvalRiskThreshold: expected a number between 0 and 1, got "lots"/)
    assert.equal(rejected.level, 50)
    const st = await fetch(`${api}/api/status`).then(async (x) => await x.json() as { incidents: { total: number } })
    assert.equal(st.incidents.total, 1, 'no state dropped')
    const pol = await fetch(`${api}/api/policy`).then(async (x) => await x.json() as { approvalRiskThreshold: number })
    assert.equal(pol.approvalRiskThreshold, 1)

    // SIGHUP with a good change: applied.
    writeFileSync(config, good.replace('approvalRiskThreshold: 1', 'approvalRiskThreshold: 0.9'))
    a.p.kill('SIGHUP')
    await waitFor('reloaded', () => a!.lines.find((l) => l.msg === 'config reloaded'), 10_000)
    const pol2 = await fetch(`${api}/api/policy`).then(async (x) => await x.json() as { approvalRiskThreshold: number })
    assert.equal(pol2.approvalRiskThreshold, 0.9)
    void token

    // SIGTERM: gone within 5 s, workload stopped, pid file removed.
    const wl = await fetch(`${api}/api/status`).then(async (x) => await x.json() as { components: Array<{ pid?: number }> })
    const wlPid = wl.components[0].pid as number
    const t0 = Date.now()
    const exited = new Promise<number | null>((resolve) => a!.p.once('exit', (code) => resolve(code)))
    a.p.kill('SIGTERM')
    const code = await exited
    const took = Date.now() - t0
    assert.equal(code, 0)
    assert.ok(took < 5000, `stopped in ${took} ms`)
    assert.throws(() => process.kill(wlPid, 0), 'workload process is gone')
    assert.ok(!existsSync(join(t.dir, 'data', 'agent.pid')))
    // Every stdout line was JSON with a level and a time.
    const notJson = a.lines.filter((l) => 'notJson' in l)
    assert.deepEqual(notJson, [])
    assert.ok(a.lines.every((l) => typeof l.level === 'number' && typeof l.time === 'string'))
  })
})
