import { strict as assert } from 'node:assert'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSupervisor, backoffDelayMs, isCrashLoop, createLineRing, type Supervisor } from '../src/index.ts'

const worker = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))
const node = process.execPath
const waitFor = async (pred: () => boolean, timeoutMs = 5000): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('monitor: backoff and crash-loop maths', () => {
  const o = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 }
  const table: Array<[number, number]> = [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1000], [50, 1000], [-3, 100]]
  for (const [attempt, want] of table) {
    it(`attempt ${attempt} → ${want} ms`, () => { assert.equal(backoffDelayMs(attempt, o), want) })
  }
  it('jitter stays within ±jitter and the cap', () => {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const d = backoffDelayMs(1, { ...o, jitter: 0.2 }, () => r)
      assert.ok(d >= 160 && d <= 240, String(d))
      assert.ok(backoffDelayMs(9, { ...o, jitter: 0.5 }, () => r) <= 1000)
    }
  })
  const loops: Array<[number[], number, boolean]> = [
    [[], 1000, false], [[1, 2, 3], 10, false], [[1, 2, 3, 4], 10, true], [[1, 2, 3, 4], 1000, false]
  ]
  for (const [times, nowMs, want] of loops) {
    it(`crash loop ${JSON.stringify(times)} at ${nowMs} (window 100, max 3) → ${want}`, () => {
      assert.equal(isCrashLoop(times, nowMs, 100, 3), want)
    })
  }
  it('line ring keeps the last lines, bounded', () => {
    const r = createLineRing(3, 5)
    r.push('a\nb\nc')
    r.push('c\nd\n123456789\n')
    assert.deepEqual(r.lines(), ['cc', 'd', '12345…'])
    assert.equal(r.dropped, 2)
  })

  it('line ring: a flood keeps its last lines and marks the rest as skipped (only the tail is split)', () => {
    const r = createLineRing(3, 50)
    r.push('first\n')
    r.push('y\n'.repeat(10_000) + 'tail')
    assert.deepEqual(r.lines(), ['… 20 KB of output skipped …', 'y', 'y', 'tail'], 'the marker, the last lines, and the partial last one')
    const r2 = createLineRing(5, 50)
    r2.push('y\n'.repeat(10_000))
    assert.deepEqual(r2.lines(), ['… 20 KB of output skipped …', 'y', 'y', 'y', 'y'])
  })

  it('line ring: marks and endLine keep one writer\'s lines apart from the next one\'s', () => {
    const r = createLineRing(4, 50)
    r.push('one\ntwo\nhalf a li')
    r.endLine() // the writer died mid-line
    const mark = r.total
    assert.equal(mark, 3)
    r.push('fresh start\n')
    assert.deepEqual(r.lines(), ['one', 'two', 'half a li', 'fresh start'], 'not "half a lifresh start"')
    assert.deepEqual(r.since(mark), ['fresh start'])
    r.push('a\nb\nc\nd\ne') // the ring wraps past the mark
    assert.deepEqual(r.since(mark), ['a', 'b', 'c', 'd', 'e'], 'only what is still held ("fresh start" was dropped), plus the partial line')
    assert.deepEqual(r.since(r.total), ['e'])
    r.endLine()
    assert.deepEqual(r.since(r.total), [])
  })
})

describe('monitor: supervisor (real processes)', function () {
  let sup: Supervisor | undefined
  afterEach(async () => { await sup?.stop({ graceMs: 200 }); sup = undefined })

  it('spawns, reports a crash with exit code and output tail', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'c', command: node, args: [worker], env: { MODE: 'crash', CODE: '7' } }] })
    const exits: Array<{ code: number | null }> = []
    sup.on('exit', (e) => exits.push(e.exit))
    await sup.start()
    const i = sup.info('c')
    assert.equal(i.state, 'running')
    assert.ok(i.pid !== undefined && i.pid > 0)
    await waitFor(() => exits.length === 1)
    assert.equal(exits[0]!.code, 7)
    const after = sup.info('c')
    assert.equal(after.state, 'exited')
    assert.equal(after.lastExit?.expected, false)
    assert.ok(sup.tail('c').stdout.some((l) => l.includes('about to crash')))
    assert.ok(sup.tail('c').stderr.some((l) => l.includes('stderr hello')))
    // autoRestart: false → nobody restarts it
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(sup.info('c').state, 'exited')
  })

  it('an exit carries the output of its own run; the tail keeps earlier runs, a line cut short by a crash is not joined to the next run\'s', async () => {
    const script = `process.stdout.write('run ' + process.env.RUN + ' started\\n'); process.stderr.write('fatal: cut sho'); setTimeout(() => process.exit(3), 50)`
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'c', command: node, args: ['-e', script], env: { RUN: '1' } }] })
    const exits: Array<{ stdout: string[], stderr: string[] }> = []
    sup.on('exit', (e) => exits.push(e.tail))
    await sup.start()
    await waitFor(() => exits.length === 1)
    sup.updateSpec('c', { env: { RUN: '2' } })
    await sup.startComponent('c')
    await waitFor(() => exits.length === 2)
    assert.deepEqual(exits[0], { stdout: ['run 1 started'], stderr: ['fatal: cut sho'] })
    assert.deepEqual(exits[1], { stdout: ['run 2 started'], stderr: ['fatal: cut sho'] }, 'the second exit does not carry the first run\'s lines')
    assert.deepEqual(sup.tail('c'), { stdout: ['run 1 started', 'run 2 started'], stderr: ['fatal: cut sho', 'fatal: cut sho'] })
  })

  it('stopComponent escalates SIGTERM to SIGKILL after the grace period', async () => {
    sup = createSupervisor({ components: [{ name: 'stubborn', command: node, args: [worker], env: { MODE: 'ignore-term' } }] })
    await sup.start()
    await waitFor(() => sup!.tail('stubborn').stdout.includes('handler installed'))
    const t0 = Date.now()
    const i = await sup.stopComponent('stubborn', { graceMs: 300 })
    assert.ok(Date.now() - t0 >= 290)
    assert.equal(i.state, 'stopped')
    assert.equal(i.lastExit?.signal, 'SIGKILL')
    assert.equal(i.lastExit?.expected, true)
    assert.ok(sup.tail('stubborn').stdout.some((l) => l.includes('ignoring SIGTERM')))
  })

  it('auto-restarts with backoff and quarantines a crash loop', async () => {
    sup = createSupervisor({
      restartInitialMs: 20, crashLoopMaxExits: 3, crashLoopWindowMs: 10_000,
      components: [{ name: 'loop', command: node, args: [worker], env: { MODE: 'crash', AFTER_MS: '0' }, restart: 'on-failure' }]
    })
    const q: string[] = []
    sup.on('quarantined', (e) => q.push(e.reason))
    await sup.start()
    await waitFor(() => q.length === 1, 10_000)
    const i = sup.info('loop')
    assert.equal(i.state, 'quarantined')
    assert.equal(i.restarts, 3)
    await assert.rejects(sup.startComponent('loop'), { code: 'COMPONENT_QUARANTINED' })
    const released: string[] = []
    sup.on('released', (e) => released.push(e.name))
    sup.release('loop')
    assert.equal(sup.info('loop').state, 'stopped')
    assert.deepEqual(released, ['loop'], 'lifting a quarantine is announced once')
    sup.release('loop')
    assert.deepEqual(released, ['loop'], 'releasing a component that is not quarantined changes nothing')
  })

  it('restart policy on-failure does not restart a clean exit; always does', async () => {
    sup = createSupervisor({
      restartInitialMs: 10,
      components: [
        { name: 'clean', command: node, args: [worker], env: { MODE: 'crash', CODE: '0', AFTER_MS: '0' }, restart: 'on-failure' },
        { name: 'again', command: node, args: [worker], env: { MODE: 'crash', CODE: '0', AFTER_MS: '100' }, restart: 'always' }
      ]
    })
    await sup.start()
    // Wait for the clean exit itself (on a busy host it can be handled after 'again' has restarted once),
    // then long enough for a wrong restart (10 ms backoff) to have happened.
    await waitFor(() => sup!.info('clean').state === 'exited')
    await waitFor(() => sup!.info('again').restarts >= 2)
    assert.equal(sup.info('clean').restarts, 0)
    assert.equal(sup.info('clean').state, 'exited')
  })

  it('starts dependencies first, substitutes the artifact, and updateSpec switches version', async () => {
    sup = createSupervisor({
      autoRestart: false,
      components: [
        { name: 'app', command: node, args: [worker, '{artifact}'], dependsOn: ['db'], artifact: { path: '/models/{version}/m.bin', versions: ['v1', 'v2'] } },
        { name: 'db', command: node, args: [worker] }
      ]
    })
    const order: string[] = []
    sup.on('start', (e) => order.push(e.name))
    await sup.start()
    assert.deepEqual(order, ['db', 'app'])
    await waitFor(() => sup!.tail('app').stdout.length > 0)
    assert.match(sup.tail('app').stdout[0]!, /artifact=\/models\/v2\/m\.bin version=v2/)
    assert.equal(sup.info('app').artifactVersion, 'v2')
    sup.updateSpec('app', { artifact: { path: '/models/{version}/m.bin', versions: ['v1', 'v2'], version: 'v1' } })
    const r = await sup.restartComponent('app', { graceMs: 500 })
    assert.equal(r.restarts, 1)
    assert.equal(r.artifactVersion, 'v1')
    await waitFor(() => sup!.tail('app').stdout.some((l) => l.includes('version=v1')))
    assert.throws(() => sup!.updateSpec('app', { args: 'nope' as unknown as string[] }), { code: 'ERR_CONFIG' })
  })

  it('a missing command is a spawn error, not a crash of the supervisor', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'ghost', command: '/nonexistent/bin/ghost' }] })
    await sup.start()
    const i = sup.info('ghost')
    assert.equal(i.state, 'exited')
    assert.equal(i.lastExit?.reason, 'spawn_error')
    assert.match(i.lastExit?.error ?? '', /ENOENT/)
  })

  it('signal() records a reason that shows up in lastExit', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'x', command: node, args: [worker] }] })
    await sup.start()
    assert.equal(sup.signal('x', 'SIGKILL', 'oom'), true)
    await waitFor(() => sup!.info('x').state === 'exited')
    assert.equal(sup.info('x').lastExit?.reason, 'oom')
    assert.equal(sup.info('x').lastExit?.signal, 'SIGKILL')
    assert.throws(() => sup!.info('nope'), { code: 'COMPONENT_UNKNOWN' })
  })

  it('a shared component: nothing spawned, watched as running; restart runs its hook to completion; a failing or hanging hook is a typed error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-shared-'))
    const marker = join(dir, 'restarted')
    const hook = (code: string): { command: string, args: string[] } => ({ command: node, args: ['-e', code] })
    sup = createSupervisor({
      autoRestart: false,
      sharedRestartTimeoutMs: 300,
      components: [
        { name: 'ok', shared: true, ...hook(`require('node:fs').appendFileSync(${JSON.stringify(marker)}, process.env.HOMEOSTAT_COMPONENT + '\\n')`) },
        { name: 'bad', shared: true, ...hook("console.error('admin API said no'); process.exit(3)") },
        { name: 'hang', shared: true, ...hook('setInterval(() => {}, 1000)') }
      ]
    })
    const starts: Array<{ name: string, pid?: number, restarts: number }> = []
    sup.on('start', (e) => starts.push(e))
    await sup.start()
    for (const n of ['ok', 'bad', 'hang']) {
      const i = sup.info(n)
      assert.equal(i.state, 'running', n)
      assert.equal(i.pid, undefined, `${n}: no process of ours`)
    }
    assert.equal(existsSync(marker), false, 'starting to watch runs no hook')
    const i = await sup.restartComponent('ok')
    assert.equal(readFileSync(marker, 'utf8'), 'ok\n', 'the hook ran once, to completion')
    assert.equal(i.restarts, 1)
    assert.deepEqual(starts.filter((e) => e.name === 'ok').map((e) => [e.pid, e.restarts]), [[undefined, 0], [undefined, 1]], 'a restart is a start (probes begin afresh)')
    await assert.rejects(sup.restartComponent('bad'), (err: Error & { code?: string }) => err.name === 'SupervisorError' && err.code === 'SHARED_RESTART_FAILED' && /code 3/.test(err.message) && /admin API said no/.test(err.message))
    await assert.rejects(sup.restartComponent('hang'), (err: Error & { code?: string }) => err.code === 'SHARED_RESTART_FAILED' && /killed after 300 ms/.test(err.message))
    assert.equal(sup.stats().spawns, 0, 'hooks are not component processes')
    await sup.quarantine('ok')
    assert.equal(sup.info('ok').state, 'quarantined')
    await assert.rejects(sup.restartComponent('ok'), { code: 'COMPONENT_QUARANTINED' })
    assert.equal(sup.release('ok').state, 'running', 'released: watched again')
    await sup.stop()
    assert.equal(sup.info('ok').state, 'stopped')
    rmSync(dir, { recursive: true, force: true })
  })

  it('stops a stopped (SIGSTOP) process at once: SIGCONT follows SIGTERM, no grace waited out, no SIGKILL', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'c', command: node, args: ['-e', 'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000)'] }] })
    await sup.start()
    await new Promise((resolve) => setTimeout(resolve, 200))
    process.kill(sup.info('c').pid!, 'SIGSTOP')
    const t0 = Date.now()
    const i = await sup.stopComponent('c', { graceMs: 3000 })
    assert.ok(Date.now() - t0 < 1500, `stopped in ${Date.now() - t0} ms`)
    assert.equal(i.lastExit?.code, 0, 'it handled SIGTERM itself')
    assert.equal(i.lastExit?.signal, null)
  })

  it('reads a flooding writer at a bounded rate (the writer waits on its pipe) and keeps its last lines', async () => {
    const cap = 1024 * 1024
    sup = createSupervisor({ autoRestart: false, outputBytesPerSec: cap, components: [{ name: 'y', command: 'yes', args: ['flood'] }] })
    const t0 = Date.now()
    await sup.start()
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const s = sup.stats()
    const seconds = (Date.now() - t0) / 1000
    assert.ok(s.outputPauses > 0, 'reading paused')
    assert.ok(s.outputBytes <= cap * (Math.ceil(seconds) + 1), `${s.outputBytes} bytes in ${seconds.toFixed(1)} s at a cap of ${cap}/s`)
    assert.ok(sup.tail('y').stdout.slice(-3).includes('flood'), JSON.stringify(sup.tail('y').stdout.slice(-3)))
  })

  it('holds a process group to a CPU share by duty cycle (limitCpu), and never leaves it stopped', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'hog', command: 'sh', args: ['-c', 'exec yes > /dev/null'] }] })
    await sup.start()
    const pid = sup.info('hog').pid!
    assert.deepEqual(sup.limitCpu('hog', 0.3), { method: 'duty-cycle', periodMs: 100 })
    assert.equal(sup.info('hog').cpuLimit?.cores, 0.3)
    const ticks = (): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]) }
    await new Promise((resolve) => setTimeout(resolve, 500))
    const a = ticks(); const w = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const share = (ticks() - a) / 100 / ((Date.now() - w) / 1000)
    assert.ok(share < 0.45, `held at ${share.toFixed(2)} cores`)
    sup.unlimitCpu('hog')
    assert.equal(sup.info('hog').cpuLimit, undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]
    assert.notEqual(state, 'T', 'running again, not left stopped')
    sup.limitCpu('hog', 0.3)
    await sup.stopComponent('hog', { graceMs: 500 })
    assert.equal(sup.info('hog').lastExit?.signal, 'SIGTERM', 'a limited process stops on SIGTERM (the limit is dropped first)')
  })
})
