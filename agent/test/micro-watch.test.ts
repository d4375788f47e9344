// The running agent's micro loop takes its anomalies from the monitor's
// anomaly watch. A metric anomaly scored by the online detector (the
// NAB-scored one) is, alone, an observation: no probe fails, no limit is
// crossed, no forecast is confirmed, so nothing is done to a healthy process
// (a restart on a metric alone is the harm a healer must never do). A series
// is fed through the collector's `ingest` (the path device telemetry takes)
// with injected sample times, so the detector's 300-sample warm-up passes in
// milliseconds; the workload is a real child process.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Sample } from '@homeostat/interface'
import type { ObservationView } from '../src/state/providers.ts'
import { loadConfig } from '../src/config/load.ts'
import { createAgent, type Agent } from '../src/daemon.ts'
import { createMicroLoopWiring, type MicroLoopWiring } from '../src/loops/micro/index.ts'
import { freePort, tempDir, testConfigYaml, waitFor } from './helpers.ts'
import { seededRandom } from '@homeostat/interface'

/** mulberry32: the series are reproducible from the printed seed. */
const seeded = seededRandom

/** `n` 1 Hz samples of a noisy level (mean ± 5 % uniform noise), ending just before `endMs`. */
function normalSeries (random: () => number, o: { metric: string, component: string, mean: number, n: number, endMs: number }): Sample[] {
  return Array.from({ length: o.n }, (_, i) => ({ metric: o.metric, component: o.component, value: o.mean * (0.95 + 0.1 * random()), atMs: o.endMs - (o.n - i) * 1000 }))
}

describe('agent micro loop: metric anomalies from the monitor\'s detector', function () {
  this.timeout(30_000)
  const seed = Number(process.env.SEED ?? Date.now() % 100_000)
  let agent: Agent | undefined
  let wiring: MicroLoopWiring | undefined
  let cleanup: (() => void) | undefined
  before(() => { console.log(`    seed ${seed}`) })
  afterEach(async () => { await agent?.stop(); cleanup?.(); agent = undefined; wiring = undefined; cleanup = undefined })

  async function start (): Promise<void> {
    const t = tempDir()
    cleanup = t.cleanup
    const configFile = join(t.dir, 'homeostat.yaml')
    writeFileSync(configFile, testConfigYaml({ inferencePort: await freePort() }))
    agent = await createAgent({
      config: loadConfig(configFile),
      loops: [(ctx) => { wiring = createMicroLoopWiring(ctx); return wiring }],
      logger: pino({ level: 'silent' }),
      listen: '127.0.0.1:0'
    })
    await agent.start()
    await waitFor('the workload up', () => wiring!.supervisor()!.info('inference').state === 'running', 10_000)
  }

  /** Feeds warm-up plus a spike of 4 × the mean; returns the observation the spike made. */
  async function spike (component: string, metric: string, random: () => number): Promise<ObservationView> {
    const metrics = wiring!.metrics()!
    const nowMs = Date.now()
    const warm = normalSeries(random, { metric, component, mean: 40, n: 400, endMs: nowMs - 5000 })
    metrics.ingest(warm)
    assert.equal(wiring!.loop()!.observations().length, 0, 'normal samples make no observation')
    for (let i = 0; i < 5; i++) metrics.ingest({ metric, component, value: 40 * 4, atMs: nowMs - 5000 + i * 1000 })
    return await waitFor('an observation', () => wiring!.loop()!.observations().find((o) => o.component === component && o.metric === metric), 5_000)
  }

  it('a metric anomaly on a healthy workload alone is an observation: no incident, no action on the process', async () => {
    await start()
    const random = seeded(seed)
    const sup = wiring!.supervisor()!
    const pidBefore = sup.info('inference').pid
    const o = await spike('inference', 'app.latency_ms', random)
    assert.equal(o.failureClass, 'metric_anomaly')
    assert.ok(o.score >= 0.7, `detector score ${o.score}`)
    assert.match(o.why, /a metric anomaly alone: no probe failing, no limit crossed, no confirmed forecast/)
    // The onset is the first confirming sample, not the report (the first failing observation).
    assert.ok(o.atMs <= Date.now() - 1000, `onset ${Date.now() - o.atMs} ms ago`)
    await new Promise((resolve) => setTimeout(resolve, 1500)) // a watchdog pass or two
    assert.equal(wiring!.loop()!.incidents().length, 0, 'no incident')
    assert.equal(wiring!.loop()!.recovery.stats().executed, 0, 'no action')
    assert.equal(sup.info('inference').pid, pidBefore, 'the healthy process was not restarted')
    // It is in the API, for an operator to see.
    const api = await (await fetch(`${agent!.apiUrl!}/api/observations`)).json() as { observations: ObservationView[] }
    assert.ok(api.observations.some((x) => x.id === o.id))
    // …and it is in the anomaly timeline diagnosis reads, should a probe fail later.
    assert.equal(wiring!.loop()!.stats().observations >= 1, true)
  })

  it('a node-wide system metric anomaly is an observation: no incident, no workload touched', async () => {
    await start()
    const random = seeded(seed + 1)
    const sup = wiring!.supervisor()!
    const pidBefore = sup.info('inference').pid
    const restartsBefore = sup.info('inference').restarts
    const o = await spike('node', 'sys.thermal.gpu_c', random)
    assert.match(o.why, /node-wide/)
    assert.equal(wiring!.loop()!.incidents().length, 0)
    assert.equal(sup.info('inference').pid, pidBefore, 'the workload was not restarted')
    assert.equal(sup.info('inference').restarts, restartsBefore)
    // The watch rereports a persisting condition at most every 30 s; another spike sample now adds nothing.
    const n = wiring!.loop()!.observations().length
    wiring!.metrics()!.ingest({ metric: 'sys.thermal.gpu_c', component: 'node', value: 200, atMs: Date.now() })
    assert.equal(wiring!.loop()!.observations().length, n)
  })
})
