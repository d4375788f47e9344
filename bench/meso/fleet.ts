// A fleet of coordination agents as real processes (bench/meso/agent.mjs),
// on loopback or, as root with iproute2, each in its own network namespace
// joined by a bridge so that a partition is a real network cut (bridge ports
// moved to a second bridge) rather than a flag inside the agents.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

export interface FleetOptions {
  n: number
  swarmKey: string
  /** Agents started at once after the first (default START_BATCH). */
  startBatch?: number
  /** Run the agents from TypeScript sources (tests) instead of dist (benchmark). */
  sources?: boolean
  /** One network namespace per agent (needs root and iproute2). */
  netns?: boolean
  registry?: Record<string, number>
  liveness?: Record<string, number>
  /** Agents report every liveness change, connection, catch-up exchange and digest change (see heal-trace.ts). */
  trace?: boolean
  /** Agents report their digest and state vector on every change (convergence timing without polling). */
  digestEvents?: boolean
  /** Extra Node flags for the agent processes (e.g. --cpu-prof for a diagnosis). */
  nodeArgs?: string[]
}

export interface AgentEvent { ev: string, [k: string]: unknown }

export interface AgentProc {
  i: number
  peerId: string
  proc: ChildProcess
  alive: boolean
  events: AgentEvent[]
  send: (cmd: Record<string, unknown>) => void
  request: (cmd: Record<string, unknown>, timeoutMs?: number) => Promise<AgentEvent>
  on: (fn: (e: AgentEvent) => void) => () => void
}

export interface Fleet {
  agents: AgentProc[]
  /** workload → agent indices running it now. */
  running: Map<string, Set<number>>
  maxCopies: Map<string, number>
  netns: boolean
  kill: (i: number, signal?: NodeJS.Signals) => void
  /** The network namespace of agent i (when netns). */
  nsOf: (i: number) => string
  /** Cuts the groups apart: a network cut with namespaces, else the agents' transport-level gate. */
  partition: (groups: number[][]) => void
  heal: () => void
  states: () => Promise<AgentEvent[]>
  waitFor: (pred: () => boolean | Promise<boolean>, timeoutMs: number, stepMs?: number) => Promise<boolean>
  stop: () => Promise<void>
}

export function canUseNetns (): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    const probe = `hsprobe${process.pid % 100000}`
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
    return true
  } catch { return false }
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'ignore' }) }
/** Several `ip` commands in one process (`ip -batch`), so a partition or heal moves every port at once. */
const ipBatch = (ns: string, lines: string[]): void => { execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] }) }
/** Agents started at once. */
const START_BATCH = 4
/** A Node process on a loaded 2-core machine can take tens of seconds to come up. */
const READY_TIMEOUT_MS = 120_000

export async function startFleet (opts: FleetOptions): Promise<Fleet> {
  const tag = `hs${process.pid % 100000}`
  const hub = `${tag}h`
  const nsOf = (i: number): string => `${tag}a${i}`
  const addrOf = (i: number): string => `10.213.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`
  const netns = opts.netns === true
  const agents: AgentProc[] = []
  let cleaned = false
  /** Synchronous so it can also run from a process 'exit' handler. */
  const cleanupSync = (): void => {
    if (cleaned) return
    cleaned = true
    for (const a of agents) { try { a.proc.kill('SIGKILL') } catch {} }
    if (netns) {
      for (let i = 0; i < opts.n; i++) { try { ip('netns', 'del', nsOf(i)) } catch {} }
      try { ip('netns', 'del', hub) } catch {}
    }
  }
  process.once('exit', cleanupSync)
  if (netns) {
    ip('netns', 'add', hub)
    for (const br of ['br0', 'br1']) { ip('-n', hub, 'link', 'add', br, 'type', 'bridge'); ip('-n', hub, 'link', 'set', br, 'up') }
    for (let i = 0; i < opts.n; i++) {
      ip('netns', 'add', nsOf(i))
      ip('link', 'add', `${tag}v${i}`, 'netns', nsOf(i), 'type', 'veth', 'peer', 'name', `vh${i}`, 'netns', hub)
      ip('-n', nsOf(i), 'link', 'set', 'lo', 'up')
      ip('-n', nsOf(i), 'addr', 'add', `${addrOf(i)}/16`, 'dev', `${tag}v${i}`)
      ip('-n', nsOf(i), 'link', 'set', `${tag}v${i}`, 'up')
      ip('-n', hub, 'link', 'set', `vh${i}`, 'master', 'br0')
      ip('-n', hub, 'link', 'set', `vh${i}`, 'up')
    }
  }
  const running = new Map<string, Set<number>>()
  const maxCopies = new Map<string, number>()
  let seq = 0

  const spawnAgent = async (i: number, bootstrap: string[]): Promise<AgentProc> => {
    const entry = opts.sources === true ? join(root, 'test', 'fixtures', 'coord-agent.mjs') : join(here, 'agent.mjs')
    const nodeArgs = [...(opts.nodeArgs ?? []), ...(opts.sources === true ? ['--conditions=homeostat-src', '--import', 'tsx/esm', entry] : [entry])]
    const env = {
      ...process.env,
      COORD_AGENT: JSON.stringify({
        swarmKey: opts.swarmKey,
        listen: [`/ip4/${netns ? addrOf(i) : '127.0.0.1'}/tcp/0`],
        bootstrap,
        registry: opts.registry,
        liveness: opts.liveness,
        trace: opts.trace === true,
        digestEvents: opts.digestEvents === true
      })
    }
    const proc = netns
      ? spawn('ip', ['netns', 'exec', nsOf(i), process.execPath, ...nodeArgs], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] })
    const handlers = new Set<(e: AgentEvent) => void>()
    const a: AgentProc = {
      i,
      peerId: '',
      proc,
      alive: true,
      events: [],
      send: (cmd) => { if (a.alive) proc.stdin!.write(JSON.stringify(cmd) + '\n') },
      async request (cmd, timeoutMs = 10_000) {
        const id = ++seq
        return await new Promise<AgentEvent>((resolve, reject) => {
          const t = setTimeout(() => { off(); reject(new Error(`agent ${i} did not answer ${String(cmd.cmd)}`)) }, timeoutMs)
          const off = a.on((e) => { if (e.id === id) { clearTimeout(t); off(); resolve(e) } })
          a.send({ ...cmd, id })
        })
      },
      on: (fn) => { handlers.add(fn); return () => { handlers.delete(fn) } }
    }
    let stderr = ''
    proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let e: AgentEvent
      try { e = JSON.parse(line) as AgentEvent } catch { return }
      if (e.ev === 'start') {
        const s = running.get(e.name as string) ?? new Set()
        s.add(i); running.set(e.name as string, s)
        maxCopies.set(e.name as string, Math.max(maxCopies.get(e.name as string) ?? 0, s.size))
      } else if (e.ev === 'stop') running.get(e.name as string)?.delete(i)
      if (e.ev !== 'state' && e.ev !== 'refused') a.events.push(e)
      for (const h of [...handlers]) h(e)
    })
    proc.on('exit', () => {
      a.alive = false
      for (const s of running.values()) s.delete(i)
    })
    agents.push(a)
    const ready = await new Promise<AgentEvent>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`agent ${i} not ready in ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS)
      a.on((e) => { if (e.ev === 'ready') { clearTimeout(t); resolve(e) } })
      proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`agent ${i} exited ${String(code)}: ${stderr}`)) })
    })
    a.peerId = ready.peerId as string
    return a
  }

  try {
    const first = await spawnAgent(0, [])
    const firstAddrs = (first.events.find((e) => e.ev === 'ready')!.addrs as string[])
    // Start in small batches: a burst of 20 Node processes on 2 cores starves them all.
    const batch = Math.max(1, opts.startBatch ?? START_BATCH)
    for (let k = 1; k < opts.n; k += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, opts.n - k) }, async (_, j) => await spawnAgent(k + j, firstAddrs)))
    }
  } catch (err) {
    cleanupSync()
    throw err
  }
  agents.sort((x, y) => x.i - y.i)

  const fleet: Fleet = {
    agents,
    running,
    maxCopies,
    netns,
    kill (i, signal = 'SIGKILL') { agents[i]!.proc.kill(signal) },
    nsOf,
    partition (groups) {
      if (netns) { ipBatch(hub, groups.flatMap((g, k) => g.map((i) => `link set vh${i} master ${k === 0 ? 'br0' : 'br1'}`))); return }
      // No namespaces (not root, or no iproute2): the transport-level gate. Each agent's libp2p refuses
      // the other side's peers and cuts its connections to them.
      for (const g of groups) {
        const mine = new Set(g)
        const others = agents.filter((a) => !mine.has(a.i)).map((a) => a.peerId)
        for (const i of g) agents[i]!.send({ cmd: 'gate', peers: others })
      }
    },
    heal () {
      if (netns) { ipBatch(hub, Array.from({ length: opts.n }, (_, i) => `link set vh${i} master br0`)); return }
      for (const a of agents) a.send({ cmd: 'gate', peers: [] })
    },
    async states () {
      return await Promise.all(agents.filter((a) => a.alive).map(async (a) => await a.request({ cmd: 'state' })))
    },
    async waitFor (pred, timeoutMs, stepMs = 50) {
      const end = Date.now() + timeoutMs
      for (;;) {
        if (await pred()) return true
        if (Date.now() >= end) return false
        await new Promise((resolve) => setTimeout(resolve, stepMs))
      }
    },
    async stop () {
      await Promise.all(agents.map(async (a) => {
        if (!a.alive) return
        const exited = new Promise((resolve) => { a.proc.once('exit', resolve); setTimeout(resolve, 3000) })
        a.proc.kill('SIGKILL')
        await exited
      }))
      cleanupSync()
      process.removeListener('exit', cleanupSync)
    }
  }
  return fleet
}

/** Every live agent sees every other live agent alive. */
export async function fullyConnected (fleet: Fleet): Promise<boolean> {
  const states = await fleet.states()
  const live = new Set(fleet.agents.filter((a) => a.alive).map((a) => a.peerId))
  return states.every((s) => [...live].every((p) => p === s.peerId || (s.alive as string[]).includes(p)))
}

/** Every live agent holds the same replicated state. */
export async function registriesConverged (fleet: Fleet): Promise<boolean> {
  const states = await fleet.states()
  return states.length > 0 && states.every((s) => s.digest === states[0]!.digest)
}

let clockTicksPerSec: number | undefined
/**
 * CPU time (ms) used so far by every live agent process, from /proc (Linux; undefined elsewhere).
 * `ip netns exec` execs node in place, so the child's pid is the agent's.
 */
export function fleetCpuMs (fleet: Fleet): number | undefined {
  if (clockTicksPerSec == null) {
    try { clockTicksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { clockTicksPerSec = 100 }
  }
  let ticks = 0
  for (const a of fleet.agents) {
    if (!a.alive || a.proc.pid == null) continue
    try {
      const stat = readFileSync(`/proc/${a.proc.pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from 3 (state) on
      ticks += Number(f[11]) + Number(f[12]) // utime, stime (fields 14, 15)
    } catch { return undefined }
  }
  return ticks * 1000 / clockTicksPerSec
}

/** Fleet CPU in cores between two fleetCpuMs readings `ms` apart. */
export const coresBetween = (a: number | undefined, b: number | undefined, ms: number): number | undefined =>
  a == null || b == null || ms <= 0 ? undefined : Math.round((b - a) / ms * 100) / 100

export interface ReplicaSnapshot { sv: Record<string, number>, digest: string }

/** Each live agent's state vector and digest now (a baseline for convergenceAfter). */
export async function snapshotReplicas (fleet: Fleet): Promise<Map<number, ReplicaSnapshot>> {
  const out = new Map<number, ReplicaSnapshot>()
  const live = fleet.agents.filter((a) => a.alive)
  const states = await fleet.states()
  live.forEach((a, k) => { const s = states[k]!; out.set(a.i, { sv: s.sv as Record<string, number>, digest: s.digest as string }) })
  return out
}

export interface ReplicaChange { t: number, sv: Record<string, number>, reportedT: number }

/** An agent's replica changes (FleetOptions.digestEvents or trace), in order: when it applied each, its state vector then, and when it reported it. */
export function replicaChanges (a: AgentProc): ReplicaChange[] {
  return a.events.filter((e) => e.ev === 'digest').flatMap((e) => (e.changes as Array<[number, Record<string, number>]>).map(([t, sv]) => ({ t, sv, reportedT: e.reportedT as number })))
}

/** The state vector of replica `changes` at time `t` (`before` if it had not changed since the events began). */
export function svAt (changes: readonly ReplicaChange[], t: number, before: Record<string, number> = {}): Record<string, number> {
  let cur = before
  for (const c of changes) if (c.t <= t) cur = c.sv
  return cur
}

export interface Convergence {
  /** ms after `atMs` until every live replica held every update any replica held at `atMs` (the merge), from each change's own time stamp. */
  mergedMs?: number
  /** The same, timed when each agent reported the change (at the end of its event-loop turn, which a saturated agent reaches late): the figure this bench printed before per-change stamps. */
  mergedReportedMs?: number
  /** ms after `atMs` until every live replica had the same digest (agreement, including writes made after `atMs`). */
  agreedMs?: number
  /** Per agent: ms until it held the merge. */
  perAgentMergedMs: Map<number, number | undefined>
}

/**
 * Convergence after `atMs` from the agents' own digest events (FleetOptions.digestEvents),
 * stamped by each agent with the host clock: no polling delay. `baseline` covers agents
 * whose state did not change between the snapshot and `atMs`.
 */
export function convergenceAfter (fleet: Fleet, atMs: number, baseline: Map<number, ReplicaSnapshot>): Convergence {
  const live = fleet.agents.filter((a) => a.alive && baseline.has(a.i))
  // Per agent: every change as (time, state vector), and the digest as of each event.
  const changes = new Map(live.map((a) => [a.i, replicaChanges(a)]))
  const evs = new Map(live.map((a) => [a.i, a.events.filter((e) => e.ev === 'digest').map((e) => ({ t: e.t as number, d: e.d as string }))]))
  const svOf = (i: number, t: number): Record<string, number> => svAt(changes.get(i)!, t, baseline.get(i)!.sv)
  const digestAt = (i: number, t: number): string => {
    let cur = baseline.get(i)!.digest
    for (const e of evs.get(i)!) if (e.t <= t) cur = e.d
    return cur
  }
  const union: Record<string, number> = {}
  for (const a of live) for (const [c, k] of Object.entries(svOf(a.i, atMs))) union[c] = Math.max(union[c] ?? 0, k)
  const dominates = (sv: Record<string, number>): boolean => Object.entries(union).every(([c, k]) => (sv[c] ?? 0) >= k)
  const perAgentMergedMs = new Map<number, number | undefined>()
  const perAgentReportedMs = new Map<number, number | undefined>()
  for (const a of live) {
    if (dominates(svOf(a.i, atMs))) { perAgentMergedMs.set(a.i, 0); perAgentReportedMs.set(a.i, 0); continue }
    const c = changes.get(a.i)!.find((x) => x.t > atMs && dominates(x.sv))
    perAgentMergedMs.set(a.i, c != null ? c.t - atMs : undefined)
    perAgentReportedMs.set(a.i, c != null ? c.reportedT - atMs : undefined)
  }
  const worst = (m: Map<number, number | undefined>): number | undefined => { const xs = [...m.values()]; return xs.every((x) => x != null) ? Math.max(0, ...(xs as number[])) : undefined }
  const mergedMs = worst(perAgentMergedMs)
  const mergedReportedMs = worst(perAgentReportedMs)
  let agreedMs: number | undefined
  const times = [...new Set(live.flatMap((a) => evs.get(a.i)!.map((e) => e.t)).filter((t) => t > atMs))].sort((x, y) => x - y)
  for (const t of [atMs, ...times]) {
    const ds = live.map((a) => digestAt(a.i, t))
    if (ds.every((d) => d === ds[0])) { agreedMs = t - atMs; break }
  }
  return { ...(mergedMs != null ? { mergedMs } : {}), ...(mergedReportedMs != null ? { mergedReportedMs } : {}), ...(agreedMs != null ? { agreedMs } : {}), perAgentMergedMs }
}

export interface HealRound {
  sides: [number[], number[]]
  /** How long the cut lasted, ms. */
  partitionMs: number
  /** Every agent saw every agent of the other side as not alive before the heal. */
  bothSidesSawDeath: boolean
  copiesAtHeal: number
  healAt: number
  conv: Convergence
  /** ms after the heal until at most one copy of the workload ran. */
  singleCopyMs?: number
  copiesAfter: number
  /** Polled check (states()) that every replica ended with the same digest. */
  convergedPolled: boolean
  /** CPU of all agents (cores) while cut, and over the first 3 s after the heal (Linux only). */
  cpuCoresCut?: number
  cpuCoresAfterHeal?: number
}

/**
 * One partition/heal round over network namespaces: split the live agents at
 * random into two sides, let every agent write to its replica while cut off
 * (so both sides diverge), keep the cut until each side sees the other as not
 * alive and the workload runs on both sides (or `maxPartitionMs`), heal, and
 * time the convergence from the agents' digest events.
 */
export async function partitionAndHeal (fleet: Fleet, o: { workload: string, round: number, maxPartitionMs?: number, random?: () => number }): Promise<HealRound> {
  const random = o.random ?? Math.random
  const live = fleet.agents.filter((a) => a.alive).map((a) => a.i)
  let sideB = live.filter(() => random() < 0.5)
  if (sideB.length === 0 || sideB.length === live.length) sideB = live.slice(0, Math.max(1, Math.floor(live.length / 2)))
  const sideA = live.filter((i) => !sideB.includes(i))
  const baseline = await snapshotReplicas(fleet)
  const cutAt = Date.now()
  const cpuAtCut = fleetCpuMs(fleet)
  fleet.partition([sideA, sideB])
  // Both sides write while cut off: every replica must later receive every other's write.
  await Promise.all(fleet.agents.filter((a) => a.alive).map(async (a) => await a.request({ cmd: 'capacity', cpuMillis: 2000 - 1 - (o.round % 100), memoryMb: 4096 })))
  const peerOf = new Map(fleet.agents.map((a) => [a.i, a.peerId]))
  const sideOf = (i: number): number[] => sideA.includes(i) ? sideB : sideA
  const sawDeath = async (): Promise<boolean> => {
    const states = await fleet.states()
    const liveAgents = fleet.agents.filter((a) => a.alive)
    return liveAgents.every((a, k) => sideOf(a.i).every((j) => !(states[k]!.alive as string[]).includes(peerOf.get(j)!)))
  }
  const bothSidesSawDeath = await fleet.waitFor(async () => (await sawDeath()) && (fleet.running.get(o.workload)?.size ?? 0) >= 2, o.maxPartitionMs ?? 10_000, 100)
  await sleep(300)
  const copiesAtHeal = fleet.running.get(o.workload)?.size ?? 0
  const healAt = Date.now()
  const cpuAtHeal = fleetCpuMs(fleet)
  fleet.heal()
  let cpuAfterHeal: number | undefined
  const cpuTimer = setTimeout(() => { cpuAfterHeal = fleetCpuMs(fleet) }, 3000)
  let singleCopyMs: number | undefined
  const one = await fleet.waitFor(() => (fleet.running.get(o.workload)?.size ?? 0) <= 1, 20_000, 5)
  if (one) singleCopyMs = Date.now() - healAt
  const convergedPolled = await fleet.waitFor(async () => await registriesConverged(fleet), 30_000, 100)
  await sleep(Math.max(1500, healAt + 3100 - Date.now()))
  clearTimeout(cpuTimer)
  const copiesAfter = fleet.running.get(o.workload)?.size ?? 0
  const cpuCoresCut = coresBetween(cpuAtCut, cpuAtHeal, healAt - cutAt)
  const cpuCoresAfterHeal = coresBetween(cpuAtHeal, cpuAfterHeal, 3000)
  return { sides: [sideA, sideB], partitionMs: healAt - cutAt, bothSidesSawDeath, copiesAtHeal, healAt, conv: convergenceAfter(fleet, healAt, baseline), ...(singleCopyMs != null ? { singleCopyMs } : {}), copiesAfter, convergedPolled, ...(cpuCoresCut != null ? { cpuCoresCut } : {}), ...(cpuCoresAfterHeal != null ? { cpuCoresAfterHeal } : {}) }
}
