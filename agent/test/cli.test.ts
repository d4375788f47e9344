// Every CLI verb against a running agent (in-process API, real HTTP), with
// exit codes: 0 ok, 2 usage, 3 unreachable, 4 config error, 5 not found.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main, EXIT } from '../src/cli.ts'
import type { Incident } from '@homeostat/interface'
import { freePort, startTestAgent, tempDir, testConfigYaml, waitFor, type TestAgent } from './helpers.ts'

async function run (args: string[]): Promise<{ code: number, out: string, err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('homeostat CLI', function () {
  this.timeout(60_000)
  let t: TestAgent
  let port: number
  const c = () => ['--api', t.url, '--token', t.token]

  before(async () => {
    port = await freePort()
    t = await startTestAgent(testConfigYaml({ inferencePort: port }))
    await waitFor('inference healthy in the agent', () => t.agent.providers.components().find((x) => x.name === 'inference' && x.health === 'ok'), 15_000)
  })
  after(async () => { await t.stop() })

  it('--help on everything, and a helpful unknown-command error', async () => {
    const top = await run(['--help'])
    assert.equal(top.code, EXIT.ok)
    for (const v of ['init', 'agent', 'stop', 'dashboard', 'status', 'peers', 'incidents', 'interventions', 'approvals', 'approve', 'deny', 'release', 'policy', 'report', 'demo']) {
      assert.match(top.out, new RegExp(`^  ${v} `, 'm'))
      const h = await run([v, '--help'])
      assert.equal(h.code, EXIT.ok, v)
      assert.match(h.out, new RegExp(`Usage: homeostat ${v}`), v)
    }
    const bad = await run(['frobnicate'])
    assert.equal(bad.code, EXIT.usage)
    assert.match(bad.err, /unknown command "frobnicate"/)
    const flag = await run(['status', '--bogus'])
    assert.equal(flag.code, EXIT.usage)
    assert.match(flag.err, /Unknown option '--bogus'/)
  })

  it('status (table and --json), read via --config too', async () => {
    const s = await run(['status', ...c()])
    assert.equal(s.code, 0, s.err)
    assert.match(s.out, /node test-node \(edge\)/)
    assert.match(s.out, /inference\s+running\s+ok/)
    const j = JSON.parse((await run(['status', '--json', ...c()])).out)
    assert.equal(j.node, 'test-node')
    // --config: the CLI finds api.listen (port 0 here, so only the token is read) — use --api with --config for the token.
    const viaConfig = await run(['status', '--config', t.configFile, '--api', t.url])
    assert.equal(viaConfig.code, 0, viaConfig.err)
  })

  it('peers', async () => {
    const p = await run(['peers', ...c()])
    assert.equal(p.code, 0)
    assert.match(p.out, /test-node\s+test-node\s+edge\s+self/)
    assert.equal(JSON.parse((await run(['peers', '--json', ...c()])).out)[0].state, 'self')
  })

  it('incidents (after a real crash), --steps, --id, --follow', async () => {
    const ac = new AbortController()
    const followed: string[] = []
    // --follow in the background: it must print the new incident's steps live.
    const follow = main(['incidents', '--follow', ...c()], { out: (s) => followed.push(s), err: () => {} })
    await new Promise((r) => setTimeout(r, 300))
    await fetch(`http://127.0.0.1:${port}/fault/crash`, { method: 'POST' })
    const inc = await waitFor('recovered incident', () => t.agent.context.incidents.list().find((i: Incident) => i.status === 'recovered'), 20_000)
    const l = await run(['incidents', ...c()])
    assert.equal(l.code, 0)
    assert.match(l.out, new RegExp(`${inc.id}\\s+test-node\\s+inference\\s+crash\\s+recovered`))
    const steps = await run(['incidents', '--steps', ...c()])
    assert.match(steps.out, /detected\s+crash detected on inference/)
    const one = await run(['incidents', '--id', inc.id, '--json', ...c()])
    assert.equal(JSON.parse(one.out).id, inc.id)
    await waitFor('follow output', () => followed.some((s) => s.includes('recovered')) || undefined, 5000)
    process.emit('SIGINT')
    assert.equal(await follow, 0)
    ac.abort()
    const missing = await run(['incidents', '--id', 'nope', ...c()])
    assert.equal(missing.code, EXIT.notFound)
    const badLimit = await run(['incidents', '--limit', 'many', ...c()])
    assert.equal(badLimit.code, EXIT.usage)
  })

  it('interventions', async () => {
    const r = await run(['interventions', ...c()])
    assert.equal(r.code, 0)
    assert.match(r.out, /no interventions in flight/)
    assert.deepEqual(JSON.parse((await run(['interventions', '--json', ...c()])).out), [])
  })

  it('approvals, approve and deny', async () => {
    const a = t.agent.context.approvals.request({ incidentId: 'i-9', component: 'inference', action: 'rollback', reason: 'model v7 fails verification', risk: 0.7, timeoutMs: 60_000 })
    const b = t.agent.context.approvals.request({ incidentId: 'i-10', component: 'inference', action: 'degrade', reason: 'x', timeoutMs: 60_000 })
    const list = await run(['approvals', ...c()])
    assert.match(list.out, new RegExp(`${a.approval.id}\\s+pending\\s+inference\\s+rollback`))
    const ok = await run(['approve', a.approval.id, '--note', 'looks right', ...c()])
    assert.equal(ok.code, 0, ok.err)
    assert.match(ok.out, /approved: rollback on inference/)
    assert.equal(await a.decision, 'approved')
    const no = await run(['deny', b.approval.id, ...c()])
    assert.equal(no.code, 0)
    assert.equal(await b.decision, 'denied')
    assert.equal((await run(['approve', a.approval.id, ...c()])).code, EXIT.notFound)
    assert.equal((await run(['approve', ...c()])).code, EXIT.usage)
    // Without a token nothing changes.
    const d = t.agent.context.approvals.request({ incidentId: 'i-11', component: 'inference', action: 'restart', reason: 'x', timeoutMs: 60_000 })
    const noTok = await run(['approve', d.approval.id, '--api', t.url, '--token', 'f'.repeat(64)])
    assert.equal(noTok.code, EXIT.failure)
    assert.match(noTok.err, /ERR_UNAUTHORIZED/)
    assert.equal(t.agent.context.approvals.get(d.approval.id)?.state, 'pending')
    t.agent.context.approvals.decide(d.approval.id, 'denied', 'test')
  })

  it('release refuses a component that is not quarantined, an unknown one, and a missing name', async () => {
    const running = await run(['release', 'inference', ...c()])
    assert.equal(running.code, EXIT.notFound)
    assert.match(running.err, /inference" is running, not quarantined.*\(ERR_NOT_QUARANTINED\)/)
    const unknown = await run(['release', 'nope', ...c()])
    assert.equal(unknown.code, EXIT.notFound)
    assert.match(unknown.err, /ERR_NO_SUCH_COMPONENT/)
    assert.equal((await run(['release', ...c()])).code, EXIT.usage)
    assert.equal((await run(['release', 'a', 'b', ...c()])).code, EXIT.usage)
  })

  it('policy and report', async () => {
    const p = await run(['policy', ...c()])
    assert.equal(p.code, 0)
    assert.match(p.out, /policy: constrained/)
    assert.match(p.out, /ledger: spent [0-9.]+ of 1.000/)
    assert.match(p.out, /crash\s+restart\s+100%\s+1/)
    const r = await run(['report', ...c()])
    assert.equal(r.code, 0)
    assert.match(r.out, /incidents 1: 1 recovered, 0 escalated, 0 open; heal rate 100%/)
    assert.match(r.out, /MTTR p50 \d/)
    const j = JSON.parse((await run(['report', '--json', ...c()])).out)
    assert.equal(j.recovered, 1)
    assert.ok(j.mttrP50Ms > 0 && j.mttrP50Ms < 10_000)
    // One first crash: the modelled Kubernetes-timed baseline sees an exit at once too, so the ROR may be ≤ 0.
    assert.ok(Number.isFinite(j.ror), String(j.ror))
    assert.equal(j.mttrCompared, 1)
    assert.ok(j.mttrBaselineMeanMs > 0 && j.mttrBaselineMeanMs <= j.mttrComparedMeanMs, JSON.stringify(j))
    assert.match(r.out, /ROR -?[0-9.]+: MTTR .* for a Kubernetes-timed supervisor \(modelled, 1 incidents\)/)
  })

  it('init writes safe files and refuses to overwrite', async () => {
    const d = tempDir()
    try {
      const r = await run(['init', '--dir', d.dir, '--name', 'pi-1'])
      assert.equal(r.code, 0, r.err)
      assert.equal(statSync(join(d.dir, 'swarm.key')).mode & 0o777, 0o600)
      assert.equal(statSync(join(d.dir, 'homeostat.yaml')).mode & 0o777, 0o600)
      assert.equal(statSync(join(d.dir, 'homeostat-data')).mode & 0o777, 0o700)
      assert.match(readFileSync(join(d.dir, 'swarm.key'), 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
      assert.ok(existsSync(join(d.dir, 'homeostat-data', 'api.token')))
      const again = await run(['init', '--dir', d.dir])
      assert.equal(again.code, EXIT.usage)
      assert.match(again.err, /already exists; pass --force/)
      const join2 = tempDir()
      try {
        assert.equal((await run(['init', '--dir', join2.dir, '--swarm-key', join(d.dir, 'swarm.key')])).code, 0)
        assert.equal(readFileSync(join(join2.dir, 'swarm.key'), 'utf8'), readFileSync(join(d.dir, 'swarm.key'), 'utf8'))
      } finally { join2.cleanup() }
    } finally { d.cleanup() }
  })

  it('exit 3 when the agent is unreachable, 4 on a bad config', async () => {
    const down = await run(['status', '--api', 'http://127.0.0.1:1'])
    assert.equal(down.code, EXIT.unreachable)
    assert.match(down.err, /cannot reach the agent at http:\/\/127\.0\.0\.1:1/)
    const d = tempDir()
    try {
      const f = join(d.dir, 'bad.yaml')
      writeFileSync(f, 'api:\n  listen: nowhere\n')
      const bad = await run(['status', '--config', f])
      assert.equal(bad.code, EXIT.config)
      assert.match(bad.err, /bad\.yaml:2:11: api\.listen: expected "host:port"/)
      const ag = await run(['agent', '--config', f])
      assert.equal(ag.code, EXIT.config)
    } finally { d.cleanup() }
  })
})
