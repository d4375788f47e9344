import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'mocha'
import { GENESIS_HASH, canonicalJson, createAuditLog, createFileAuditStore, createMemoryAuditStore, hashRecord, verifyChain } from '@homeostat/planner'

const build = (n: number) => {
  let t = 0
  const store = createMemoryAuditStore()
  const log = createAuditLog({ store, now: () => ++t })
  for (let i = 0; i < n; i++) log.append('decision', { incidentId: `i${i}`, action: i % 2 === 0 ? 'restart' : 'kill', alternatives: [{ action: 'rollback', expectedReward: -12.5 }] })
  return { log, store }
}

describe('planner/audit log (hash chain)', () => {
  it('canonical JSON ignores key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }))
  })

  it('an untouched chain verifies, including its head', async () => {
    const { log, store } = build(10)
    await log.flush()
    assert.equal(store.lines.length, 10)
    assert.deepEqual(verifyChain(store.lines, { expectedHead: log.head() }), { ok: true, checked: 10 })
    assert.equal(log.records()[0]!.prevHash, GENESIS_HASH)
    assert.ok(log.verify().ok)
  })

  const tamper: Array<{ name: string, edit: (lines: string[]) => string[], problem: string, badIndex?: number }> = [
    {
      name: 'edited data (hash not recomputed)',
      edit: (l) => l.map((x, i) => i === 4 ? x.replace('"restart"', '"relocate"') : x),
      problem: 'hash-mismatch', badIndex: 4
    },
    {
      name: 'edited data with a recomputed hash',
      edit: (l) => l.map((x, i) => {
        if (i !== 4) return x
        const r = JSON.parse(x)
        r.data.action = 'relocate'
        r.hash = hashRecord(r)
        return JSON.stringify(r)
      }),
      problem: 'broken-link', badIndex: 5
    },
    { name: 'deleted record', edit: (l) => l.filter((_, i) => i !== 3), problem: 'sequence-gap', badIndex: 3 },
    { name: 'deleted first record', edit: (l) => l.slice(1), problem: 'sequence-gap', badIndex: 0 },
    { name: 'reordered records', edit: (l) => [...l.slice(0, 2), l[3]!, l[2]!, ...l.slice(4)], problem: 'sequence-gap', badIndex: 2 },
    { name: 'garbage line', edit: (l) => [...l.slice(0, 6), '{not json', ...l.slice(6)], problem: 'malformed', badIndex: 6 },
    { name: 'truncated tail (against the published head)', edit: (l) => l.slice(0, 8), problem: 'truncated' }
  ]
  for (const t of tamper) {
    it(`detects: ${t.name}`, async () => {
      const { log, store } = build(10)
      await log.flush()
      const r = verifyChain(t.edit(store.lines), { expectedHead: log.head() })
      assert.equal(r.ok, false)
      assert.equal(r.problem, t.problem)
      if (t.badIndex !== undefined) assert.equal(r.badIndex, t.badIndex)
    })
  }

  it('file store: appends, reloads, continues the chain, and detects an edit on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'homeostat-audit-'))
    try {
      const path = join(dir, 'audit', 'decisions.jsonl')
      let t = 100
      const a = createAuditLog({ store: createFileAuditStore(path), now: () => ++t })
      for (let i = 0; i < 5; i++) a.append('decision', { i })
      await a.flush()
      const b = createAuditLog({ store: createFileAuditStore(path), now: () => ++t })
      assert.equal((await b.load()).ok, true)
      b.append('decision', { i: 5 })
      await b.flush()
      const lines = (await readFile(path, 'utf8')).trim().split('\n')
      assert.equal(lines.length, 6)
      assert.ok(verifyChain(lines, { expectedHead: b.head() }).ok)
      await writeFile(path, lines.map((l, i) => i === 2 ? l.replace('"i":2', '"i":7') : l).join('\n') + '\n')
      const c = createAuditLog({ store: createFileAuditStore(path), now: () => ++t })
      const r = await c.load()
      assert.equal(r.ok, false)
      assert.equal(r.problem, 'hash-mismatch')
      assert.equal(r.badIndex, 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a failing store is counted, never thrown into the planner', async () => {
    const log = createAuditLog({ now: () => 1, store: { append: async () => { throw new Error('disk full') }, readAll: async () => [] } })
    log.append('decision', {})
    log.append('decision', {})
    await log.flush()
    assert.equal(log.stats().storeErrors, 2)
    assert.ok(log.verify().ok)
  })

  it('keeps a bounded tail in memory that still verifies from its anchor', () => {
    let t = 0
    const log = createAuditLog({ now: () => ++t, maxInMemory: 5 })
    for (let i = 0; i < 12; i++) log.append('x', { i })
    assert.equal(log.records().length, 5)
    assert.equal(log.records()[0]!.seq, 7)
    assert.ok(log.verify().ok)
  })
})
