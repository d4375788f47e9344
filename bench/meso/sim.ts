// Randomised partition schedules on the simulated mesh (compiled packages):
// each schedule runs agents with relocatable workloads through random
// partitions and crashes, heals everything, and counts surviving duplicates.
import { createSimulatedNetwork, type SimNode } from '@homeostat/mesh'
import { createCoordinator, createMemoryPersistence, MESO_ROOTS, type Coordinator, type MemoryPersistence } from '@homeostat/coordination'

export interface ScheduleResult { seed: number, duplicates: number, missing: number, converged: boolean, maxConcurrentActing: number, healConvergeMs: number }

export async function runSchedule (seed: number, agents = 10, workloads = 4): Promise<ScheduleResult> {
  const sim = createSimulatedNetwork({ seed, dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.1 })
  const r = sim.random
  const running = new Map<string, Set<string>>()
  const nodes = new Map<string, { node: SimNode, coord: Coordinator }>()
  const persist = new Map<string, MemoryPersistence>()
  const make = (node: SimNode): Coordinator => {
    const p = persist.get(node.id) ?? createMemoryPersistence()
    persist.set(node.id, p)
    const coord = createCoordinator({
      mesh: node.mesh, hlc: node.hlc, now: node.now, timers: node.timers, random: r, persistence: p,
      onStartWorkload: (s) => { const x = running.get(s.name) ?? new Set(); x.add(node.id); running.set(s.name, x) },
      onStopWorkload: (name) => { running.get(name)?.delete(node.id) }
    })
    nodes.set(node.id, { node, coord })
    return coord
  }
  for (let i = 0; i < agents; i++) make(sim.addNode({ skewMs: Math.round((r() - 0.5) * 200) }))
  for (const { node } of nodes.values()) await node.mesh.start()
  await Promise.all([...[...nodes.values()].map(async (x) => await x.coord.start()), sim.runFor(2500)])
  for (const { coord } of nodes.values()) coord.takeover.setCapacity({ cpuMillis: 2000, memoryMb: 4096 })
  await sim.runFor(500)
  const ids = [...nodes.keys()]
  for (let w = 0; w < workloads; w++) await nodes.get(ids[Math.floor(r() * ids.length)]!)!.coord.takeover.declare({ name: `w${w}`, priority: 1 + w, cpuMillis: 400, memoryMb: 256 })
  await sim.runFor(1000)
  // Interventions on one shared target throughout (safety probe).
  let acting = 0; let maxActing = 0
  const up = (): string[] => ids.filter((id) => nodes.get(id)!.node.isUp())
  const tryHeal = (): void => {
    const id = up()[Math.floor(r() * up().length)]
    if (id == null) return
    const { coord, node } = nodes.get(id)!
    void coord.registry.claim('shared', 'restart').then((res) => {
      if (!res.granted || res.alreadyHeld === true) return
      acting++; maxActing = Math.max(maxActing, acting)
      node.timers.setTimeout(() => { acting--; coord.registry.release('shared', 'recovered', { cooldownMs: 500 }) }, 300 + r() * 700)
    }).catch(() => {})
  }
  const crashed = new Set<string>()
  for (let step = 0; step < 6; step++) {
    const x = r()
    if (x < 0.5) sim.partition([ids.filter(() => r() < 0.5)])
    else if (x < 0.7) sim.heal()
    else if (crashed.size < 2) {
      const owners = [...running.values()].flatMap((s) => [...s])
      const id = owners[Math.floor(r() * owners.length)] ?? up()[0]!
      nodes.get(id)!.coord.stop(); sim.crash(id); crashed.add(id)
      for (const s of running.values()) s.delete(id)
    }
    for (let k = 0; k < 3; k++) { tryHeal(); await sim.runFor(400 + r() * 800) }
  }
  sim.heal()
  sim.setFaults({ dropRate: 0, duplicateRate: 0, reorderRate: 0 })
  for (const id of crashed) {
    const node = sim.restart(id)
    const coord = make(node)
    await node.mesh.start()
    await Promise.all([coord.start(), sim.runFor(2500)])
  }
  const snap = (c: Coordinator): string => JSON.stringify(MESO_ROOTS.map((m) => [...c.rdoc.doc.getMap(m).entries()].sort(([a], [b]) => a < b ? -1 : 1)))
  const converged = (): boolean => { const s = [...nodes.values()].map((x) => snap(x.coord)); return s.every((v) => v === s[0]) }
  const healAt = sim.now()
  const ok = await sim.runUntil(converged, { timeoutMs: 20_000, stepMs: 50 })
  const healConvergeMs = sim.now() - healAt
  await sim.runFor(5000)
  let duplicates = 0; let missing = 0
  for (let w = 0; w < workloads; w++) {
    const n = running.get(`w${w}`)?.size ?? 0
    duplicates += Math.max(0, n - 1)
    if (n === 0) missing++
  }
  for (const x of nodes.values()) x.coord.stop()
  return { seed, duplicates, missing, converged: ok && converged(), maxConcurrentActing: maxActing, healConvergeMs }
}
