// Records the multi-cause diagnosis fixtures (bench/rca/multicause/fixtures.json)
// from real processes: six HTTP services in a call graph (./service.mjs), the
// monitor's real supervisor and probe runner, and the series the agent's micro
// loop records for diagnosis (probe latency and failures). After a stretch of
// normal operation, seeded scenarios inject faults with known root causes —
// single faults of several kinds on every service, cascades through the
// graph, two concurrent faults (independent branches, or sharing victims) —
// and every component that turns unhealthy becomes an incident. The fixture
// keeps every recorded sample, each incident with the anomaly timeline at its
// opening, and the truth (the faulted components it depends on, or itself);
// bench/rca replays them through the daemon's diagnosis. Nothing of the
// diagnosis runs here: the recording is the world, not the method.
//
//   node --conditions=homeostat-src --import tsx/esm bench/rca/multicause/record.ts [--seed N] [--out FILE]
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createProbeRunner, createSupervisor } from '@homeostat/monitor'
import { createHlc, encode } from '@homeostat/hlc'
import { seededRandom, type Anomaly, type Incident } from '@homeostat/interface'
import { freeLoopbackPort } from '../../../agent/src/demo/ports.ts'

export const GRAPH: Record<string, string[]> = {
  gateway: ['api'],
  api: ['db', 'model'],
  model: ['gpu'],
  batch: ['db'],
  db: [],
  gpu: []
}

export interface Fixture {
  seed: number
  graph: Record<string, string[]>
  stepMs: number
  /** Every recorded sample, in time order: [component, metric, atMs, value]. */
  samples: Array<[string, string, number, number]>
  scenarios: Array<{ name: string, faults: Array<{ component: string, kind: string }>, incidents: Array<{ incident: Incident, timeline: Anomaly[], diagnoseAtMs: number, truth: string[] }> }>
}

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const arg = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined }
const seed = Number(arg('--seed') ?? 20261208)
const out = arg('--out') ?? join(here, 'fixtures.json')
const sleep = async (ms: number): Promise<void> => await new Promise((r) => setTimeout(r, ms))

/** Everything a component depends on, transitively (pure). */
export function closureOf (c: string, graph = GRAPH): Set<string> {
  const seen = new Set<string>()
  const walk = (x: string): void => { for (const d of graph[x] ?? []) if (!seen.has(d)) { seen.add(d); walk(d) } }
  walk(c)
  return seen
}

/** The seeded scenario list: every service faulted alone (error, hang), slow leaves, and concurrent pairs. */
function scenarios (random: () => number): Array<{ name: string, faults: Array<{ component: string, kind: string }> }> {
  const list: Array<{ name: string, faults: Array<{ component: string, kind: string }> }> = []
  for (const component of Object.keys(GRAPH)) for (const kind of ['error', 'hang']) list.push({ name: `${kind} ${component}`, faults: [{ component, kind }] })
  for (const component of ['db', 'gpu']) list.push({ name: `slow ${component}`, faults: [{ component, kind: 'slow' }] })
  list.push({ name: 'independent: error gpu + error batch', faults: [{ component: 'gpu', kind: 'error' }, { component: 'batch', kind: 'error' }] })
  list.push({ name: 'independent: hang model + hang batch', faults: [{ component: 'model', kind: 'hang' }, { component: 'batch', kind: 'hang' }] })
  list.push({ name: 'two causes, shared victims: error db + error gpu', faults: [{ component: 'db', kind: 'error' }, { component: 'gpu', kind: 'error' }] })
  // Seeded order: no scenario always follows the same one.
  for (let i = list.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [list[i], list[j]] = [list[j]!, list[i]!] }
  return list
}

async function main (): Promise<void> {
  const random = seededRandom(seed)
  const ports: Record<string, number> = {}
  for (const c of Object.keys(GRAPH)) ports[c] = await freeLoopbackPort()
  const supervisor = createSupervisor({
    autoRestart: false,
    components: Object.entries(GRAPH).map(([name, deps]) => ({
      name,
      command: process.execPath,
      args: [join(here, 'service.mjs')],
      env: { PORT: String(ports[name]), DEPS: deps.map((d) => ports[d]).join(',') },
      dependsOn: deps,
      probes: [{ kind: 'http' as const, url: `http://127.0.0.1:${ports[name]}/health`, periodMs: 250, timeoutMs: 400, failureThreshold: 2 }]
    }))
  })
  const probes = createProbeRunner({ supervisor })
  const hlc = createHlc({ nodeId: 'recorder', now: Date.now })
  const fixture: Fixture = { seed, graph: GRAPH, stepMs: 1000, samples: [], scenarios: [] }
  // What the agent records for diagnosis (agent/src/loops/micro/index.ts): probe latency and failures.
  probes.on('result', (e) => {
    if (e.result.status !== 'ok' && e.result.status !== 'fail') return
    fixture.samples.push([e.component, 'probe.latency_ms', e.atMs, e.result.latencyMs])
    fixture.samples.push([e.component, 'probe.failed_pct', e.atMs, e.result.status === 'fail' ? 100 : 0])
  })
  const timeline: Anomaly[] = []
  let current: Fixture['scenarios'][number] | undefined
  let seq = 0
  probes.on('unhealthy', (e) => {
    const a: Anomaly = { id: `recorder:a${++seq}`, node: 'recorder', component: e.component, metric: `probe.${e.kind}`, kind: 'probe', score: 1, value: e.status.consecutiveFailures, hlc: encode(hlc.now()), atMs: e.atMs }
    timeline.push(a)
    // One incident per component and scenario, as the micro loop keeps one open per component.
    if (current === undefined || current.incidents.some((x) => x.incident.component === e.component)) return
    const faulted = current.faults.map((f) => f.component)
    const truth = faulted.includes(e.component) ? [e.component] : faulted.filter((f) => closureOf(e.component).has(f))
    const incident: Incident = { id: `mc-${fixture.scenarios.length}-${e.component}`, node: 'recorder', component: e.component, targetKind: 'process', failureClass: 'unhealthy', status: 'open', openedAtMs: e.atMs, steps: [], anomalies: [a] }
    current.incidents.push({ incident, timeline: timeline.filter((x) => x.atMs >= e.atMs - 60_000), diagnoseAtMs: e.atMs, truth })
  })
  await supervisor.start()
  probes.start()
  const post = async (c: string, path: string): Promise<void> => { await fetch(`http://127.0.0.1:${ports[c]}${path}`, { method: 'POST' }) }
  const allHealthy = async (): Promise<boolean> => Object.keys(GRAPH).every((c) => probes.health(c).healthy)
  try {
    console.error('record: 40 s of normal operation')
    await sleep(40_000)
    const list = scenarios(random)
    for (const [i, s] of list.entries()) {
      current = { name: s.name, faults: s.faults, incidents: [] }
      for (const f of s.faults) await post(f.component, `/fault/${f.kind}`)
      await sleep(4000)
      fixture.scenarios.push(current)
      current = undefined
      for (const f of s.faults) await post(f.component, '/fault/clear')
      const t0 = Date.now()
      while (!(await allHealthy()) && Date.now() - t0 < 10_000) await sleep(100)
      console.error(`record: ${i + 1}/${list.length} ${s.name}: ${fixture.scenarios.at(-1)!.incidents.length} incidents (${fixture.scenarios.at(-1)!.incidents.map((x) => `${x.incident.component}→${x.truth.join('+')}`).join(', ')})`)
      await sleep(12_000) // quiet between scenarios: the next one's lookback rows are normal again
    }
  } finally {
    probes.stop()
    await supervisor.stop({ graceMs: 500 })
  }
  writeFileSync(out, JSON.stringify(fixture) + '\n')
  console.error(`record: wrote ${out}: ${fixture.scenarios.length} scenarios, ${fixture.scenarios.reduce((n, s) => n + s.incidents.length, 0)} incidents, ${fixture.samples.length} samples`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main().catch((err) => { console.error(err); process.exit(1) })
