// The executor against the monitor's real supervisor and real child processes.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { getPriority } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSupervisor, type Supervisor } from '@homeostat/monitor'
import { createRecovery, RECOVERY_ERROR_CODES, pidAlive, type ActionImpl, type Verify } from '../src/index.ts'
import { makeIncident, makeLog } from './helpers.ts'

const node = process.execPath
const SLEEPER = 'setInterval(() => {}, 1000)'
const STUBBORN = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"
const plan = (action: Parameters<typeof createRecovery>[0] extends never ? never : string, target: string) => ({ action: action as never, target, reason: 'test', requiresApproval: false, alternatives: [] })

describe('recovery executor (real processes)', function () {
  this.timeout(20_000)
  let sup: Supervisor
  let dir: string
  afterEach(async () => {
    await sup?.stop({ graceMs: 200 })
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  const alive: Verify = ({ component }) => { const i = sup.info(component); return i.state === 'running' && pidAlive(i.pid) }

  /** A supervised process that exits with `code` soon after start; once it has, its spec becomes a sleeper (the fix). */
  const startCrashed = async (name: string, code: number): Promise<void> => {
    sup = createSupervisor({ autoRestart: false, components: [{ name, command: node, args: ['-e', `setTimeout(() => process.exit(${code}), 50)`] }] })
    await sup.start()
    for (let i = 0; i < 250 && sup.info(name).state !== 'exited'; i++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(sup.info(name).state, 'exited')
    sup.updateSpec(name, { args: ['-e', SLEEPER] })
  }

  /** Runs the kill action on `name` (300 ms grace); returns the result and its `acted` step. */
  const runKill = async (name: string, failureClass: string) => {
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: alive, record: log.record, defaults: { hangGraceMs: 300 } })
    const inc = makeIncident(name, failureClass)
    const r = await rec.execute(inc, plan('kill', name))
    return { r, acted: log.steps.get(inc.id)![0]! }
  }

  it('restarts a crashed process, verifies it, and records acted → verified → recovered', async () => {
    await startCrashed('c', 3)
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: alive, record: log.record })
    const inc = makeIncident('c', 'crash')
    const r = await rec.execute(inc, plan('restart', 'c'))
    assert.equal(r.status, 'recovered', JSON.stringify(r.error))
    assert.ok(r.verifiedAtMs! >= r.actedAtMs)
    assert.deepEqual(log.kinds(inc.id), ['acted', 'verified', 'recovered'])
    const hlcs = log.steps.get(inc.id)!.map((s) => s.hlc)
    assert.deepEqual([...hlcs].sort(), hlcs, 'steps are in HLC order')
    assert.equal(rec.restartHistory('c').length, 1)
    assert.equal(r.cost.disruptionSeconds > 0, true)
  })

  it('kills a hung process that ignores SIGTERM (SIGKILL after the grace) and starts it again', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'h', command: node, args: ['-e', STUBBORN] }] })
    await sup.start()
    // let it install its SIGTERM handler
    for (let i = 0; i < 100 && !sup.tail('h').stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    const oldPid = sup.info('h').pid
    const { r, acted } = await runKill('h', 'hang')
    assert.equal(r.status, 'recovered')
    assert.equal(acted.data?.sigkill, true)
    assert.notEqual(sup.info('h').pid, oldPid)
    assert.equal(pidAlive(oldPid), false)
  })

  it('kill of a process that already exited starts it again and says so (nothing was killed)', async () => {
    await startCrashed('g', 70)
    const { r, acted } = await runKill('g', 'crash')
    assert.equal(r.status, 'recovered')
    assert.equal(acted.data?.sigkill, false)
    assert.match(acted.summary, /was not running \(nothing to kill\); started it again/)
    assert.ok(pidAlive(sup.info('g').pid))
  })

  it('rolls back a failed degrade and escalates to the next action', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'd', command: node, args: ['-e', SLEEPER], env: { MODEL: 'big' }, fallback: { env: { MODEL: 'tiny' } } }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: () => false, record: log.record, defaults: { verifyTimeoutMs: { default: 300, degrade: 300 } } })
    const inc = makeIncident('d', 'memory_leak')
    assert.ok((await rec.available('d')).includes('degrade'))
    const r = await rec.execute(inc, plan('degrade', 'd'))
    assert.equal(r.status, 'failed')
    assert.equal(r.error?.code, RECOVERY_ERROR_CODES.verifyFailed)
    assert.equal(r.rolledBack, true)
    assert.deepEqual(log.kinds(inc.id), ['acted', 'rolled_back', 'escalated'])
    assert.equal(sup.info('d').spec.env.MODEL, 'big')
    assert.equal(sup.info('d').state, 'running')
  })

  it('rolls back a versioned artifact through the spec', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'm', command: node, args: ['-e', SLEEPER, '{version}'], artifact: { path: '/models/{version}.onnx', versions: ['1', '2', '3'] } }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: alive, record: log.record })
    const r = await rec.execute(makeIncident('m', 'crash'), plan('rollback', 'm'))
    assert.equal(r.status, 'recovered')
    assert.equal(sup.info('m').artifactVersion, '2')
  })

  it('times out an action that never finishes, with a stable code', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 't', command: node, args: ['-e', SLEEPER] }] })
    await sup.start()
    const log = makeLog()
    const never: ActionImpl = async (ctx) => await new Promise((_, reject) => { ctx.signal.addEventListener('abort', () => { reject(new Error('aborted')) }) })
    const rec = createRecovery({ target: sup, verify: alive, record: log.record, actions: { reload: never }, defaults: { actionTimeoutMs: { default: 200 } } })
    const inc = makeIncident('t', 'unknown')
    const r = await rec.execute(inc, plan('reload', 't'))
    assert.equal(r.error?.code, RECOVERY_ERROR_CODES.actionTimeout)
    assert.deepEqual(log.kinds(inc.id), ['acted', 'escalated'])
    assert.equal(rec.stats().timeouts, 1)
  })

  it('allows one recovery per component at a time', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'b', command: node, args: ['-e', SLEEPER] }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: alive, record: log.record })
    const first = rec.execute(makeIncident('b', 'crash', 'i1'), plan('restart', 'b'))
    assert.equal(rec.inProgress('b'), 'i1')
    await assert.rejects(rec.execute(makeIncident('b', 'crash', 'i2'), plan('restart', 'b')), { code: RECOVERY_ERROR_CODES.busy })
    assert.equal((await first).status, 'recovered')
    assert.equal(rec.inProgress('b'), undefined)
  })

  it('a shared component: restart is its one action, and runs its hook (not a process of ours)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'homeostat-shared-'))
    const marker = join(dir, 'hook-ran')
    sup = createSupervisor({ autoRestart: false, components: [{ name: 's', shared: true, command: node, args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: () => true, record: log.record })
    assert.deepEqual(await rec.available('s'), ['restart', 'quarantine', 'escalate'])
    const r = await rec.execute(makeIncident('s', 'unresponsive'), plan('restart', 's'))
    assert.equal(r.status, 'recovered')
    assert.deepEqual(await readdir(dir), ['hook-ran'])
    assert.equal(sup.info('s').restarts, 1)
  })

  it('quarantines, escalates, and then refuses to act until released', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'q', command: node, args: ['-e', SLEEPER] }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({ target: sup, verify: alive, record: log.record })
    const inc = makeIncident('q', 'crash')
    const r = await rec.execute(inc, plan('quarantine', 'q'))
    assert.equal(r.status, 'quarantined')
    assert.deepEqual(log.kinds(inc.id), ['quarantined', 'escalated'])
    assert.equal(sup.info('q').state, 'quarantined')
    assert.deepEqual(await rec.available('q'), ['escalate'])
    const again = await rec.execute(makeIncident('q', 'crash', 'i2'), plan('restart', 'q'))
    assert.equal(again.error?.code, RECOVERY_ERROR_CODES.quarantined)
    const unknown = await rec.execute(makeIncident('zz', 'crash', 'i3'), plan('restart', 'zz'))
    assert.equal(unknown.error?.code, RECOVERY_ERROR_CODES.unknownComponent)
  })

  it('throttles a CPU hog (a cgroup where writable, else a duty cycle, else refused) and undoes it on failed verification', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'hog', command: node, args: ['-e', 'for(;;){}'] }] })
    await sup.start()
    const pid = sup.info('hog').pid!
    const log = makeLog()
    let niceDuring: number | undefined
    const rec = createRecovery({
      target: sup,
      record: log.record,
      defaults: { verifyTimeoutMs: { default: 200, throttle: 200 } },
      verify: () => { niceDuring = getPriority(pid); return false }
    })
    const inc = makeIncident('hog', 'cpu_hog')
    const r = await rec.execute(inc, plan('throttle', 'hog'))
    const acted = log.steps.get(inc.id)![0]
    void niceDuring
    void getPriority
    if (acted.data?.ok === false) {
      // No cgroup usable here and the test target has no duty cycle: refused, saying why.
      assert.match(acted.summary, /throttle on hog failed/)
      assert.equal(r.rolledBack, false)
      return
    }
    assert.ok(['cgroup-v2', 'cgroup-v1', 'duty-cycle'].includes(acted.data?.method as string), String(acted.data?.method))
    assert.equal(r.rolledBack, true)
    assert.deepEqual(log.kinds(inc.id), ['acted', 'rolled_back', 'escalated'])
  })

  it('frees disk: oldest matching files first, bounded, never fresh ones', async () => {
    dir = await mkdtemp(join(tmpdir(), 'homeostat-disk-'))
    const old = Date.now() / 1000 - 3600
    for (let i = 0; i < 10; i++) {
      const p = join(dir, `chunk-${i}.log`)
      await writeFile(p, Buffer.alloc(100_000))
      await utimes(p, old + i, old + i)
    }
    await writeFile(join(dir, 'keep.db'), Buffer.alloc(100_000))
    await utimes(join(dir, 'keep.db'), old, old)
    await writeFile(join(dir, 'live.log'), 'now')
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'w', command: node, args: ['-e', SLEEPER] }] })
    await sup.start()
    const log = makeLog()
    const rec = createRecovery({
      target: sup,
      record: log.record,
      verify: alive,
      config: { w: { freeDisk: { paths: [dir], patterns: ['\\.log$'], targetMb: 0.25 } } }
    })
    const inc = makeIncident('w', 'disk_fill')
    const r = await rec.execute(inc, plan('free_disk', 'w'))
    assert.equal(r.status, 'recovered')
    const left = (await readdir(dir)).sort()
    assert.deepEqual(left, ['chunk-3.log', 'chunk-4.log', 'chunk-5.log', 'chunk-6.log', 'chunk-7.log', 'chunk-8.log', 'chunk-9.log', 'keep.db', 'live.log'])
    assert.equal(log.steps.get(inc.id)![0].data?.files, 3)
  })
})
