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
import { seededRandom, shuffle } from '@homeostat/interface'

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
  /** Agents report their replica changes (FleetOptions.digestEvents or trace): convergence can be timed. */
  replicaEvents: boolean
  kill: (i: number, signal?: NodeJS.Signals) => void
  /** The network namespace of agent i (when netns). */
  nsOf: (i: number) => string
  /** Cuts the groups apart (at most MAX_GROUPS): a network cut with namespaces, else the agents' transport-level gate. */
  partition: (groups: number[][]) => void
  /** Bytes agent i's network interface has sent and received (every frame on the wire: pings, gossipsub control,
   * TCP/IP headers); only with namespaces, where each agent has its own interface. */
  wireBytes: (i: number) => number | undefined
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
/** Groups a partition may split the fleet into (one bridge each in the hub namespace). */
export const MAX_GROUPS = 4
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
    for (let k = 0; k < MAX_GROUPS; k++) { ip('-n', hub, 'link', 'add', `br${k}`, 'type', 'bridge'); ip('-n', hub, 'link', 'set', `br${k}`, 'up') }
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
    let stderr = ''
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
          const t = setTimeout(() => { off(); reject(new Error(`agent ${i} did not answer ${String(cmd.cmd)} in ${timeoutMs} ms (${a.alive ? 'still running' : `exited ${String(proc.exitCode ?? proc.signalCode)}`}); its stderr ends: ${stderr.slice(-1500) || '(nothing)'}`)) }, timeoutMs)
          const off = a.on((e) => { if (e.id === id) { clearTimeout(t); off(); resolve(e) } })
          a.send({ ...cmd, id })
        })
      },
      on: (fn) => { handlers.add(fn); return () => { handlers.delete(fn) } }
    }
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
    replicaEvents: opts.digestEvents === true || opts.trace === true,
    kill (i, signal = 'SIGKILL') { agents[i]!.proc.kill(signal) },
    nsOf,
    partition (groups) {
      if (groups.length > MAX_GROUPS) throw new Error(`a partition into ${groups.length} groups (at most ${MAX_GROUPS})`)
      if (netns) { ipBatch(hub, groups.flatMap((g, k) => g.map((i) => `link set vh${i} master br${k}`))); return }
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
    wireBytes (i) {
      const pid = agents[i]?.proc.pid
      if (!netns || pid == null || agents[i]?.alive !== true) return undefined
      try {
        // /proc/PID/net/dev lists the interfaces of PID's namespace: `name: rxBytes ... (8 fields) txBytes ...`.
        const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').find((l) => l.trim().startsWith(`${tag}v${i}:`))
        if (line == null) return undefined
        const f = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number)
        return (f[0] ?? 0) + (f[8] ?? 0)
      } catch { return undefined }
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

/** The project's seeded generator (mulberry32): a schedule printed with its seed can be run again. */
export { seededRandom }

export interface ScheduleStep {
  /** The live agents split into groups that cannot reach each other. */
  groups: number[][]
  /** How long this cut lasts, ms. */
  cutMs: number
  /** Then healed for this long before the next step (0: the next cut replaces this one at once). */
  gapMs: number
}

/** The shape of real partition schedules: 1–2 steps; 2 groups (3 in a quarter of steps); cuts log-uniform in [minCutMs, maxCutMs]. */
export const SCHEDULE_DEFAULTS = {
  /** Steps per schedule at most: a second step re-cuts before (or just after) the first has healed. */
  maxSteps: 2,
  /** Shorter than the mesh's suspicion: nobody is declared dead, the cut only delays gossip. */
  minCutMs: 300,
  /** Longer than death detection (~1.3 s) plus takeover (~0.7 s): both sides run orphaned workloads. */
  maxCutMs: 4000,
  /** A healed gap between two cuts lasts at most this long (half the steps switch without a gap). */
  maxGapMs: 1500
} as const

export type ScheduleShape = { [K in keyof typeof SCHEDULE_DEFAULTS]: number }

/** Pure: a random partition schedule over `live` agents. */
export function randomSchedule (live: readonly number[], random: () => number, o: Partial<ScheduleShape> = {}): ScheduleStep[] {
  const t = { ...SCHEDULE_DEFAULTS, ...o }
  const steps: ScheduleStep[] = []
  const nSteps = 1 + Math.floor(random() * t.maxSteps)
  for (let s = 0; s < nSteps; s++) {
    const k = Math.min(live.length, random() < 0.25 ? 3 : 2)
    // Shuffle, then cut at k - 1 distinct points: every group non-empty, minorities of one included.
    const order = shuffle([...live], random)
    const cuts = new Set<number>()
    while (cuts.size < k - 1) cuts.add(1 + Math.floor(random() * (order.length - 1)))
    const at = [0, ...[...cuts].sort((x, y) => x - y), order.length]
    const groups = at.slice(1).map((end, g) => order.slice(at[g], end).sort((x, y) => x - y))
    const cutMs = Math.round(t.minCutMs * (t.maxCutMs / t.minCutMs) ** random())
    const gapMs = s === nSteps - 1 || random() < 0.5 ? 0 : Math.round(100 + random() * (t.maxGapMs - 100))
    steps.push({ groups, cutMs, gapMs })
  }
  return steps
}

export interface ScheduleRun {
  seed: number
  steps: ScheduleStep[]
  /** When the last cut healed (host clock). */
  healAt: number
  /** Undefined when the fleet does not report replica changes (Fleet.replicaEvents). */
  conv?: Convergence
  /** ms after the final heal until every workload ran exactly once (undefined: not within the wait). */
  oneCopyEachMs?: number
  /** Copies beyond one per workload once settled (duplicate executions). */
  duplicates: number
  /** Workloads with no copy once settled. */
  missing: number
  /** Every replica ended with the same digest (polled). */
  convergedPolled: boolean
  /** When a workload ran twice or not at all once settled: its start/stop/takeover events and the deaths
   * the agents declared, ms relative to the final heal, with each agent's group per step. */
  explain?: string
}

/**
 * One randomised partition schedule on the real fleet: cut and re-cut the
 * live agents as `randomSchedule` says (some agents on each side write while
 * cut off, so replicas diverge), heal, wait until every workload runs exactly
 * once and every replica agrees (at most `settleTimeoutMs`), let it settle,
 * and count what still runs twice or not at all.
 */
export async function runRealSchedule (fleet: Fleet, o: { seed: number, workloads: readonly string[], settleMs?: number, settleTimeoutMs?: number, schedule?: Partial<ScheduleShape> }): Promise<ScheduleRun> {
  const random = seededRandom(o.seed)
  const live = fleet.agents.filter((a) => a.alive).map((a) => a.i)
  const steps = randomSchedule(live, random, o.schedule)
  const baseline = await snapshotReplicas(fleet)
  const startAt = Date.now()
  for (const [s, step] of steps.entries()) {
    fleet.partition(step.groups)
    // Some agents of every group write while cut off (distinct values, so every write is a change).
    await Promise.all(step.groups.flatMap((g) => g.filter((_, j) => j === 0 || random() < 0.3)).map(async (i) =>
      await fleet.agents[i]!.request({ cmd: 'capacity', cpuMillis: 1000 + ((o.seed * 7 + s * 131 + i) % 997), memoryMb: 4096 })))
    await sleep(step.cutMs)
    if (step.gapMs > 0) { fleet.heal(); await sleep(step.gapMs) }
  }
  const healAt = Date.now()
  fleet.heal()
  const oneEach = (): boolean => o.workloads.every((w) => (fleet.running.get(w)?.size ?? 0) === 1)
  const timeoutMs = o.settleTimeoutMs ?? 30_000
  let oneCopyEachMs: number | undefined
  if (await fleet.waitFor(oneEach, timeoutMs, 5)) oneCopyEachMs = Date.now() - healAt
  const convergedPolled = await fleet.waitFor(async () => await registriesConverged(fleet), Math.max(1000, healAt + timeoutMs - Date.now()), 100)
  await sleep(o.settleMs ?? 1500)
  let duplicates = 0; let missing = 0
  const wrong: string[] = []
  for (const w of o.workloads) {
    const n = fleet.running.get(w)?.size ?? 0
    duplicates += Math.max(0, n - 1)
    if (n === 0) missing++
    if (n !== 1) wrong.push(w)
  }
  const explain = wrong.length > 0 ? explainSchedule(fleet, steps, wrong, startAt, healAt) : undefined
  return { seed: o.seed, steps, healAt, ...(explain != null ? { explain } : {}), ...(fleet.replicaEvents ? { conv: convergenceAfter(fleet, healAt, baseline) } : {}), ...(oneCopyEachMs != null ? { oneCopyEachMs } : {}), duplicates, missing, convergedPolled }
}

/** What happened to `workloads` during a schedule (see ScheduleRun.explain). */
function explainSchedule (fleet: Fleet, steps: readonly ScheduleStep[], workloads: readonly string[], startAt: number, healAt: number): string {
  const nameOf = new Map(fleet.agents.map((a) => [a.peerId, a.i]))
  const groupsOf = (i: number): string => steps.map((s) => String(s.groups.findIndex((g) => g.includes(i)))).join('/')
  const lines: Array<[number, string]> = []
  for (const a of fleet.agents) {
    for (const e of a.events) {
      const t = e.t as number | undefined
      if (t == null || t < startAt) continue
      const peer = nameOf.get(e.peer as string)
      if ((e.ev === 'start' || e.ev === 'stop' || e.ev === 'takeover') && workloads.includes(e.name as string)) {
        lines.push([t, `agent ${a.i} (groups ${groupsOf(a.i)}) ${e.ev} ${String(e.name)}${e.reason != null ? ` (${String(e.reason)})` : ''}${e.from != null ? ` from agent ${String(nameOf.get(e.from as string) ?? e.from)}` : ''}`])
      } else if (e.ev === 'liveness' && e.state === 'dead') {
        lines.push([t, `agent ${a.i} (groups ${groupsOf(a.i)}) declared agent ${String(peer)} (groups ${peer != null ? groupsOf(peer) : '?'}) dead (${String(e.reason)})`])
      }
    }
  }
  return lines.sort((x, y) => x[0] - y[0]).map(([t, l]) => `  ${String(t - healAt).padStart(7)} ms  ${l}`).join('\n')
}

/** One line describing a schedule, e.g. `[3,7|0,1,2…] 1200 ms, gap 400 ms; [..|..|..] 350 ms`. */
export function describeSchedule (steps: readonly ScheduleStep[]): string {
  return steps.map((s) => `${s.groups.map((g) => g.length).join('|')} agents ${s.cutMs} ms${s.gapMs > 0 ? `, healed ${s.gapMs} ms` : ''}`).join('; then ')
}
