// throttle: cgroup v2 → cgroup v1 → duty cycle, with cgroup roots pointed at
// temporary directories laid out like each hierarchy (or at nothing), and
// real processes held by the monitor's duty-cycle limiter.
import assert from 'node:assert/strict'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { getPriority } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecovery, RECOVERY_ERROR_CODES, type RecoveryDefaults } from '../src/index.ts'
import { throttle, cpuMaxLine, cfsQuotaUs, cgroupName, v1CpuPath } from '../src/actions/throttle.ts'
import { makeIncident, makeLog } from './helpers.ts'
import { actionContext, groupShare, groupStates, makeCpuTarget, neverStopped, sleep, type CpuTarget } from './cpu-target.ts'

const HOG = 'exec yes >/dev/null'
const plan = (target: string) => ({ action: 'throttle' as const, target, reason: 'test', requiresApproval: false, alternatives: [] })

describe('throttle: pure parts', () => {
  it('cpu.max lines and v1 quotas from cores', () => {
    const table: Array<[number, number, string, number]> = [
      [0.5, 100_000, '50000 100000', 50_000],
      [0.25, 100_000, '25000 100000', 25_000],
      [2, 100_000, '200000 100000', 200_000],
      [0.001, 100_000, '1000 100000', 1000], // the kernel's 1 ms minimum
      [0.5, 250_000, '125000 250000', 125_000]
    ]
    for (const [cores, period, line, quota] of table) {
      assert.equal(cpuMaxLine(cores, period), line)
      assert.equal(cfsQuotaUs(cores, period), quota)
    }
  })
  it('cgroup names are safe directory names', () => {
    assert.equal(cgroupName('web'), 'homeostat-web')
    assert.equal(cgroupName('a/b c'), 'homeostat-a_b_c')
    assert.equal(cgroupName('../x'), 'homeostat-.._x')
  })
  it('finds the cpu hierarchy path in /proc/PID/cgroup', () => {
    const table: Array<[string, string | undefined]> = [
      ['9:name=systemd:/\n4:memory:/m\n1:cpu:/\n0::/\n', '/'],
      ['12:cpu,cpuacct:/system.slice/homeostat.service\n0::/\n', '/system.slice/homeostat.service'],
      ['3:cpuacct,cpu:/docker/abc\n', '/docker/abc'],
      ['2:cpuacct:/x\n3:cpuset:/y\n', undefined], // cpuacct and cpuset are not cpu
      ['0::/user.slice\n', undefined], // unified only
      ['', undefined]
    ]
    for (const [text, want] of table) assert.equal(v1CpuPath(text), want, text)
  })
})

describe('throttle: methods (real processes)', function () {
  this.timeout(20_000)
  let dir: string
  let t: CpuTarget | undefined
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'homeostat-throttle-')) })
  afterEach(async () => {
    t?.close()
    t = undefined
    await rm(dir, { recursive: true, force: true })
  })
  /** Defaults that point both cgroup versions at nothing. */
  const noCgroups = (): Partial<RecoveryDefaults> => ({ cgroupV2Root: join(dir, 'no-v2'), cgroupV1CpuRoots: [join(dir, 'no-v1/cpu'), join(dir, 'no-v1/cpu,cpuacct')] })

  it('with no cgroup usable, holds the group by duty cycle, says why, and verifies (through the executor)', async () => {
    t = makeCpuTarget('hog', HOG, { cpu: 0.5 })
    const pgid = t.child.pid!
    const log = makeLog()
    const rec = createRecovery({
      target: t.target,
      record: log.record,
      defaults: noCgroups(),
      verify: async () => await groupShare(pgid, 500) <= 0.6
    })
    const inc = makeIncident('hog', 'cpu_hog')
    const r = await rec.execute(inc, plan('hog'))
    const acted = log.steps.get(inc.id)![0]!
    assert.equal(r.status, 'recovered', `${JSON.stringify(r.error)} ${acted.summary}`)
    assert.equal(acted.data?.method, 'duty-cycle')
    assert.match(acted.summary, /to 0\.5 cores by duty cycle \(SIGSTOP\/SIGCONT of the process group, 100 ms period\)/)
    assert.match(acted.summary, /cgroup v2 not usable at .*no-v2: not a cgroup v2 hierarchy \(no cgroup\.controllers\)/)
    assert.match(acted.summary, /cgroup v1 not usable: no cpu hierarchy at .*no-v1\/cpu, .*no-v1\/cpu,cpuacct/)
    assert.ok(t.limiter() !== undefined)
    const share = await groupShare(pgid, 3000)
    console.log(`      duty cycle through throttle: ${share.toFixed(3)} cores held (limit 0.5)`)
    const st = t.limiter()!.stats()
    // At least 0.3 cores, unless the host is so busy that it could not use 0.6 even while let run.
    assert.ok(share <= 0.6 && (share >= 0.3 || st.demandCores < 0.6), `share ${share} (${JSON.stringify(st)})`)
    t.target.unlimitCpu!('hog')
    assert.ok(groupStates(pgid).every((p) => p.state !== 'T'))
  })

  it('undo lifts the duty cycle and leaves the group running', async () => {
    t = makeCpuTarget('hog', HOG)
    const effect = await throttle(actionContext(t.target, 'hog', { throttle: { cpuFraction: 0.3 } }, noCgroups()))
    assert.equal(effect.data?.method, 'duty-cycle')
    assert.equal(effect.data?.cores, 0.3)
    await sleep(300)
    assert.ok(t.limiter()?.stats().signals! > 0)
    assert.match(await effect.undo!(), /lifted the duty-cycle limit on hog/)
    assert.equal(t.limiter(), undefined)
    assert.ok(await neverStopped(t.child.pid!, 300), 'runs free again')
  })

  it('with a v1 cpu hierarchy (and a v2 one without the cpu controller), writes the v1 files for the whole group', async () => {
    const v2 = join(dir, 'v2')
    const v1 = join(dir, 'v1/cpu')
    await mkdir(v2, { recursive: true })
    await writeFile(join(v2, 'cgroup.controllers'), 'memory pids\n')
    await mkdir(v1, { recursive: true })
    for (const [f, v] of [['cpu.cfs_quota_us', '-1\n'], ['cpu.cfs_period_us', '100000\n'], ['cgroup.procs', '']]) await writeFile(join(v1, f), v)
    t = makeCpuTarget('job', 'sleep 30 & sleep 30 & wait')
    const pgid = t.child.pid!
    for (let i = 0; i < 50 && groupStates(pgid).length < 3; i++) await sleep(10)
    const pids = groupStates(pgid).map((p) => p.pid)
    assert.equal(pids.length, 3)
    const effect = await throttle(actionContext(t.target, 'job', { throttle: { cpuFraction: 0.5 } }, { cgroupV2Root: v2, cgroupV1CpuRoots: [join(dir, 'v1/none'), v1] }))
    const g = join(v1, 'homeostat-job')
    assert.equal(effect.data?.method, 'cgroup-v1')
    assert.equal(effect.data?.cgroup, g)
    assert.equal(await readFile(join(g, 'cpu.cfs_quota_us'), 'utf8'), '50000')
    assert.equal(await readFile(join(g, 'cpu.cfs_period_us'), 'utf8'), '100000')
    const written = (await readFile(join(g, 'cgroup.procs'), 'utf8')).split('\n').filter((l) => l !== '').map(Number)
    assert.deepEqual(written, [pgid, ...pids.filter((p) => p !== pgid).sort((a, b) => a - b)], 'one write per pid: the leader first, then every member')
    assert.match(effect.summary, /cgroup v1 cpu\.cfs_quota_us 50000 \/ cpu\.cfs_period_us 100000 in .*homeostat-job/)
    assert.match(effect.summary, /cgroup v2 not usable at .*v2: no cpu controller \(controllers: memory pids\)/)
    assert.match(effect.summary, /3 processes/)
    assert.equal(t.limiter(), undefined, 'no duty cycle when a cgroup holds the limit')
    assert.match(await effect.undo!(), /lifted cpu\.cfs_quota_us/)
    assert.equal(await readFile(join(g, 'cpu.cfs_quota_us'), 'utf8'), '-1')
  })

  it('with a v2 hierarchy that has the cpu controller, writes cpu.max and cgroup.procs (as before)', async () => {
    const v2 = join(dir, 'v2')
    await mkdir(v2, { recursive: true })
    await writeFile(join(v2, 'cgroup.controllers'), 'cpuset cpu io memory pids\n')
    t = makeCpuTarget('web', 'exec sleep 30', { cpu: 0.25 })
    const effect = await throttle(actionContext(t.target, 'web', {}, { cgroupV2Root: v2, cgroupV1CpuRoots: [] }))
    const g = join(v2, 'homeostat-web')
    assert.equal(effect.data?.method, 'cgroup-v2')
    assert.equal(await readFile(join(g, 'cpu.max'), 'utf8'), '25000 100000')
    assert.equal(await readFile(join(g, 'cgroup.procs'), 'utf8'), `${t.child.pid}\n`)
    assert.equal(await readFile(join(v2, 'cgroup.subtree_control'), 'utf8'), '+cpu')
    assert.doesNotMatch(effect.summary, /not usable/)
    await effect.undo!()
    assert.equal(await readFile(join(g, 'cpu.max'), 'utf8'), 'max')
  })

  it('the configured cgroupRoot is the v2 directory tried first', async () => {
    const v2 = join(dir, 'delegated')
    await mkdir(v2, { recursive: true })
    await writeFile(join(v2, 'cgroup.controllers'), 'cpu\n')
    t = makeCpuTarget('web', 'exec sleep 30')
    const effect = await throttle(actionContext(t.target, 'web', { throttle: { cgroupRoot: v2 } }, noCgroups()))
    assert.equal(effect.data?.cgroup, join(v2, 'homeostat-web'))
  })

  it('throttle.nice lowers every thread in addition (restored on undo); without it priorities are untouched', async () => {
    t = makeCpuTarget('hog', HOG)
    const pid = t.child.pid!
    const before = getPriority(pid)
    const plain = await throttle(actionContext(t.target, 'hog', {}, noCgroups()))
    assert.equal(getPriority(pid), before)
    assert.doesNotMatch(plain.summary, /nice/)
    await plain.undo!()
    const niced = await throttle(actionContext(t.target, 'hog', { throttle: { nice: 15 } }, noCgroups()))
    assert.equal(getPriority(pid), 15)
    assert.match(niced.summary, /by duty cycle .*; niced 1 threads to 15 \(throttle\.nice\)/)
    assert.match(await niced.undo!(), /restored the nice value of 1 threads/)
    assert.equal(getPriority(pid), before)
  })

  it('with no cgroup and a target that cannot duty-cycle: refused with every reason, nothing changed', async () => {
    t = makeCpuTarget('hog', HOG, { dutyCycle: false })
    await assert.rejects(throttle(actionContext(t.target, 'hog', { throttle: { nice: 10 } }, noCgroups())), (err: Error & { code?: string }) => {
      assert.equal(err.code, RECOVERY_ERROR_CODES.unsupported)
      assert.match(err.message, /no way to hold a CPU limit: cgroup v2 not usable at .*; cgroup v1 not usable: .*; duty cycle not usable: the target has no limitCpu/)
      return true
    })
    assert.equal(getPriority(t.child.pid!), 0)
  })

  it('on this host\'s real cgroup v1 cpu hierarchy, when writable: holds `yes` to half a core, undo removes the group', async function () {
    const root = '/sys/fs/cgroup/cpu'
    try { await access(join(root, 'cpu.cfs_quota_us'), constants.W_OK) } catch { this.skip() }
    const probe = join(root, `homeostat-probe-${process.pid}`)
    try { await mkdir(probe); await rm(probe, { recursive: true }) } catch { this.skip() }
    const name = `test-${process.pid}`
    t = makeCpuTarget(name, HOG)
    await sleep(100)
    const free = await groupShare(t.child.pid!, 500)
    const was = v1CpuPath(await readFile(`/proc/${t.child.pid}/cgroup`, 'utf8'))
    const effect = await throttle(actionContext(t.target, name, { throttle: { cpuFraction: 0.5 } }, { cgroupV2Root: join(dir, 'no-v2'), cgroupV1CpuRoots: [root] }))
    try {
      assert.equal(effect.data?.method, 'cgroup-v1')
      await sleep(300)
      const share = await groupShare(t.child.pid!, 2000)
      console.log(`      real cgroup v1: ${share.toFixed(3)} cores held (limit 0.5; ${free.toFixed(2)} free before)`)
      assert.ok(share <= 0.6 && share >= Math.min(0.3, 0.5 * free), `share ${share}`)
    } finally {
      await effect.undo!()
    }
    await assert.rejects(access(effect.data?.cgroup as string), 'the group is removed')
    assert.equal(v1CpuPath(await readFile(`/proc/${t.child.pid}/cgroup`, 'utf8')), was, 'moved back where it was')
  })
})
