// Test harness: N agents on the simulated mesh, each with a coordinator and an
// in-memory persistence that survives crashes. Workload "processes" are
// entries in `running` (a crash kills them, like a real process group).
import { createSimulatedNetwork, type SimNetworkOptions, type SimNode, type SimulatedNetwork } from '@homeostat/mesh'
import * as Y from 'yjs'
import { createCoordinator, createMemoryPersistence, MESO_ROOTS, type Coordinator, type CoordinatorOptions, type MemoryPersistence, type WorkloadSpec } from '../src/index.ts'

export interface Agent { id: string, node: SimNode, coord: Coordinator, persistence: MemoryPersistence }

export interface Cluster {
  sim: SimulatedNetwork
  agents: Map<string, Agent>
  /** workload → nodes running a copy now */
  running: Map<string, Set<string>>
  /** Largest number of simultaneous copies seen per workload. */
  maxCopies: Map<string, number>
  up: () => Agent[]
  crash: (id: string) => void
  restart: (id: string) => Promise<Agent>
  copies: (name: string) => number
  converged: () => boolean
  snapshot: (a: Agent) => string
}

export async function createCluster (n: number, simOptions: SimNetworkOptions, coordOptions: Partial<CoordinatorOptions> = {}, nodeOpts: (i: number, sim: SimulatedNetwork) => { skewMs?: number, driftPpm?: number } = () => ({})): Promise<Cluster> {
  const sim = createSimulatedNetwork(simOptions)
  const agents = new Map<string, Agent>()
  const running = new Map<string, Set<string>>()
  const maxCopies = new Map<string, number>()
  const persistences = new Map<string, MemoryPersistence>()
  const make = (node: SimNode): Agent => {
    const persistence = persistences.get(node.id) ?? createMemoryPersistence()
    persistences.set(node.id, persistence)
    const coord = createCoordinator({
      ...coordOptions,
      mesh: node.mesh,
      hlc: node.hlc,
      now: node.now,
      timers: node.timers,
      random: sim.random,
      persistence,
      onStartWorkload: (spec: WorkloadSpec) => {
        const s = running.get(spec.name) ?? new Set()
        s.add(node.id)
        running.set(spec.name, s)
        maxCopies.set(spec.name, Math.max(maxCopies.get(spec.name) ?? 0, s.size))
      },
      onStopWorkload: (name: string) => { running.get(name)?.delete(node.id) }
    })
    const a = { id: node.id, node, coord, persistence }
    agents.set(node.id, a)
    return a
  }
  for (let i = 0; i < n; i++) make(sim.addNode(nodeOpts(i, sim)))
  for (const a of agents.values()) await a.node.mesh.start()
  await Promise.all([...agents.values()].map(async (a) => await a.coord.start()).concat([sim.runFor(3000)]))
  const snapshot = (a: Agent): string => {
    const out: Record<string, unknown> = {}
    for (const r of MESO_ROOTS) {
      const m = a.coord.rdoc.doc.getMap(r)
      out[r] = Object.fromEntries([...m.entries()].sort(([x], [y]) => x < y ? -1 : 1))
    }
    return JSON.stringify(out)
  }
  const up = (): Agent[] => [...agents.values()].filter((a) => a.node.isUp())
  return {
    sim,
    agents,
    running,
    maxCopies,
    up,
    crash (id) {
      const a = agents.get(id)!
      a.coord.stop()
      sim.crash(id)
      for (const s of running.values()) s.delete(id)
    },
    async restart (id) {
      const node = sim.restart(id)
      const a = make(node)
      await node.mesh.start()
      await Promise.all([a.coord.start(), sim.runFor(2500)])
      return a
    },
    copies: (name) => running.get(name)?.size ?? 0,
    converged () {
      const ups = up()
      if (ups.length === 0) return true
      const s0 = Buffer.from(Y.encodeStateVector(ups[0]!.coord.rdoc.doc))
      // Equal state vectors first (cheap); then equal contents.
      if (!ups.every((a) => Buffer.compare(Buffer.from(Y.encodeStateVector(a.coord.rdoc.doc)), s0) === 0)) return false
      const first = snapshot(ups[0]!)
      return ups.every((a) => snapshot(a) === first)
    },
    snapshot
  }
}

/** Wraps a seeded test body so a failure names the seed that replays it. */
export async function withSeed (seed: number, body: (seed: number) => Promise<void>): Promise<void> {
  try {
    await body(seed)
  } catch (err) {
    const e = err as Error
    e.message = `[seed ${seed}; replay with SEED=${seed}] ${e.message}`
    throw e
  }
}

export const seedFromEnv = (fallback: number): number => process.env.SEED != null ? Number(process.env.SEED) : fallback
