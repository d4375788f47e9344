// Declared limits, held without making anything worse (real processes, the
// monitor's collector and watch, the micro loop's defaults):
//  - a disk filler under `limits.disk`: usage ends under the limit, no action
//    ever restarts the writer (a restarted filler writes again), free_disk
//    says why it freed nothing, and usage does not rise after the loop is done;
//  - `yes` under `limits.cpu: 0.5` with no cgroup usable: held by duty cycle,
//    its measured share ≤ 0.6, never quarantined, never restarted.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, dirSizeBytes, type ComponentInput, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import type { ComponentRecoveryConfig, RecoveryDefaults } from '@homeostat/recovery'
import type { Incident } from '@homeostat/interface'
import { createMicroLoop, createResourceWatch, type MicroLoop, type ResourceWatch } from '@homeostat/micro'
import { tempDir, waitFor } from './micro-helpers.ts'

const mbOf = (dir: string): number => dirSizeBytes(dir, 100_000).bytes / 1048576
const cpuSeconds = (pid: number): number => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const DD = spawnSync('dd', ['--version']).status === 0

describe('micro loop (real processes): declared limits held without harm', function () {
  this.timeout(90_000)
  let sup: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let loop: MicroLoop | undefined
  let watch: ResourceWatch | undefined
  let cleanup: (() => Promise<void>) | undefined
  let sampler: NodeJS.Timeout | undefined
  afterEach(async () => {
    clearInterval(sampler)
    await loop?.stop(2000)
    probes?.stop()
    await sup?.stop({ graceMs: 200 })
    await cleanup?.()
    sup = undefined; probes = undefined; loop = undefined; watch = undefined; cleanup = undefined
  })

  function start (component: ComponentInput, o: { recoveryConfig?: Record<string, ComponentRecoveryConfig>, recoveryDefaults?: Partial<RecoveryDefaults> } = {}): void {
    sup = createSupervisor({ autoRestart: false, components: [component] })
    probes = createProbeRunner({ supervisor: sup })
    // The daemon's watch at its default thresholds, sampling at 4 Hz so the test runs in seconds.
    watch = createResourceWatch({ supervisor: sup, intervalMs: 250, collector: { dirScanIntervalMs: 250 } })
    loop = createMicroLoop({
      node: 'edge-1',
      hlc: createHlc({ nodeId: 'edge-1', now: Date.now }),
      supervisor: sup,
      probes,
      sources: [watch.source],
      verifiers: watch.verifiers,
      measure: watch.measure,
      diskUsageMb: watch.diskUsageMb,
      recoveryConfig: o.recoveryConfig,
      recoveryDefaults: o.recoveryDefaults
    })
    loop.start()
  }

  const actionsOf = (i: Incident): unknown[] => i.steps.filter((s) => s.kind === 'acted' || s.kind === 'quarantined').map((s) => s.data?.action)

  it('a writer filling its directory past limits.disk: contained and freed, never restarted, usage ends under the limit', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    const dir = t.dir
    const limitMb = 200
    // A log spammer: a 10 MB chunk every 0.5 s (20 MB/s), restart: always.
    start({
      name: 'filler',
      command: process.execPath,
      args: ['-e', `const fs = require('node:fs'); let i = 0; const b = Buffer.alloc(10 * 1048576); setInterval(() => fs.writeFileSync(${JSON.stringify(dir)} + '/chunk-' + (i++) + '.bin', b), 500)`],
      restart: 'always',
      limits: { disk: { path: dir, limitMb } }
    }, { recoveryConfig: { filler: { freeDisk: { paths: [dir], patterns: ['^chunk-'] } } } })
    const usage: Array<{ atMs: number, mb: number }> = []
    sampler = setInterval(() => usage.push({ atMs: Date.now(), mb: mbOf(dir) }), 100)
    await sup!.start()
    const pid = sup!.info('filler').pid
    const inc = await waitFor('a disk_fill incident', () => loop!.incidents().find((i) => i.failureClass === 'disk_fill'), 30_000)
    const done = await loop!.settled(inc.id)
    const summaries = done.steps.map((s) => `${s.kind}: ${s.summary}`)
    const acts = actionsOf(done)
    assert.ok(!acts.includes('restart') && !acts.includes('kill'), `a restart is no disk remedy: ${acts.join(', ')}`)
    assert.deepEqual(acts, ['free_disk', 'quarantine'], summaries.join(' | '))
    // free_disk freed nothing (every chunk was written in the last 10 s) and said so.
    assert.match(done.steps.find((s) => s.kind === 'acted')!.summary, /freed nothing: all \d+ matching file\(s\) under .* were modified in the last 10 s \(keepRecentMs\), so they are still being written/)
    assert.match(done.steps.filter((s) => s.kind === 'quarantined')[0]!.summary, /stopped filler \(it (wrote .* past|was filling .* towards) its 200 MB limit .*\), then freed [\d.]+ MB in \d+ of its files/)
    assert.equal(sup!.info('filler').restarts, 0, 'never started again by a remedy')
    assert.notEqual(pid, undefined)
    const after = mbOf(dir)
    assert.ok(after < limitMb, `ends under the limit: ${after.toFixed(0)} MB`)
    const peak = Math.max(...usage.map((u) => u.mb))
    assert.ok(peak < limitMb, `held under the limit throughout (peak ${peak.toFixed(0)} MB)`)
    // Nothing the loop did made it rise, and nothing rises once it is done (before the hold's first retry).
    const closedAt = done.steps[done.steps.length - 1]!.atMs
    await new Promise((resolve) => setTimeout(resolve, 4000))
    const later = usage.filter((u) => u.atMs > closedAt + 200)
    assert.ok(later.length > 10)
    assert.ok(Math.max(...later.map((u) => u.mb)) <= after + 0.01, 'no rise after the action')
    assert.equal(loop!.holds()[0]?.component, 'filler', 'on hold: retried later on a back-off')
  })

  it('a one-shot dd that wrote past limits.disk (restart: on-failure): its file is freed, and it is not run again', async function () {
    if (!DD) this.skip() // coreutils' dd is on every Debian image; skipped only where missing
    const t = await tempDir()
    cleanup = t.cleanup
    const dir = t.dir
    start({
      name: 'dd',
      command: 'dd',
      args: ['if=/dev/zero', `of=${dir}/fill.bin`, 'bs=1M', 'count=250', 'status=none'],
      restart: 'on-failure',
      limits: { disk: { path: dir, limitMb: 200 } }
    }, { recoveryConfig: { dd: { freeDisk: { paths: [dir] } } } })
    await sup!.start()
    const inc = await waitFor('a disk_fill incident', () => loop!.incidents().find((i) => i.failureClass === 'disk_fill'), 30_000)
    const before = mbOf(dir)
    const done = await loop!.settled(inc.id)
    const acts = actionsOf(done)
    assert.ok(!acts.includes('restart') && !acts.includes('kill'), acts.join(', '))
    const after = mbOf(dir)
    assert.ok(after < 200 && after <= before, `${before.toFixed(0)} → ${after.toFixed(0)} MB`)
    // The job had finished (exit 0): its restart policy does not run it again, and neither does the hold's retry.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.equal(sup!.info('dd').restarts, 0)
    assert.ok(mbOf(dir) <= after + 0.01)
    // Either it finished before the action (a completed job), or — on a slow host, caught mid-write —
    // the containment stopped it (an expected exit); never a failure to restart.
    const lastExit = sup!.info('dd').lastExit
    assert.ok(loop!.stats().completedExits === 1 || lastExit?.expected === true, `completed ${loop!.stats().completedExits}, last exit ${JSON.stringify(lastExit)}`)
  })

  it('yes under limits.cpu 0.5 with no cgroup usable: held by duty cycle (share ≤ 0.6), not quarantined, not restarted', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    // `yes > /dev/null`: a busy loop (to a pipe, the agent's read cap would hold it first).
    start({ name: 'hog', command: 'sh', args: ['-c', 'exec yes > /dev/null'], restart: 'always', limits: { cpu: 0.5 } }, {
      // cgroup v2 and v1 unavailable, as on a host without a delegated, writable cgroup.
      recoveryDefaults: { cgroupV2Root: `${t.dir}/no-cgroup-v2`, cgroupV1CpuRoots: [`${t.dir}/no-cgroup-v1`] } as Partial<RecoveryDefaults>
    })
    await sup!.start()
    const pid = sup!.info('hog').pid!
    const inc = await waitFor('a cpu_limit incident', () => loop!.incidents().find((i) => i.failureClass === 'cpu_limit'), 15_000)
    const done = await loop!.settled(inc.id)
    const summaries = done.steps.map((s) => `${s.kind}: ${s.summary}`)
    assert.equal(done.status, 'recovered', summaries.join(' | '))
    assert.deepEqual(actionsOf(done), ['throttle'])
    assert.equal(done.steps.find((s) => s.kind === 'acted')!.data?.method, 'duty-cycle')
    // Measured from /proc over 4 s once held.
    const c0 = cpuSeconds(pid); const w0 = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 4000))
    const share = (cpuSeconds(pid) - c0) / ((Date.now() - w0) / 1000)
    console.log(`      held at ${share.toFixed(2)} cores (limit 0.5)`)
    assert.ok(share <= 0.6, `share ${share.toFixed(2)}`)
    assert.equal(sup!.info('hog').pid, pid, 'the same process: not killed, not restarted')
    assert.notEqual(sup!.info('hog').state, 'quarantined')
    assert.equal(loop!.stats().quarantined, 0)
    assert.deepEqual(loop!.incidents().map((i) => i.status), ['recovered'], 'no second incident: the limit holds')
  })
})
