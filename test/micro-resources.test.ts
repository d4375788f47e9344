// End to end, real processes: a leaking process is restarted before its
// memory limit, a process over its CPU limit is held to it (throttle: a
// cgroup where one is writable, else a duty cycle), a disk-filling writer's
// disposable chunks are freed. Each incident record holds every step with
// times.
import assert from 'node:assert/strict'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { createProbeRunner, createSupervisor, type ComponentInput, type ProbeRunner, type Supervisor } from '@homeostat/monitor'
import { createMicroLoop, createResourceWatch, type MicroLoop, type ResourceWatch } from '@homeostat/micro'
import type { ComponentRecoveryConfig } from '@homeostat/recovery'
import { FIXTURES, waitHealthy, assertRecord, freePort, mttrMs, tempDir, waitFor } from './micro-helpers.ts'

describe('micro loop (real processes): leak, CPU hog, disk fill', function () {
  this.timeout(40_000)
  let sup: Supervisor | undefined
  let probes: ProbeRunner | undefined
  let loop: MicroLoop | undefined
  let watch: ResourceWatch | undefined
  let cleanup: (() => Promise<void>) | undefined
  afterEach(async () => {
    await loop?.stop(2000)
    probes?.stop()
    await sup?.stop({ graceMs: 200 })
    await cleanup?.()
    sup = undefined; probes = undefined; loop = undefined; cleanup = undefined; watch = undefined
  })

  async function setup (fixture: string, make: (dir: string) => { component: Partial<ComponentInput>, recoveryConfig?: Record<string, ComponentRecoveryConfig> }): Promise<{ dir: string }> {
    const t = await tempDir()
    cleanup = t.cleanup
    const { component, recoveryConfig = {} } = make(t.dir)
    const port = await freePort()
    const faultFile = join(t.dir, 'fault')
    sup = createSupervisor({
      autoRestart: false,
      components: [{
        name: 'svc',
        command: process.execPath,
        args: [join(FIXTURES, fixture)],
        ...component,
        env: { PORT: String(port), FAULT_FILE: faultFile, FAULT_AFTER_MS: '300', ...component.env },
        probes: [{ kind: 'http', url: `http://127.0.0.1:${port}/health`, periodMs: 500, timeoutMs: 500, failureThreshold: 3, initialDelayMs: 150 }]
      }]
    })
    probes = createProbeRunner({ supervisor: sup })
    // The monitor's collector at 4 Hz and its anomaly watch (a 40 MB/s leak reaches a 250 MB limit in ~5 s).
    watch = createResourceWatch({ supervisor: sup, enforceMemoryLimit: true, intervalMs: 250, collector: { dirScanIntervalMs: 250 } })
    const hlc = createHlc({ nodeId: 'edge-1', now: Date.now })
    loop = createMicroLoop({ node: 'edge-1', hlc, supervisor: sup, probes, sources: [watch.source], verifiers: watch.verifiers, recoveryConfig })
    loop.start()
    await sup.start()
    probes.start()
    // Inject the fault into a process that is up and healthy.
    await waitHealthy(probes, 'svc')
    writeFileSync(faultFile, '')
    return { dir: t.dir }
  }

  it('restarts a leaking process before it reaches its memory limit', async () => {
    await setup('micro-leak.mjs', () => ({ component: { env: { LEAK_MB_PER_S: '40' }, limits: { memoryMb: 250 } } }))
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 15_000)
    assert.equal(incident.failureClass, 'memory_leak')
    assert.equal(incident.anomalies[0].kind, 'predictive')
    const done = await loop!.settled(incident.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'])
    assert.equal(done.steps.find((s) => s.kind === 'acted')!.data?.action, 'restart')
    const st = watch!.stats()
    assert.equal(st.oomKills, 0, 'never reached the limit')
    assert.ok(st.maxRssFractionOfLimit.svc < 1, `peak RSS ${(st.maxRssFractionOfLimit.svc * 250).toFixed(0)} MB`)
    assert.ok(mttrMs(done) < 10_000)
  })

  it('holds a process over its CPU limit to the limit (throttle), never restarting it', async () => {
    await setup('micro-cpu.mjs', () => ({ component: { limits: { cpu: 0.2 } } }))
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 10_000)
    assert.equal(incident.failureClass, 'cpu_limit')
    const pid = sup!.info('svc').pid
    const done = await loop!.settled(incident.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    const actions = done.steps.filter((s) => s.kind === 'acted').map((s) => s.data?.action)
    assert.deepEqual(actions, ['throttle'], 'a restarted hog would hog again: throttle only')
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'])
    assert.equal(sup!.info('svc').pid, pid, 'the same process, held')
    assert.ok(mttrMs(done) < 15_000)
  })

  it('frees a filling disk (oldest disposable chunks first) and keeps the live log', async () => {
    let data = ''
    await setup('micro-disk.mjs', (dir) => {
      data = join(dir, 'data')
      return {
        // 50 MB of chunks at 25 MB/s into a directory limited to 48 MB: past the 90 % high-water mark in under 2 s.
        component: { env: { DATA_DIR: data, DUMP_MB: '50', WRITE_MB_PER_S: '25' }, limits: { disk: { path: data, limitMb: 48 } } },
        // Only the debug chunks are disposable; the live log is not.
        recoveryConfig: { svc: { freeDisk: { paths: [data], patterns: ['^debug-dump-.*\\.bin$'], targetMb: 30, keepRecentMs: 0 } } }
      }
    })
    const incident = await waitFor('an incident', () => loop!.incidents()[0], 10_000)
    assert.equal(incident.failureClass, 'disk_fill')
    const done = await loop!.settled(incident.id)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    assertRecord(done, ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'])
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.equal(acted.data?.action, 'free_disk')
    assert.ok((acted.data?.freedBytes as number) > 0)
    const left = readdirSync(data)
    assert.ok(left.includes('service.log'), 'the live log is never touched')
  })
})
