// The running agent's micro loop takes its anomalies from the monitor's
// anomaly watch: a metric anomaly scored by the online detector (the
// NAB-scored one) opens an incident with HLC-stamped steps. A series is fed
// through the collector's `ingest` (the path device telemetry takes) with
// injected sample times, so the detector's 300-sample warm-up passes in
// milliseconds; the workload is a real child process.
//  - on a workload's own metric: the incident is diagnosed, the policy's
//    action on that workload is planned, done and verified by its probe;
//  - on a node-wide system metric: no workload is touched, the incident is
//    diagnosed and escalated to an operator.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Incident, Sample } from '@homeostat/interface'
import { loadConfig } from '../src/config/load.ts'
import { createAgent, type Agent } from '../src/daemon.ts'
import { createMicroLoopWiring, type MicroLoopWiring } from '../src/loops/micro.ts'
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

  /** Feeds warm-up plus a spike of `spikeFactor` × the mean; returns the incident the spike opened. */
  async function spike (component: string, metric: string, random: () => number): Promise<Incident> {
    const metrics = wiring!.metrics()!
    const nowMs = Date.now()
    const warm = normalSeries(random, { metric, component, mean: 40, n: 400, endMs: nowMs - 5000 })
    metrics.ingest(warm)
    assert.equal(wiring!.loop()!.incidents().length, 0, 'normal samples open nothing')
    for (let i = 0; i < 5; i++) metrics.ingest({ metric, component, value: 40 * 4, atMs: nowMs - 5000 + i * 1000 })
    return await waitFor('an incident', () => wiring!.loop()!.incidents().find((i) => i.component === component), 5_000)
  }

  it('opens an incident on a workload metric anomaly and acts on that workload (verified by its probe)', async () => {
    await start()
    const random = seeded(seed)
    const pidBefore = wiring!.supervisor()!.info('inference').pid
    const opened = await spike('inference', 'app.latency_ms', random)
    assert.equal(opened.failureClass, 'metric_anomaly')
    assert.equal(opened.anomalies[0]!.metric, 'app.latency_ms')
    assert.ok(opened.anomalies[0]!.score >= 0.7, `detector score ${opened.anomalies[0]!.score}`)
    const done = await wiring!.loop()!.settled(opened.id)
    const kinds = done.steps.map((s) => s.kind)
    assert.equal(done.status, 'recovered', JSON.stringify(done.steps.map((s) => s.summary)))
    for (const k of ['opened', 'detected', 'diagnosed', 'planned', 'acted', 'verified', 'recovered'] as const) assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`)
    for (const s of done.steps) assert.match(s.hlc, /\S/)
    // The policy (the constrained planner by default) picks the action; whatever it is, it acted on this workload.
    const acted = done.steps.find((s) => s.kind === 'acted')!
    assert.ok(['restart', 'throttle', 'kill', 'reload'].includes(acted.data?.action as string), String(acted.data?.action))
    assert.equal(done.steps.find((s) => s.kind === 'planned')!.data?.target, 'inference')
    if (acted.data?.action === 'restart') assert.notEqual(wiring!.supervisor()!.info('inference').pid, pidBefore, 'a new process')
    // The agent's incident book (API, dashboard) holds the same record.
    const book = await waitFor('the record in the book', () => agent!.context.incidents.list({ node: agent!.nodeName, component: 'inference', limit: 5 }).find((i) => i.id === done.id && i.status === 'recovered'), 2_000)
    assert.deepEqual(book.steps.map((s) => s.kind), kinds)
  })

  it('escalates a node-wide system metric anomaly without touching any workload', async () => {
    await start()
    const random = seeded(seed + 1)
    const sup = wiring!.supervisor()!
    const pidBefore = sup.info('inference').pid
    const restartsBefore = sup.info('inference').restarts
    const opened = await spike('node', 'sys.thermal.gpu_c', random)
    assert.equal(opened.targetKind, 'node')
    assert.equal(opened.failureClass, 'metric_anomaly')
    const done = await wiring!.loop()!.settled(opened.id)
    assert.equal(done.status, 'escalated', JSON.stringify(done.steps.map((s) => s.summary)))
    const kinds = done.steps.map((s) => s.kind)
    for (const k of ['opened', 'detected', 'diagnosed', 'planned', 'escalated'] as const) assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`)
    assert.ok(!kinds.includes('acted') || done.steps.filter((s) => s.kind === 'acted').every((s) => s.data?.action === 'escalate'), kinds.join(','))
    assert.equal(sup.info('inference').pid, pidBefore, 'the workload was not restarted')
    assert.equal(sup.info('inference').restarts, restartsBefore)
    // The watch rereports a persisting condition at most every 30 s; another spike sample now opens nothing new.
    wiring!.metrics()!.ingest({ metric: 'sys.thermal.gpu_c', component: 'node', value: 200, atMs: Date.now() })
    assert.equal(wiring!.loop()!.incidents().filter((i) => i.component === 'node').length, 1)
  })
})
