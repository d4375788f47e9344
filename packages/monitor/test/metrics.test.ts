import { strict as assert } from 'node:assert'
import { fileURLToPath } from 'node:url'
import { createMetricsCollector, createSupervisor, type Supervisor } from '../src/index.ts'

const worker = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))

describe('monitor: metrics collector on the real /proc and /sys', () => {
  let sup: Supervisor | undefined
  afterEach(async () => { await sup?.stop({ graceMs: 200 }); sup = undefined })

  it('collects system metrics and per-process RSS/CPU of supervised components', async () => {
    sup = createSupervisor({ autoRestart: false, components: [{ name: 'w', command: process.execPath, args: [worker], env: { MODE: 'hog' } }] })
    await sup.start()
    const m = createMetricsCollector({ supervisor: sup, diskPaths: ['/'] })
    m.collect()
    await new Promise((r) => setTimeout(r, 300))
    const s = m.collect()
    const by = new Map(s.map((x) => [`${x.component}/${x.metric}`, x.value]))
    for (const k of ['node/cpu.util_pct', 'node/mem.used_pct', 'node/mem.available_mb', 'node/load.1', 'node/disk.root.used_pct', 'node/disk.root.free_mb', 'w/proc.rss_mb', 'w/proc.cpu_pct']) {
      assert.ok(by.has(k), `missing ${k} in ${[...by.keys()].join(', ')}`)
      assert.ok(Number.isFinite(by.get(k)))
    }
    assert.ok(by.get('node/cpu.util_pct')! >= 0 && by.get('node/cpu.util_pct')! <= 100)
    assert.ok(by.get('w/proc.rss_mb')! > 5 && by.get('w/proc.rss_mb')! < 500)
    assert.ok(by.get('w/proc.cpu_pct')! > 5, `hog cpu ${by.get('w/proc.cpu_pct')}`)
    assert.ok(m.latest().has('w/proc.rss_mb'))
  })

  it('one pass is cheap: 10 components + system metrics well under a millisecond of CPU on average', async () => {
    const comps = Array.from({ length: 10 }, (_, i) => ({ name: `c${i}`, command: process.execPath, args: [worker] }))
    sup = createSupervisor({ autoRestart: false, components: comps })
    await sup.start()
    const m = createMetricsCollector({ supervisor: sup })
    let n = 0
    m.collect()
    const c0 = process.cpuUsage()
    for (let i = 0; i < 200; i++) n += m.collect().length
    const cpuUs = process.cpuUsage(c0)
    const perPassUs = (cpuUs.user + cpuUs.system) / 200
    assert.ok(n / 200 >= 20, `${n / 200} samples per pass`)
    // At 1 Hz, 2 % of a core is 20 ms per second; a pass must be a small fraction of that.
    assert.ok(perPassUs < 5000, `${perPassUs} µs per pass`)
  })

  it('ingest accepts valid external samples, refuses bad ones, and feeds listeners', () => {
    const m = createMetricsCollector({ system: false })
    const seen: string[] = []
    m.on('sample', (s) => seen.push(s.metric))
    assert.equal(m.ingest([
      { metric: 'jetson.gpu.util_pct', component: 'node', value: 40, atMs: 1 },
      { metric: 'rpi.throttled', component: 'node', value: 0, atMs: 1 },
      { metric: '', component: 'node', value: 1, atMs: 1 },
      { metric: 'x', component: 'node', value: Infinity, atMs: 1 },
      { metric: 'x', component: 'n o', value: 1, atMs: 1 },
      null as never
    ]), 2)
    assert.deepEqual(seen, ['jetson.gpu.util_pct', 'rpi.throttled'])
    assert.equal(m.stats().rejected, 4)
  })
})
