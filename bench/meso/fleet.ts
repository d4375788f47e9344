// A fleet of coordination agents as real processes (bench/meso/agent.mjs),
// on loopback or, as root with iproute2, each in its own network namespace
// joined by a bridge so that a partition is a real network cut (bridge ports
// moved to a second bridge) rather than a flag inside the agents.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

export interface FleetOptions {
  n: number
  swarmKey: string
  /** Run the agents from TypeScript sources (tests) instead of dist (benchmark). */
  sources?: boolean
  /** One network namespace per agent (needs root and iproute2). */
  netns?: boolean
  registry?: Record<string, number>
  liveness?: Record<string, number>
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
    const nodeArgs = opts.sources === true ? ['--conditions=homeostat-src', '--import', 'tsx/esm', entry] : [entry]
    const env = {
      ...process.env,
      COORD_AGENT: JSON.stringify({
        swarmKey: opts.swarmKey,
        listen: [`/ip4/${netns ? addrOf(i) : '127.0.0.1'}/tcp/0`],
        bootstrap,
        registry: opts.registry,
        liveness: opts.liveness
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
    for (let k = 1; k < opts.n; k += START_BATCH) {
      await Promise.all(Array.from({ length: Math.min(START_BATCH, opts.n - k) }, async (_, j) => await spawnAgent(k + j, firstAddrs)))
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
    partition (groups) {
      if (!netns) throw new Error('partition needs network namespaces (root + iproute2)')
      groups.forEach((g, k) => { for (const i of g) ip('-n', hub, 'link', 'set', `vh${i}`, 'master', k === 0 ? 'br0' : 'br1') })
    },
    heal () {
      if (!netns) return
      for (let i = 0; i < opts.n; i++) ip('-n', hub, 'link', 'set', `vh${i}`, 'master', 'br0')
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
