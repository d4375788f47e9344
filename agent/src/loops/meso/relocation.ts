// Relocatable components: the bridge between coordination's workload takeover
// (which decides where each runs, fleet-wide) and this node's supervisor (which
// runs processes). A relocatable component is listed, under the same name, in
// the config of every node that may host it. The micro loop leaves it stopped
// at start-up when a mesh is configured; the meso loop declares it, and the
// takeover starts it on exactly one node and moves it when that node dies,
// stops, or gives it up (quarantined here).
import { cpus, totalmem } from 'node:os'
import type { WorkloadSpec } from '@homeostat/coordination'
import type { Supervisor } from '@homeostat/monitor'
import type { ComponentConfig } from '../../config/schema.ts'
import { RelocationStartError } from '../../errors.ts'

export const RELOCATION_DEFAULTS = {
  /** CPU a relocatable component asks of its host when it sets no `limits.cpu` (a tenth of a core). */
  defaultCpuMillis: 100,
  /** Memory it asks when it sets no `limits.memoryMb`. */
  defaultMemoryMb: 64,
  /** Published capacity is rounded down to these steps: small changes must not cause a registry write each status period. */
  cpuStepMillis: 100,
  memoryStepMb: 64,
  /** Grace of a relocated copy's SIGTERM before SIGKILL when it stops here (the next owner waits for it). */
  stopGraceMs: 2000
}

/** Pure: what a component asks of its host, from its limits. */
export function workloadSpecOf (c: Pick<ComponentConfig, 'name' | 'priority' | 'limits'>): WorkloadSpec {
  return {
    name: c.name,
    priority: c.priority,
    cpuMillis: c.limits.cpu !== undefined ? Math.ceil(c.limits.cpu * 1000) : RELOCATION_DEFAULTS.defaultCpuMillis,
    memoryMb: c.limits.memoryMb ?? RELOCATION_DEFAULTS.defaultMemoryMb
  }
}

/**
 * Pure: this node's free capacity as the auction sees it — the machine's cores and memory less
 * what the components running here ask for (like requests in a scheduler: stable, unlike load,
 * so it does not churn the replicated registry), rounded down to the steps.
 */
export function freeCapacity (machine: { cpuMillis: number, memoryMb: number }, running: ReadonlyArray<Pick<ComponentConfig, 'name' | 'priority' | 'limits'>>): { cpuMillis: number, memoryMb: number } {
  let cpu = machine.cpuMillis
  let mem = machine.memoryMb
  for (const c of running) { const w = workloadSpecOf(c); cpu -= w.cpuMillis; mem -= w.memoryMb }
  const step = (v: number, s: number): number => Math.max(0, Math.floor(v / s) * s)
  return { cpuMillis: step(cpu, RELOCATION_DEFAULTS.cpuStepMillis), memoryMb: step(mem, RELOCATION_DEFAULTS.memoryStepMb) }
}

/** What the meso loop needs of this node to host relocatable components. */
export interface WorkloadHost {
  /** Relocatable components in this node's config, as the auction sees them. */
  specs: () => WorkloadSpec[]
  /** Starts one here; rejects (RelocationStartError) when it could not spawn or is quarantined. */
  start: (name: string) => Promise<void>
  stop: (name: string, reason: string) => Promise<void>
  /** Free capacity for the auction. */
  capacity: () => { cpuMillis: number, memoryMb: number }
  /** Called when the supervisor quarantines a component here (it keeps failing on this node). */
  onQuarantined: (fn: (name: string) => void) => () => void
  /** Called when an operator lifts a quarantine here (the cause was fixed). */
  onReleased: (fn: (name: string) => void) => () => void
}

/** A WorkloadHost over the micro loop's supervisor (undefined until the micro loop has started). */
export function supervisorHost (supervisor: () => Supervisor | undefined, components: () => readonly ComponentConfig[]): WorkloadHost {
  const need = (name: string): Supervisor => {
    const s = supervisor()
    if (s === undefined) throw new RelocationStartError(name, 'the micro loop is not running')
    return s
  }
  return {
    specs: () => components().filter((c) => c.relocatable).map(workloadSpecOf),
    async start (name) {
      let info
      try { info = await need(name).startComponent(name) } catch (err) { throw new RelocationStartError(name, (err as Error).message, { cause: err }) }
      if (info.state !== 'running' && info.state !== 'starting') throw new RelocationStartError(name, info.lastExit?.error ?? `state ${info.state}`)
    },
    async stop (name, reason) {
      await need(name).stopComponent(name, { graceMs: RELOCATION_DEFAULTS.stopGraceMs, reason })
    },
    capacity () {
      const s = supervisor()
      const here = new Set((s?.list() ?? []).filter((i) => i.state === 'running' || i.state === 'starting').map((i) => i.name))
      return freeCapacity({ cpuMillis: cpus().length * 1000, memoryMb: Math.floor(totalmem() / 1048576) }, components().filter((c) => here.has(c.name)))
    },
    onQuarantined (fn) {
      const s = supervisor()
      return s === undefined ? () => {} : s.on('quarantined', (e) => { fn(e.name) })
    },
    onReleased (fn) {
      const s = supervisor()
      return s === undefined ? () => {} : s.on('released', (e) => { fn(e.name) })
    }
  }
}
