// Shared setup for the micro-loop end-to-end tests: real supervisor, real
// probes, real child processes from test/fixtures/micro-*.mjs.
import { freeLoopbackPort } from '../agent/src/demo/ports.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import type { Incident } from '@homeostat/interface'

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')

/** A loopback port for a workload started later (below the ephemeral range: see agent/src/demo/ports.ts). */
export async function freePort (): Promise<number> { return await freeLoopbackPort() }

export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'homeostat-micro-'))
  return { dir, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}

export async function waitFor<T> (what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Asserts the record holds every step in order, each with an HLC time, HLC-ordered except `opened` (stamped at onset). */
export function assertRecord (incident: Incident, kinds: string[]): void {
  const seen = incident.steps.map((s) => s.kind)
  let i = 0
  for (const k of seen) if (k === kinds[i]) i++
  assert.equal(i, kinds.length, `expected steps ${kinds.join(' → ')} in order, got ${seen.join(' → ')}`)
  for (const s of incident.steps) {
    assert.ok(s.hlc.length >= 21, `step ${s.kind} has an HLC time`)
    assert.ok(Number.isFinite(s.atMs) && s.atMs > 0, `step ${s.kind} has a physical time`)
  }
  const hlcs = incident.steps.map((s) => s.hlc)
  assert.deepEqual([...hlcs].sort(), hlcs, 'steps are in HLC order')
}

export function mttrMs (incident: Incident): number {
  const rec = incident.steps.find((s) => s.kind === 'recovered')
  assert.ok(rec != null, 'incident has a recovered step')
  return rec.atMs - incident.openedAtMs
}

/** Waits until two consecutive checkNow verdicts are healthy. */
export async function waitHealthy (probes: { checkNow: (n: string) => Promise<{ healthy: boolean }> }, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let streak = 0
  while (Date.now() < deadline) {
    streak = (await probes.checkNow(name)).healthy ? streak + 1 : 0
    if (streak >= 2) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${name} did not become healthy within ${timeoutMs} ms`)
}
