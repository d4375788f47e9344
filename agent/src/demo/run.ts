// `homeostat demo`: a local fleet on loopback — one cloud peer and three edge
// agents, each a separate process with its own data dir in a temp folder,
// each supervising a small HTTP inference service and a batch job (and, on one
// edge at a time, the relocatable fleet scheduler) — then a
// seeded fault schedule. The demo only injects faults and watches the agents'
// APIs; all detection and healing is the agents' own. For the SIGKILL of a
// whole edge agent the demo plays systemd (Restart=on-failure with
// KillMode=control-group): the cloud peer detects the loss over the mesh, the
// demo clears the dead agent's leftover processes and restarts it.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateSwarmKey } from '@homeostat/mesh'
import type { Incident } from '@homeostat/interface'
import { ensureDataDir, ensureToken, writeSecretFile } from '../datadir.ts'
import { percentile } from '../state/report.ts'
import { table, ms } from '../cli/format.ts'
import type { Io } from '../cli/io.ts'
import type { PeerView } from '../state/providers.ts'
import { seededRandom } from '@homeostat/interface'
import { freeLoopbackPort } from './ports.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
/** agent/demo (workloads), from src/demo and dist/demo alike. */
const WORKLOADS = join(HERE, '..', '..', 'demo')
/** The compiled CLI the agents run as (honest RSS/CPU; fast start). */
const CLI = join(HERE, '..', '..', 'dist', 'cli.js')

export const DEMO_DEFAULTS = {
  edges: 3,
  /** Time allowed for the fleet to come up. */
  startTimeoutMs: 45_000,
  /** After every agent is ready: time for the cloud to see every edge alive and every workload to be
   * healthy (4–8 s on the 2-core dev host; generous so a busy host is not reported as a broken fleet). */
  fleetWholeTimeoutMs: 45_000,
  /** First fault after the fleet is healthy for this long (lets the detectors see normal behaviour). */
  warmupMs: 3000,
  /** A fault not healed within this is reported as not healed. */
  healTimeoutMs: 25_000,
  /** API poll period while watching a fault: detection times are measured from incident records, so polling only delays the progress line. */
  pollMs: 150,
  /** Agents get this long to stop on SIGTERM before SIGKILL. */
  stopGraceMs: 6000
}

export type FaultKind = 'crash' | 'hang' | 'leak' | 'batch-kill' | 'agent-kill' | 'shared-fail'
const FAULT_ORDER: FaultKind[] = ['crash', 'hang', 'leak', 'batch-kill', 'agent-kill', 'shared-fail']

interface Node {
  name: string
  role: 'edge' | 'cloud'
  dir: string
  config: string
  apiPort: number
  meshPort: number
  inferencePort: number
  heartbeat: string
  proc?: ChildProcess
  api: string
  token: string
  logFile: string
}

interface FaultResult {
  n: number
  kind: FaultKind
  node: string
  component: string
  injectedAtMs: number
  detectedAtMs?: number
  diagnosedAtMs?: number
  action?: string
  healedAtMs?: number
  incidentId?: string
  /** The incident's failure class (a leak: memory_leak when predicted, oom when the limit was hit). */
  failureClass?: string
  healed: boolean
  /** Repaired by the demo harness, not by an agent (the agent-kill: restarted as systemd would). */
  external?: boolean
  note?: string
}

/** The components a fault hits on its node (an agent kill restarts all of them; a shared-store failure is fleet-wide). */
export const FAULT_TARGETS: Record<FaultKind, readonly string[]> = {
  crash: ['inference'], hang: ['inference'], leak: ['inference'], 'batch-kill': ['batch'], 'agent-kill': ['inference', 'batch'], 'shared-fail': []
}

/**
 * Faults on one component come at least this far apart: its previous heal must have been followed by a
 * healthy run the micro loop calls stable (MICRO_DEFAULTS.stableAfterMs, 30 s) plus the heal itself, so that
 * the demo shows spaced faults each healed at full speed; a crash loop (faults that survive restarts, which
 * the loop rightly quarantines and retries on a back-off) is another demo.
 */
export const DEMO_FAULT_GAP_S = 40

/**
 * The fault schedule: every kind once (agent-kill never first), then more seeded picks while the duration
 * allows; targets and spacing from the seed. Each fault goes to the edge whose components it hits were
 * faulted longest ago, and waits until they are at least DEMO_FAULT_GAP_S past their last fault.
 */
export function faultSchedule (seed: number, durationS: number, edges: string[]): Array<{ atS: number, kind: FaultKind, node: string }> {
  const rnd = seededRandom(seed)
  const slotS = 9 // a fault heals in a few seconds; 9 s keeps them apart on a 2-core machine
  const count = Math.max(FAULT_ORDER.length, Math.floor(durationS / slotS))
  const kinds: FaultKind[] = [...FAULT_ORDER]
  const extra: FaultKind[] = ['crash', 'hang', 'leak', 'batch-kill']
  while (kinds.length < count) kinds.push(extra[Math.floor(rnd() * extra.length)])
  // Shuffle all but keep agent-kill out of the first slot (the fleet must be seen whole first).
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]]
  }
  if (kinds[0] === 'agent-kill') { const k = kinds.findIndex((x) => x !== 'agent-kill'); [kinds[0], kinds[k]] = [kinds[k], kinds[0]] }
  const spacing = durationS / kinds.length
  const last = new Map<string, number>() // `${node}/${component}` → when it was last faulted
  let prevAtS = 0
  const seen = new Set<FaultKind>()
  const out: Array<{ atS: number, kind: FaultKind, node: string }> = []
  kinds.forEach((kind, i) => {
    const planned = Math.round((i * spacing + rnd() * spacing * 0.3) * 10) / 10
    const targets = FAULT_TARGETS[kind]
    // Ties (never faulted) are broken by the seed.
    const lastOf = (node: string): number => Math.max(-Infinity, ...targets.map((c) => last.get(`${node}/${c}`) ?? -Infinity))
    const order = edges.map((node) => ({ node, at: lastOf(node), tie: rnd() })).sort((a, b) => a.at - b.at || a.tie - b.tie)
    const node = targets.length === 0 ? edges[Math.floor(rnd() * edges.length)] : order[0]!.node
    const atS = Math.round(Math.max(planned, prevAtS, lastOf(node) + DEMO_FAULT_GAP_S) * 10) / 10
    // Past the duration only to show every kind once.
    if (atS > durationS && seen.has(kind)) return
    seen.add(kind)
    for (const c of targets) last.set(`${node}/${c}`, atS)
    prevAtS = atS
    out.push({ atS, kind, node })
  })
  return out
}

/** A loopback port free now and not in `taken` (each agent binds its own later; the kernel may give
 * a port it just freed again on the next bind). */
const sleep = async (msec: number) => await new Promise((resolve) => setTimeout(resolve, msec))

async function getJson<T> (url: string, token?: string, method = 'GET', timeoutMs = 2000): Promise<T | undefined> {
  try {
    const r = await fetch(url, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) })
    if (!r.ok) return undefined
    return await r.json() as T
  } catch { return undefined }
}

function nodeConfig (n: Node, bootstrap: string[], federated: boolean, shard: number, storeUrl: string): string {
  const edge = n.role === 'edge'
  return `# written by homeostat demo
node:
  name: ${n.name}
  role: ${n.role}
  dataDir: ./data
api:
  listen: 127.0.0.1:${n.apiPort}
log:
  level: info
mesh:
  listen: ["/ip4/127.0.0.1/tcp/${n.meshPort}"]
  bootstrap: ${JSON.stringify(bootstrap)}
  mdns: false
  swarmKeyFile: ../swarm.key
policy:
  approvalRiskThreshold: 1     # the demo runs unattended: never wait for a human
federated:
  enabled: ${federated}
  shard: ${shard}
  roundIntervalMs: 5000
components:${edge
? `
  - name: inference
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(WORKLOADS, 'inference.mjs'))}]
    env: { PORT: "${n.inferencePort}" }
    restart: on-failure
    limits: { memoryMb: 200 }
    probes:
      - kind: http
        url: http://127.0.0.1:${n.inferencePort}/health
        periodMs: 400
        timeoutMs: 900
        failureThreshold: 2
        initialDelayMs: 500
  - name: batch
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(WORKLOADS, 'batch.mjs'))}]
    env: { HEARTBEAT_FILE: ${JSON.stringify(n.heartbeat)} }
    restart: on-failure
    probes:
      - kind: heartbeat
        path: ${JSON.stringify(n.heartbeat)}
        maxAgeMs: 2500
        periodMs: 500
        timeoutMs: 900
        failureThreshold: 2
        initialDelayMs: 1000
  - name: scheduler            # one copy in the whole fleet: the edges' agents place it and move it
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(WORKLOADS, 'scheduler.mjs'))}]
    relocatable: true
    priority: 5
    limits: { memoryMb: 64 }
  - name: feature-store        # runs outside the agents and every edge uses it: one edge restarts it at a time
    shared: true
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(WORKLOADS, 'restart-feature-store.mjs'))}]
    env: { STORE_URL: "${storeUrl}", NODE_NAME: "${n.name}" }
    probes:
      - kind: http
        url: ${storeUrl}/health
        periodMs: 400
        timeoutMs: 900
        failureThreshold: 2`
: ' []'}
`
}

export interface DemoOptions {
  durationS: number
  seed: number
  keep: boolean
  io: Io
  /** Edge agents (default 3). */
  edges?: number
  /** Run federated training on the fleet (accuracy per node on the dashboard). */
  federated?: boolean
}

export async function runDemo (o: DemoOptions): Promise<number> {
  const io = o.io
  const t0 = Date.now()
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`
  const say = (s: string) => io.out(`${stamp()} ${s}`)
  if (!existsSync(CLI)) {
    io.err(`homeostat demo: ${CLI} is missing; build first (npm run build)`)
    return 1
  }
  const root = mkdtempSync(join(tmpdir(), 'homeostat-demo-'))
  const nodes: Node[] = []
  let stopping = false
  let stopped: Promise<void> | undefined

  const stopAll = async (keepLogs = false): Promise<void> => {
    if (stopped !== undefined) return await stopped
    stopping = true
    stopped = (async () => {
      await Promise.all(nodes.map(async (n) => await stopNode(n)))
      store?.kill('SIGTERM')
      if (keepLogs) io.err(`logs kept for inspection in ${root}`)
      else rmSync(root, { recursive: true, force: true })
    })()
    return await stopped
  }
  const onSignal = () => {
    io.out('\ninterrupted: stopping the fleet and removing its temp dirs…')
    void stopAll().then(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const startNode = (n: Node) => {
    const log = createWriteStream(n.logFile, { flags: 'a' })
    const p = spawn(process.execPath, [CLI, 'agent', '--config', n.config], { cwd: n.dir, stdio: ['ignore', 'pipe', 'pipe'] })
    p.stdout?.pipe(log)
    p.stderr?.pipe(log)
    n.proc = p
  }
  const waitReady = async (n: Node, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && !stopping) {
      if (n.proc?.exitCode !== null && n.proc?.exitCode !== undefined) return false
      try {
        const r = await fetch(n.api + '/readyz', { signal: AbortSignal.timeout(1000) })
        if (r.ok) return true
      } catch {}
      await sleep(150)
    }
    return false
  }
  const stopNode = async (n: Node) => {
    const p = n.proc
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
    p.kill('SIGTERM')
    const t = setTimeout(() => p.kill('SIGKILL'), DEMO_DEFAULTS.stopGraceMs)
    await exited
    clearTimeout(t)
  }

  const results: FaultResult[] = []
  /** The shared feature store: a service outside the agents (the demo runs it, as a LAN host would). */
  let store: ChildProcess | undefined
  let storeUrl = ''
  try {
    const edgesN = o.edges ?? DEMO_DEFAULTS.edges
    io.out(`homeostat demo: seed ${o.seed}, ${o.durationS} s of faults, 1 cloud + ${edgesN} edge agents on loopback`)
    io.out(`temp dir ${root}`)
    writeSecretFile(join(root, 'swarm.key'), new TextDecoder().decode(generateSwarmKey()) + '\n')
    const names = ['cloud', ...Array.from({ length: edgesN }, (_, i) => `edge-${i + 1}`)]
    const ports = new Set<number>() // handed out to this fleet
    for (const name of names) {
      const dir = join(root, name)
      ensureDataDir(dir)
      ensureDataDir(join(dir, 'data'))
      const apiPort = await freeLoopbackPort(ports)
      const n: Node = {
        name,
        role: name === 'cloud' ? 'cloud' : 'edge',
        dir,
        config: join(dir, 'homeostat.yaml'),
        apiPort,
        meshPort: await freeLoopbackPort(ports),
        inferencePort: await freeLoopbackPort(ports),
        heartbeat: join(dir, 'batch.heartbeat'),
        api: `http://127.0.0.1:${apiPort}`,
        token: ensureToken(join(dir, 'data')),
        logFile: join(dir, 'agent.log')
      }
      nodes.push(n)
    }
    const cloud = nodes[0]
    const edges = nodes.slice(1)
    const storePort = await freeLoopbackPort(ports)
    storeUrl = `http://127.0.0.1:${storePort}`
    store = spawn(process.execPath, [join(WORKLOADS, 'feature-store.mjs')], { env: { ...process.env, PORT: String(storePort) }, stdio: 'ignore' })
    say('starting… cloud peer')
    writeFileSync(cloud.config, nodeConfig(cloud, [], o.federated === true, 0, storeUrl))
    startNode(cloud)
    if (!await waitReady(cloud, DEMO_DEFAULTS.startTimeoutMs)) throw new Error(`the cloud agent did not become ready; see ${cloud.logFile}:\n${tailOf(cloud.logFile)}`)
    // Its mesh address is the edges' bootstrap. A status read can time out on a busy host: ask again.
    let bootstrap: string[] = []
    for (const deadline = Date.now() + DEMO_DEFAULTS.startTimeoutMs; bootstrap.length === 0 && Date.now() < deadline && !stopping;) {
      bootstrap = (await getJson<{ mesh?: { addrs: string[] } }>(cloud.api + '/api/status'))?.mesh?.addrs ?? []
      if (bootstrap.length === 0) await sleep(200)
    }
    if (bootstrap.length === 0) throw new Error(`the cloud agent reports no mesh address; see ${cloud.logFile}:\n${tailOf(cloud.logFile)}`)
    say(`cloud ready, mesh ${bootstrap[0]}`)
    say(`starting… ${edges.map((e) => e.name).join(', ')} (each supervises inference + batch and uses the shared feature store; one of them runs the fleet's scheduler)`)
    edges.forEach((e, i) => { writeFileSync(e.config, nodeConfig(e, bootstrap, o.federated === true, i, storeUrl)); startNode(e) })
    const ready = await Promise.all(edges.map(async (e) => await waitReady(e, DEMO_DEFAULTS.startTimeoutMs)))
    ready.forEach((ok, i) => { if (!ok) throw new Error(`${edges[i].name} did not become ready; see ${edges[i].logFile}:\n${tailOf(edges[i].logFile)}`) })
    // The whole fleet visible from the cloud and every workload healthy.
    const fleetDeadline = Date.now() + DEMO_DEFAULTS.fleetWholeTimeoutMs
    for (;;) {
      const peers = (await getJson<{ peers: PeerView[] }>(cloud.api + '/api/peers'))?.peers ?? []
      const seen = edges.map((e) => peers.find((p) => p.name === e.name)?.state ?? 'not seen')
      const health = await Promise.all(edges.map(async (e) => {
        const s = await getJson<{ components: Array<{ name: string, health: string }> }>(e.api + '/api/status')
        if (s === undefined) return { ok: false, text: 'no status' }
        return { ok: s.components.length === EDGE_COMPONENTS && s.components.every((c) => c.health === 'ok'), text: s.components.map((c) => `${c.name} ${c.health}`).join(', ') }
      }))
      const healthy = health.map((h) => h.ok)
      if (seen.every((st) => st === 'alive') && healthy.every(Boolean)) break
      if (Date.now() > fleetDeadline) {
        const detail = edges.map((e, i) => `${e.name}: cloud sees it ${seen[i]}; components: ${health[i].text}${healthy[i] && seen[i] === 'alive' ? '' : `; last lines of ${e.logFile}:\n${tailOf(e.logFile)}`}`)
        throw new Error(`fleet not whole after ${DEMO_DEFAULTS.fleetWholeTimeoutMs / 1000} s:\n${detail.join('\n')}`)
      }
      await sleep(250)
    }
    const host = await schedulerHost(edges)
    say(`fleet up: cloud sees ${edges.length} edge peers; every workload healthy; the scheduler runs on ${host ?? 'no edge (yet)'}`)
    io.out(`dashboard: ${cloud.api}/#token=${cloud.token}`)
    await sleep(DEMO_DEFAULTS.warmupMs)

    const schedule = faultSchedule(o.seed, o.durationS, edges.map((e) => e.name))
    say(`fault schedule (seed ${o.seed}): ${schedule.map((f) => `${f.kind}@${f.node}`).join(', ')}`)
    const start = Date.now()
    for (let i = 0; i < schedule.length && !stopping; i++) {
      const f = schedule[i]
      const wait = start + f.atS * 1000 - Date.now()
      if (wait > 0) await sleep(wait)
      const node = nodes.find((x) => x.name === f.node) as Node
      const r = await injectAndWatch(i + 1, schedule.length, f.kind, node, cloud, say)
      results.push(r)
    }

    // What an agent healed (its own incident record: detected → acted → verified). The agent-kill is
    // repaired by this harness restarting the agent, as systemd would: external, reported apart.
    const own = results.filter((r) => r.external !== true)
    const external = results.filter((r) => r.external === true)
    const healed = own.filter((r) => r.healed)
    const mttrs = healed.map((r) => (r.healedAtMs as number) - r.injectedAtMs)
    const detects = own.flatMap((r) => r.detectedAtMs === undefined ? [] : [r.detectedAtMs - r.injectedAtMs])
    const leaks = results.filter((r) => r.kind === 'leak')
    io.out('')
    io.out(table(['#', 'FAULT', 'NODE', 'COMPONENT', 'DETECTED', 'MTTR', 'ACTION', 'HEALED'], results.map((r) => [
      r.n, r.kind, r.node, r.component,
      r.detectedAtMs === undefined ? undefined : ms(r.detectedAtMs - r.injectedAtMs),
      r.healedAtMs === undefined ? undefined : ms(r.healedAtMs - r.injectedAtMs),
      r.action, (r.healed ? 'yes' : `NO${r.note === undefined ? '' : ' (' + r.note + ')'}`) + (r.external === true ? ' (external)' : '')
    ])))
    io.out('')
    io.out(`fleet report: ${healed.length}/${own.length} faults healed by the agents; MTTR p50 ${ms(percentile(mttrs, 50))}, detection p50 ${ms(percentile(detects, 50))}` +
      (external.length > 0 ? `; ${external.length} external (the whole agent killed and restarted by this harness, as systemd would: ${external.filter((r) => r.healed).length} back with healthy workloads)` : '') +
      (leaks.length > 0 ? `; leaks restarted before their limit: ${leaks.filter((r) => r.failureClass === 'memory_leak').length}/${leaks.length}` : ''))
    if (o.keep && !stopping) {
      io.out(`--keep: the fleet stays up. dashboard: ${cloud.api}/#token=${cloud.token}`)
      io.out(`logs: ${nodes.map((n) => n.logFile).join(' ')}`)
      io.out('Ctrl-C stops it and removes the temp dir.')
    }
    const summary = {
      faultsInjected: results.length,
      faultsHealed: healed.length,
      faultsExternal: external.length,
      externalRecovered: external.filter((r) => r.healed).length,
      leakRestartedBeforeLimit: leaks.filter((r) => r.failureClass === 'memory_leak').length,
      leakFaults: leaks.length,
      mttrP50Ms: percentile(mttrs, 50) ?? null,
      detectP50Ms: percentile(detects, 50) ?? null,
      seed: o.seed,
      durationS: o.durationS,
      faults: results.map((r) => ({ kind: r.kind, node: r.node, healed: r.healed, ...(r.external === true ? { external: true } : {}), ...(r.failureClass !== undefined ? { failureClass: r.failureClass } : {}), detectMs: r.detectedAtMs === undefined ? null : r.detectedAtMs - r.injectedAtMs, mttrMs: r.healedAtMs === undefined ? null : r.healedAtMs - r.injectedAtMs, action: r.action ?? null }))
    }
    if (o.keep && !stopping) {
      io.out(JSON.stringify(summary))
      await new Promise<void>(() => {}) // until Ctrl-C (onSignal exits)
    }
    const allWell = healed.length === own.length && external.every((r) => r.healed) && results.length > 0
    await stopAll(!allWell)
    io.out(JSON.stringify(summary))
    return allWell ? 0 : 1
  } catch (err) {
    io.err(`homeostat demo: ${(err as Error).message}`)
    await stopAll(true)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  async function injectAndWatch (n: number, total: number, kind: FaultKind, node: Node, cloud: Node, say: (s: string) => void): Promise<FaultResult> {
    const component = kind === 'batch-kill' ? 'batch' : kind === 'agent-kill' ? 'agent' : kind === 'shared-fail' ? 'feature-store' : 'inference'
    const r: FaultResult = { n, kind, node: node.name, component, injectedAtMs: Date.now(), healed: false }
    const what: Record<FaultKind, string> = {
      crash: 'crash of', hang: 'hang of', leak: 'memory leak in', 'batch-kill': 'SIGKILL of', 'agent-kill': 'SIGKILL of the whole agent', 'shared-fail': 'failure of'
    }
    if (kind === 'agent-kill') return await agentKill(r, node, cloud, say, `${n}/${total}`)
    if (kind === 'shared-fail') return await sharedFail(r, say, `${n}/${total}`)
    const before = new Set(((await getJson<{ incidents: Incident[] }>(`${node.api}/api/incidents?limit=1000`))?.incidents ?? []).map((i) => i.id))
    r.injectedAtMs = Date.now()
    if (kind === 'batch-kill') {
      const s = await getJson<{ components: Array<{ name: string, pid?: number }> }>(node.api + '/api/status')
      const pid = s?.components.find((c) => c.name === 'batch')?.pid
      if (pid === undefined) { r.note = 'batch not running'; return r }
      r.injectedAtMs = Date.now()
      try { process.kill(pid, 'SIGKILL') } catch { r.note = 'kill failed'; return r }
    } else {
      const path = kind === 'crash' ? '/fault/crash' : kind === 'hang' ? '/fault/hang' : '/fault/leak'
      r.injectedAtMs = Date.now()
      const ok = await getJson<unknown>(`http://127.0.0.1:${node.inferencePort}${path}`, undefined, 'POST').then(() => true, () => false)
      void ok
    }
    say(`fault ${n}/${total}: ${what[kind]} ${node.name}/${component} — injected`)
    const deadline = r.injectedAtMs + DEMO_DEFAULTS.healTimeoutMs
    const printed = new Set<string>()
    while (Date.now() < deadline && !stopping) {
      await sleep(DEMO_DEFAULTS.pollMs)
      const list = (await getJson<{ incidents: Incident[] }>(`${node.api}/api/incidents?component=${component}&limit=20`))?.incidents ?? []
      const inc = list.filter((i) => !before.has(i.id)).sort((a, b) => a.openedAtMs - b.openedAtMs)[0]
      if (inc === undefined) continue
      r.incidentId = inc.id
      r.failureClass = inc.failureClass
      for (const s of inc.steps) {
        const rel = `+${ms(s.atMs - r.injectedAtMs)}`
        if (s.kind === 'detected' && !printed.has('detected')) {
          printed.add('detected'); r.detectedAtMs = s.atMs
          say(`  ${rel.padEnd(9)} detected: ${inc.failureClass} (${s.summary.slice(0, 90)})`)
        }
        if (s.kind === 'diagnosed' && !printed.has('diagnosed')) {
          printed.add('diagnosed'); r.diagnosedAtMs = s.atMs
          say(`  ${rel.padEnd(9)} diagnosed: ${s.summary.slice(0, 100)}`)
        }
        if (s.kind === 'acted' && !printed.has('acted:' + s.hlc)) {
          printed.add('acted:' + s.hlc); r.action = typeof s.data?.action === 'string' ? s.data.action : s.summary.split(' ')[0]
          say(`  ${rel.padEnd(9)} action: ${s.summary.slice(0, 100)}`)
        }
        if ((s.kind === 'verified' || s.kind === 'recovered') && !printed.has('verified')) {
          printed.add('verified')
          say(`  ${rel.padEnd(9)} verified: ${s.summary.slice(0, 100)}`)
        }
      }
      if (inc.status === 'recovered') {
        const rec = inc.steps.findLast((s) => s.kind === 'recovered' || s.kind === 'verified')
        r.healedAtMs = rec?.atMs ?? Date.now()
        r.healed = true
        say(`  healed: ${inc.id} MTTR ${ms(r.healedAtMs - r.injectedAtMs)} (detection ${ms((r.detectedAtMs ?? r.healedAtMs) - r.injectedAtMs)})`)
        break
      }
      if (inc.status === 'escalated' || inc.status === 'quarantined') {
        r.note = inc.status
        say(`  ${inc.status}: ${inc.steps[inc.steps.length - 1]?.summary ?? ''}`)
        break
      }
    }
    if (!r.healed && r.note === undefined) { r.note = 'timeout'; say(`  not healed within ${ms(DEMO_DEFAULTS.healTimeoutMs)}`) }
    return r
  }

  /** The shared feature store fails under every edge: one edge restarts it (the fleet's claim), the others stand by. */
  async function sharedFail (r: FaultResult, say: (s: string) => void, nOfTotal: string): Promise<FaultResult> {
    const edges = nodes.filter((x) => x.role === 'edge')
    const before = new Set<string>()
    for (const e of edges) for (const i of (await getJson<{ incidents: Incident[] }>(`${e.api}/api/incidents?node=${e.name}&component=feature-store&limit=100`))?.incidents ?? []) before.add(i.id)
    const restartsBefore = (await getJson<{ restarts: unknown[] }>(storeUrl + '/stats'))?.restarts.length ?? 0
    r.injectedAtMs = Date.now()
    await getJson<unknown>(storeUrl + '/fail', undefined, 'POST')
    say(`fault ${nOfTotal}: failure of the shared feature store (used by ${edges.map((e) => e.name).join(', ')}) — injected`)
    const deadline = r.injectedAtMs + DEMO_DEFAULTS.healTimeoutMs
    const rel = (atMs: number): string => `+${ms(atMs - r.injectedAtMs)}`.padEnd(9)
    const printed = new Set<string>()
    while (Date.now() < deadline && !stopping) {
      await sleep(DEMO_DEFAULTS.pollMs)
      const incs = (await Promise.all(edges.map(async (e) => ((await getJson<{ incidents: Incident[] }>(`${e.api}/api/incidents?node=${e.name}&component=feature-store&limit=20`))?.incidents ?? [])
        .filter((i) => !before.has(i.id)).sort((a, b) => a.openedAtMs - b.openedAtMs)[0]))).flatMap((i) => i === undefined ? [] : [i])
      for (const inc of incs) {
        const detected = inc.steps.find((s) => s.kind === 'detected')
        if (detected !== undefined && !printed.has('detected')) {
          printed.add('detected'); r.detectedAtMs = detected.atMs
          say(`  ${rel(detected.atMs)} detected: ${inc.failureClass} on ${inc.node} (${detected.summary.slice(0, 80)})`)
        }
        const acted = inc.steps.find((s) => s.kind === 'acted')
        if (acted !== undefined && !printed.has('acted')) {
          printed.add('acted'); r.action = typeof acted.data?.action === 'string' ? acted.data.action : 'restart'; r.node = inc.node
          say(`  ${rel(acted.atMs)} action: ${inc.node} won the fleet's claim on shared/feature-store: ${acted.summary.slice(0, 80)}`)
        }
      }
      const seen = new Set(incs.map((i) => i.node))
      if (incs.length === edges.length && incs.every((i) => i.status === 'recovered') && printed.has('acted')) {
        const standby = incs.filter((i) => i.node !== r.node).map((i) => i.node)
        const healedAt = Math.max(...incs.map((i) => i.steps.findLast((s) => s.kind === 'recovered')?.atMs ?? Date.now()))
        const restarts = ((await getJson<{ restarts: unknown[] }>(storeUrl + '/stats'))?.restarts.length ?? 0) - restartsBefore
        say(`  ${rel(healedAt)} verified: every edge sees it healthy; ${standby.join(', ')} stood by (no action of their own); restarts of the store: ${restarts}`)
        r.healedAtMs = healedAt
        r.healed = restarts === 1
        if (!r.healed) r.note = `${restarts} restarts`
        say(r.healed ? `  healed: MTTR ${ms(healedAt - r.injectedAtMs)} (detection ${ms((r.detectedAtMs ?? healedAt) - r.injectedAtMs)})` : `  NOT as it should be: the store was restarted ${restarts} times`)
        return r
      }
      if (incs.some((i) => i.status === 'escalated' || i.status === 'quarantined') && seen.size === edges.length) {
        const bad = incs.find((i) => i.status === 'escalated' || i.status === 'quarantined')!
        r.note = bad.status
        say(`  ${bad.status} on ${bad.node}: ${bad.steps[bad.steps.length - 1]?.summary ?? ''}`)
        return r
      }
    }
    r.note = 'timeout'
    say(`  not healed within ${ms(DEMO_DEFAULTS.healTimeoutMs)}`)
    return r
  }

  async function agentKill (r: FaultResult, node: Node, cloud: Node, say: (s: string) => void, nOfTotal: string): Promise<FaultResult> {
    const s = await getJson<{ components: Array<{ name: string, state: string, pid?: number }> }>(node.api + '/api/status')
    const childPids = (s?.components ?? []).flatMap((c) => c.pid === undefined ? [] : [c.pid])
    // Did it run the fleet's scheduler? Then a survivor must take it over (and the restarted agent must not start a second copy).
    let relocating = (s?.components ?? []).some((c) => c.name === 'scheduler' && c.state === 'running')
    r.injectedAtMs = Date.now()
    r.external = true
    node.proc?.kill('SIGKILL')
    say(`fault ${nOfTotal}: SIGKILL of the whole agent on ${node.name} — injected (repaired by this harness, as systemd would: external)`)
    const deadline = r.injectedAtMs + DEMO_DEFAULTS.healTimeoutMs
    // Detected: the cloud peer's mesh declares it not alive.
    while (Date.now() < deadline && !stopping) {
      const peers = (await getJson<{ peers: PeerView[] }>(cloud.api + '/api/peers'))?.peers ?? []
      const p = peers.find((x) => x.name === node.name)
      if (p === undefined || p.state !== 'alive') { r.detectedAtMs = Date.now(); break }
      await sleep(50)
    }
    if (r.detectedAtMs === undefined) { r.note = 'not detected'; return r }
    say(`  +${ms(r.detectedAtMs - r.injectedAtMs).padEnd(8)} detected: cloud's mesh sees ${node.name} gone`)
    r.diagnosedAtMs = Date.now()
    say(`  +${ms(r.diagnosedAtMs - r.injectedAtMs).padEnd(8)} (harness) the agent process died (SIGKILL); its workloads are orphaned`)
    // systemd's KillMode=control-group: the unit's leftover processes go before the restart.
    for (const pid of childPids) { try { process.kill(-pid, 'SIGKILL') } catch { try { process.kill(pid, 'SIGKILL') } catch {} } }
    for (let i = 0; i < 100 && childPids.some((pid) => { try { process.kill(pid, 0); return true } catch { return false } }); i++) await sleep(20)
    r.action = 'restart-agent'
    startNode(node)
    say(`  +${ms(Date.now() - r.injectedAtMs).padEnd(8)} (harness) restart the agent, as systemd Restart=on-failure would`)
    // Verified: the agent is ready, its workloads healthy, and the cloud sees it alive again.
    while (Date.now() < deadline && !stopping) {
      const st = await getJson<{ components: Array<{ health: string }> }>(node.api + '/api/status')
      const peers = (await getJson<{ peers: PeerView[] }>(cloud.api + '/api/peers'))?.peers ?? []
      const seen = peers.some((p) => p.name === node.name && p.state === 'alive')
      if (relocating) {
        const now = await schedulerHost(nodes.filter((x) => x.role === 'edge' && x !== node))
        if (now !== undefined) {
          relocating = false
          say(`  +${ms(Date.now() - r.injectedAtMs).padEnd(8)} relocated: the scheduler (relocatable) now runs on ${now}`)
        }
      }
      if (st !== undefined && st.components.length === EDGE_COMPONENTS && st.components.every((c) => c.health === 'ok') && seen && !relocating) {
        r.healedAtMs = Date.now()
        r.healed = true
        say(`  +${ms(r.healedAtMs - r.injectedAtMs).padEnd(8)} verified: ${node.name} back in the mesh with healthy workloads`)
        say(`  healed: MTTR ${ms(r.healedAtMs - r.injectedAtMs)} (detection ${ms(r.detectedAtMs - r.injectedAtMs)})`)
        return r
      }
      await sleep(DEMO_DEFAULTS.pollMs)
    }
    r.note = 'timeout'
    say(`  not healed within ${ms(DEMO_DEFAULTS.healTimeoutMs)}`)
    return r
  }
}

/** Components of an edge in the demo: inference, batch, the relocatable scheduler (running or on standby) and the shared feature store. */
const EDGE_COMPONENTS = 4

/** The edge whose agent runs the relocatable scheduler now, if one does. */
async function schedulerHost (edges: Node[]): Promise<string | undefined> {
  for (const e of edges) {
    const s = await getJson<{ components: Array<{ name: string, state: string }> }>(e.api + '/api/components')
    if (s?.components.some((c) => c.name === 'scheduler' && c.state === 'running') === true) return e.name
  }
  return undefined
}

function tailOf (file: string): string {
  try { return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') } catch { return '' }
}
