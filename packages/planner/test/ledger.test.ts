import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import type { LedgerEntry } from '@homeostat/interface'
import { createBudgetLedger, windowIndex, windowTotals } from '@homeostat/planner'
import { cost } from './helpers.ts'

const e = (atMs: number, cpu: number, state: LedgerEntry['state'] = 'spent', mem = 0): LedgerEntry => ({ id: `e${atMs}`, atMs, incidentId: 'i', action: 'restart', state, cost: cost(cpu, mem, 0, 0) })

describe('planner/ledger window maths', () => {
  const W = 600_000
  const entries = [e(0, 1), e(100_000, 2), e(600_000, 4), e(650_000, 8, 'reserved', 50), e(1_199_999, 16)]
  const table: Array<{ now: number, spentCpu: number, reservedCpu: number }> = [
    { now: 0, spentCpu: 1, reservedCpu: 0 }, // an entry counts at its own instant
    { now: 99_999, spentCpu: 1, reservedCpu: 0 },
    { now: 599_999, spentCpu: 3, reservedCpu: 0 },
    { now: 600_000, spentCpu: 6, reservedCpu: 0 }, // t − W < a: the entry at 0 has just left
    { now: 700_000, spentCpu: 4, reservedCpu: 8 },
    { now: 1_199_999, spentCpu: 20, reservedCpu: 8 },
    { now: 1_200_000, spentCpu: 16, reservedCpu: 8 },
    { now: 1_250_000, spentCpu: 16, reservedCpu: 0 }
  ]
  for (const t of table) {
    it(`at ${t.now}: spent ${t.spentCpu}, reserved ${t.reservedCpu}`, () => {
      const r = windowTotals(entries, t.now, W)
      assert.equal(r.spent.cpuSeconds, t.spentCpu)
      assert.equal(r.reserved.cpuSeconds, t.reservedCpu)
    })
  }

  it('tumbling window index', () => {
    assert.deepEqual([0, 599_999, 600_000, 1_800_001].map((t) => windowIndex(t, W)), [0, 0, 1, 3])
  })

  it('memory is a level: held while reserved, released when settled', () => {
    const l = createBudgetLedger({ windowMs: W })
    l.reserve({ id: 'r1', atMs: 10, incidentId: 'i1', action: 'restart', cost: cost(5, 300, 0, 5) })
    assert.equal(l.totals(20).reserved.memoryMb, 300)
    l.settle('r1', cost(3, 250, 0, 4), 5000, 'i1', 'restart')
    const t = l.totals(5000)
    assert.deepEqual(t.reserved, cost(0, 0, 0, 0))
    assert.deepEqual(t.spent, cost(3, 0, 0, 4))
    assert.equal(l.entries(5000)[0]!.atMs, 10, 'observed cost is booked at the time the action started')
  })

  it('an unsettled reservation expires after its TTL; closed windows feed C_historical', () => {
    const l = createBudgetLedger({ windowMs: W, reservationTtlMs: 60_000 })
    l.reserve({ id: 'r', atMs: 0, incidentId: 'i', action: 'rollback', cost: cost(10, 0, 0, 0) })
    assert.equal(l.totals(59_999).reserved.cpuSeconds, 10)
    assert.equal(l.totals(60_000).reserved.cpuSeconds, 0)
    assert.equal(l.stats().expired, 1)
    l.settle('x', cost(6, 0, 0, 0), 100_000, 'i', 'restart')
    l.settle('y', cost(2, 0, 0, 0), 700_000, 'i', 'restart')
    assert.deepEqual(l.closedWindows(1_900_000).map((c) => c.cpuSeconds), [6, 2, 0])
  })

  it('bounded: the oldest entries go beyond maxEntries', () => {
    const l = createBudgetLedger({ windowMs: W, maxEntries: 5 })
    for (let i = 0; i < 20; i++) l.settle(`s${i}`, cost(1, 0, 0, 0), i, 'i', 'restart')
    assert.equal(l.totals(20).spent.cpuSeconds, 5)
  })
})
