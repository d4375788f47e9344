// The planner as the agent runs it: learning state in a real file store and
// the audit log in a real append-only file; a restart keeps what was learned
// and continues the same hash chain; an edit of the file on disk is detected.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'mocha'
import type { ActionKind, Incident, Outcome } from '@homeostat/interface'
import { createFileJsonStore } from '@homeostat/learning'
import { createFileAuditStore, createManualClock, createPlanner, verifyChain } from '@homeostat/planner'

const inc = (id: string): Incident => ({ id, node: 'n1', component: 'api', targetKind: 'service', failureClass: 'hang', status: 'open', openedAtMs: 0, steps: [], anomalies: [] })
const out = (i: Incident, action: ActionKind, success: boolean): Outcome => ({
  incidentId: i.id, node: 'n1', component: 'api', failureClass: 'hang', action, success, durationMs: 4000,
  cost: { cpuSeconds: 1, memoryMb: 10, bandwidthKb: 0, disruptionSeconds: 4 }, hlc: '000000000000001-000000-n1'
})

describe('planner restart (file-backed learning and audit)', () => {
  it('keeps learned statistics and the audit chain across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'homeostat-planner-'))
    try {
      const clock = createManualClock(1_000_000)
      const make = () => createPlanner({
        mode: 'dynamic', clock, seed: 8, nodeId: 'n1',
        capacity: () => ({ cpuSeconds: 2400, memoryMb: 4096, bandwidthKb: 1e6, disruptionSeconds: 600 }),
        store: createFileJsonStore(join(dir, 'state')),
        auditStore: createFileAuditStore(join(dir, 'audit.jsonl'))
      })
      const a = make()
      await a.start()
      for (let i = 0; i < 25; i++) {
        const x = inc(`a${i}`)
        const plan = await a.plan({ incident: x, attempted: [], available: ['restart', 'kill', 'reload'] })
        a.record(out(x, plan.action, plan.action === 'kill'))
        clock.advance(120_000)
      }
      await a.stop()
      const learnedKill = a.learning.outcomes.view('hang', 'kill')

      const b = make()
      const started = await b.start()
      assert.equal(started.learning.loaded, true)
      assert.equal(started.audit.ok, true)
      assert.deepEqual(b.learning.outcomes.view('hang', 'kill'), learnedKill)
      const x = inc('b0')
      await b.plan({ incident: x, attempted: [], available: ['restart', 'kill', 'reload'] })
      await b.stop()
      const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n')
      assert.ok(verifyChain(lines, { expectedHead: b.audit.head() }).ok)
      assert.equal(JSON.parse(lines.at(-1)!).seq, lines.length - 1, 'the second run continued the first run\'s chain')

      // Someone rewrites an old decision on disk: the next start reports it and records the break.
      const edited = lines.map((l, i) => i === 1 ? l.replace(/"action":"(\w+)"/, '"action":"relocate"') : l)
      await writeFile(join(dir, 'audit.jsonl'), edited.join('\n') + '\n')
      const c = make()
      const r = await c.start()
      assert.equal(r.audit.ok, false)
      assert.equal(r.audit.badIndex, 1)
      assert.equal(c.audit.records().at(-1)!.kind, 'audit-chain-broken')
      await c.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
