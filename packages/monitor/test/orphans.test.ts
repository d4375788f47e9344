// What an earlier supervisor run left behind (orphans.ts) and who listens on
// a port (ports.ts), with real processes: a leftover copy is stopped cleanly
// (SIGTERM, SIGCONT for a stopped one, SIGKILL for one that ignores it), a
// record whose pid was reused is never touched, and the group of a dead
// leader is found by its environment markers. The supervisor, given the
// record file of a run that was SIGKILLed, starts each component once.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  bootId, createSupervisor, leftoversOf, listeningInodes, localProbePort, parseChildFile, portOwner, processIdentity, readChildFile, stopLeftovers, writeChildFile,
  COMPONENT_ENV, RUN_ENV, type ChildFile
} from '../src/index.ts'

/** Alive and not a zombie (this container's init may reap orphans late). */
const alive = (pid: number): boolean => { try { process.kill(pid, 0) } catch { return false } return processIdentity(pid) !== undefined }
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

/** A detached node process (its own group), carrying the supervisor's markers. */
function leftover (script: string, name: string, runId: string): ChildProcess {
  const p = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore', env: { ...process.env, [COMPONENT_ENV]: name, [RUN_ENV]: runId } })
  p.unref()
  return p
}
async function started (p: ChildProcess): Promise<number> {
  await new Promise<void>((resolve) => p.once('spawn', () => resolve()))
  for (let i = 0; i < 100 && processIdentity(p.pid!) === undefined; i++) await sleep(10)
  await sleep(150) // node has installed its handlers
  return p.pid!
}
function fileFor (runId: string, recs: Array<{ name: string, pid: number }>): ChildFile {
  return { v: 1, bootId: bootId(), runId, children: recs.map((r) => ({ ...r, startTicks: processIdentity(r.pid)!.startTicks, startedAtMs: Date.now(), command: 'node' })) }
}

describe('monitor: leftovers of an earlier run, and port owners', function () {
  this.timeout(20_000)
  const pids: number[] = []
  let dir = ''
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'homeostat-orphans-')) })
  afterEach(() => {
    for (const pid of pids.splice(0)) { try { process.kill(-pid, 'SIGKILL') } catch {} try { process.kill(pid, 'SIGKILL') } catch {} }
    rmSync(dir, { recursive: true, force: true })
  })

  it('reads and writes the record file durably, and drops what is malformed', () => {
    const path = join(dir, 'children.json')
    const f: ChildFile = { v: 1, bootId: 'b', runId: 'r', children: [{ name: 'a', pid: 1234, startTicks: 99, startedAtMs: 5, command: 'x' }] }
    writeChildFile(path, f)
    assert.deepEqual(readChildFile(path), f)
    assert.equal(readChildFile(join(dir, 'missing.json')), undefined)
    writeFileSync(path, '{"v":1,"bootId":"b"')
    assert.equal(readChildFile(path), undefined, 'a torn file')
    assert.deepEqual(parseChildFile(JSON.stringify({ ...f, children: [...f.children, { name: 'bad', pid: 'x' }, { name: 'init', pid: 1, startTicks: 0, startedAtMs: 0, command: '' }] }))?.children, f.children, 'bad records (and pid 1) are dropped')
    assert.equal(parseChildFile(JSON.stringify({ ...f, v: 2 })), undefined)
  })

  it('stops a leftover cleanly: SIGTERM; SIGCONT for a stopped one; SIGKILL for one that ignores SIGTERM', async () => {
    const polite = await started(leftover('setInterval(() => {}, 1000)', 'polite', 'old'))
    const frozen = await started(leftover('process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000)', 'frozen', 'old'))
    const stubborn = await started(leftover('process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)', 'stubborn', 'old'))
    pids.push(polite, frozen, stubborn)
    process.kill(frozen, 'SIGSTOP')
    const t0 = Date.now()
    const out = await stopLeftovers(fileFor('old', [{ name: 'polite', pid: polite }, { name: 'frozen', pid: frozen }, { name: 'stubborn', pid: stubborn }]), { graceMs: 800 })
    const by = Object.fromEntries(out.map((o) => [o.name, o]))
    assert.equal(by.polite.signal, 'SIGTERM')
    assert.equal(by.frozen.signal, 'SIGTERM', 'a stopped process was continued and handled SIGTERM')
    assert.ok(by.frozen.stoppedInMs < 800, `frozen stopped in ${by.frozen.stoppedInMs} ms`)
    assert.equal(by.stubborn.signal, 'SIGKILL')
    assert.ok(Date.now() - t0 < 3000)
    for (const p of [polite, frozen, stubborn]) assert.equal(alive(p), false, `${p} gone`)
  })

  it('never touches a process whose pid matches but whose start time does not (pid reuse), nor anything after a reboot', async () => {
    // A stranger (no markers of ours) now has the recorded pid.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' })
    stranger.unref()
    const p = await started(stranger)
    pids.push(p)
    const f = fileFor('old', [{ name: 'svc', pid: p }])
    const reused = { ...f, children: f.children.map((c) => ({ ...c, startTicks: c.startTicks - 1 })) }
    assert.deepEqual(leftoversOf(reused.children[0]!, reused, bootId()), { group: false, pids: [] })
    assert.deepEqual(await stopLeftovers(reused), [])
    assert.deepEqual(await stopLeftovers({ ...f, bootId: 'another-boot' }), [])
    assert.equal(alive(p), true, 'untouched')
    assert.deepEqual(leftoversOf(f.children[0]!, f, bootId()), { group: true, pids: [p] }, 'with the recorded start time it is the recorded process')
  })

  it('finds the rest of a group whose leader is gone by its markers, and only those', async () => {
    // A leader that starts a child in its own group (inheriting the markers), then exits.
    const script = `const { spawn } = require('node:child_process'); const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setTimeout(() => process.exit(0), 300)`
    const leader = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, [COMPONENT_ENV]: 'job', [RUN_ENV]: 'old' } })
    const childPid = await new Promise<number>((resolve) => leader.stdout!.once('data', (d) => resolve(Number(String(d).trim()))))
    const leaderPid = leader.pid!
    pids.push(leaderPid, childPid)
    const rec = { name: 'job', pid: leaderPid, startTicks: processIdentity(leaderPid)!.startTicks, startedAtMs: Date.now(), command: 'node' }
    await new Promise<void>((resolve) => leader.once('exit', () => resolve()))
    assert.equal(alive(childPid), true)
    const f: ChildFile = { v: 1, bootId: bootId(), runId: 'old', children: [rec] }
    assert.deepEqual(leftoversOf(rec, { ...f, runId: 'another-run' }, bootId()).pids, [], 'markers of another run: not ours')
    assert.deepEqual(leftoversOf(rec, f, bootId()).pids, [childPid])
    const out = await stopLeftovers(f, { graceMs: 500 })
    assert.equal(out.length, 1)
    assert.equal(alive(childPid), false)
  })

  it('a supervisor given the record of a killed run stops those copies and starts each component once', async () => {
    const path = join(dir, 'children.json')
    const marker = `homeostat-test-${process.pid}-${Date.now()}`
    const spec = { name: 'svc', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', marker] }
    const first = createSupervisor({ components: [spec], autoRestart: false, childFile: path })
    await first.start()
    const oldPid = first.info('svc').pid!
    pids.push(oldPid)
    const rec = readChildFile(path)!
    assert.deepEqual(rec.children.map((c) => [c.name, c.pid]), [['svc', oldPid]], 'recorded at spawn')
    // The agent is SIGKILLed: nothing of `first` runs any more, its child lives on. (Dropped without stopping.)
    const second = createSupervisor({ components: [spec], autoRestart: false, childFile: path })
    const orphans: Array<{ pid: number }> = []
    second.on('orphan', (o) => orphans.push(o))
    await second.start()
    const newPid = second.info('svc').pid!
    pids.push(newPid)
    assert.deepEqual(orphans.map((o) => o.pid), [oldPid])
    assert.equal(alive(oldPid), false, 'the leftover copy is gone')
    assert.notEqual(newPid, oldPid)
    const copies = (await import('node:fs')).readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => { try { return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(marker) } catch { return false } })
    assert.deepEqual(copies.map(Number), [newPid], 'exactly one copy runs')
    assert.deepEqual(readChildFile(path)!.children.map((c) => c.pid), [newPid])
    assert.equal(second.stats().orphansStopped, 1)
    await second.stop({ graceMs: 500 })
    assert.deepEqual(readChildFile(path)!.children, [], 'a clean stop leaves nothing recorded')
  })

  it('names the listener of a port (the table, a real listener), and which probes are local', async () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1',
      '   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0'
    ].join('\n')
    assert.deepEqual(listeningInodes(table, 8080), ['4242'], 'LISTEN only, not the established connection')
    assert.deepEqual(listeningInodes(table, 80), ['5555'])
    assert.deepEqual(listeningInodes(table, 9999), [])
    assert.equal(localProbePort({ kind: 'http', url: 'http://127.0.0.1:8080/health' }), 8080)
    assert.equal(localProbePort({ kind: 'http', url: 'http://localhost/health' }), 80)
    assert.equal(localProbePort({ kind: 'http', url: 'https://[::1]/x' }), 443)
    assert.equal(localProbePort({ kind: 'http', url: 'http://10.0.0.5:8080/health' }), undefined, 'another host')
    assert.equal(localProbePort({ kind: 'tcp', host: '127.0.0.1', port: 5432 }), 5432)
    assert.equal(localProbePort({ kind: 'process' }), undefined)

    const free = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
    assert.equal(portOwner(free), undefined, 'nobody listens')
    const p = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${free}, '127.0.0.1', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'], detached: true })
    pids.push(p.pid!)
    await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()))
    const owner = portOwner(free, { first: [p.pid!] })
    assert.equal(owner?.pid, p.pid)
    assert.equal(owner?.pgrp, p.pid, 'its own group')
    assert.match(owner!.command, /createServer/)
    assert.equal(portOwner(free)?.pid, p.pid, 'found by the full scan too')
  })
})
