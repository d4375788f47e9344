import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import type { ActionKind } from '@homeostat/interface'
import { createManualClock, createPlanner } from '@homeostat/planner'
import { cost, incident, outcome, request } from './helpers.ts'

/** Runs a planner in a small seeded world; returns its decisions and audit head. */
async function episode (seed: number, mode: 'static' | 'dynamic' | 'adaptive'): Promise<{ actions: string, head: string, lambda: number }> {
  const clock = createManualClock(1_700_000_000_000)
  const p = createPlanner({ mode, clock, seed, capacity: () => cost(600, 4000, 300_000, 240), approval: { onRequest: (r) => { holder.p?.approve(r.id, 'op') } } })
  const holder = { p }
  let x = seed >>> 0
  const rnd = (): number => { x = (Math.imul(x ^ (x >>> 15), 2246822519) + 374761393) >>> 0; return x / 2 ** 32 }
  const truth: Record<string, Partial<Record<ActionKind, number>>> = {
    crash: { restart: 0.9, kill: 0.7, rollback: 0.95 },
    hang: { restart: 0.4, kill: 0.95, reload: 0.1 },
    bad_artifact: { restart: 0.05, rollback: 0.9, relocate: 0.3 }
  }
  const actions: string[] = []
  for (let i = 0; i < 150; i++) {
    const cls = Object.keys(truth)[Math.floor(rnd() * 3)]!
    const inc = incident(`i${i}`, cls, 'service')
    const available = Object.keys(truth[cls]!) as ActionKind[]
    const attempted: ActionKind[] = []
    for (let k = 0; k < 5; k++) {
      const plan = await p.plan(request(inc, available, attempted))
      actions.push(plan.action)
      if (plan.action === 'escalate' || plan.action === 'quarantine' || plan.action === 'none') break
      const ok = rnd() < (truth[cls]![plan.action] ?? 0)
      p.record(outcome(inc, plan.action, ok, cost(2 * rnd(), 50 * rnd(), 1000 * rnd(), 5 * rnd())))
      attempted.push(plan.action)
      clock.advance(5000)
      if (ok) break
    }
    clock.advance(Math.floor(rnd() * 300_000))
  }
  await p.stop()
  return { actions: actions.join(','), head: p.audit.head().hash, lambda: p.lambda() }
}

describe('planner/determinism', () => {
  for (const mode of ['static', 'dynamic', 'adaptive'] as const) {
    it(`${mode}: the same seed gives the same decisions and the same audit chain`, async () => {
      const seed = 777
      const a = await episode(seed, mode)
      const b = await episode(seed, mode)
      assert.equal(a.actions, b.actions, `seed ${seed}`)
      assert.equal(a.head, b.head, `seed ${seed}`)
      assert.equal(a.lambda, b.lambda)
    })
  }

  it('a different seed explores differently (Thompson draws come from the seed)', async () => {
    const a = await episode(1, 'static')
    const b = await episode(2, 'static')
    assert.notEqual(a.actions, b.actions)
  })

  it('learns the best action: after the first 40 hangs, kill is chosen first nearly always', async () => {
    const seed = 99
    const clock = createManualClock(0)
    const p = createPlanner({ mode: 'static', clock, seed, capacity: () => cost(6000, 40_000, 3e6, 2400) })
    let x = seed
    const rnd = (): number => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32 }
    const p1: Record<string, number> = { restart: 0.4, kill: 0.95, reload: 0.1 }
    let late = 0
    let lateKill = 0
    for (let i = 0; i < 120; i++) {
      const inc = incident(`h${i}`, 'hang', 'service')
      const attempted: ActionKind[] = []
      for (let k = 0; k < 3; k++) {
        const plan = await p.plan(request(inc, ['restart', 'kill', 'reload'], attempted))
        if (k === 0 && i >= 40) { late++; if (plan.action === 'kill') lateKill++ }
        if (plan.action === 'escalate' || plan.action === 'quarantine') break
        const ok = rnd() < p1[plan.action]!
        p.record(outcome(inc, plan.action, ok, cost(1, 10, 0, 4)))
        attempted.push(plan.action)
        clock.advance(60_000)
        if (ok) break
      }
    }
    assert.ok(lateKill / late >= 0.9, `seed ${seed}: kill chosen first in ${lateKill}/${late}`)
  })
})
