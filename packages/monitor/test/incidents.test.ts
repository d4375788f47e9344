import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHlc } from '@homeostat/hlc'
import { incidentSchema, LIMITS, type Incident } from '@homeostat/interface'
import { openStore } from '@homeostat/store'
import { createIncidentManager, type AnomalyReport } from '../src/index.ts'

const rep = (over: Partial<AnomalyReport> = {}): AnomalyReport => ({ component: 'llm', failureClass: 'crash', metric: 'process.exit', kind: 'exit', score: 1, value: 1, ...over })

describe('monitor: incident manager', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'incidents-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('opens with opened+detected steps, dedups per component+class, and reopens after close', () => {
    let t = 10_000
    const m = createIncidentManager({ node: 'n1', hlc: createHlc({ nodeId: 'n1', now: () => t }), now: () => t })
    const events: string[] = []
    m.on('opened', () => events.push('opened'))
    m.on('anomaly', () => events.push('anomaly'))
    m.on('closed', () => events.push('closed'))
    const a = m.report(rep({ onsetMs: 9_500, evidence: ['stderr: boom'] }))
    assert.equal(a.opened, true)
    assert.equal(a.incident.openedAtMs, 9_500)
    assert.deepEqual(a.incident.steps.map((s) => [s.kind, s.atMs]), [['opened', 9_500], ['detected', 10_000]])
    assert.deepEqual(a.incident.steps[0]!.evidence, ['stderr: boom'])
    t += 5
    const b = m.report(rep())
    assert.equal(b.opened, false)
    assert.equal(b.incident.id, a.incident.id)
    assert.equal(b.incident.anomalies.length, 2)
    const other = m.report(rep({ failureClass: 'hang' }))
    assert.equal(other.opened, true)
    m.step(a.incident.id, { kind: 'acted', summary: 'restart' })
    assert.equal(m.get(a.incident.id)!.status, 'recovering')
    m.step(a.incident.id, { kind: 'escalated', summary: 'next action', data: { to: 'kill' } })
    assert.equal(m.get(a.incident.id)!.status, 'recovering')
    m.step(a.incident.id, { kind: 'recovered', summary: 'healthy' })
    assert.equal(m.get(a.incident.id)!.status, 'recovered')
    assert.throws(() => m.step(a.incident.id, { kind: 'acted', summary: 'late' }), { code: 'INCIDENT_CLOSED' })
    m.step(a.incident.id, { kind: 'note', summary: 'post-mortem note is still allowed' })
    assert.throws(() => m.step('nope', { kind: 'note', summary: 'x' }), { code: 'INCIDENT_UNKNOWN' })
    const c = m.report(rep())
    assert.equal(c.opened, true, 'a new crash after recovery is a new incident')
    assert.deepEqual(events, ['opened', 'anomaly', 'opened', 'closed', 'opened'])
    for (const inc of m.list()) incidentSchema.parse(inc)
    assert.equal(m.list({ status: 'active' }).length, 2)
    assert.equal(m.stats().deduplicated, 1)
  })

  it('bounds evidence, text, anomalies and steps', () => {
    const m = createIncidentManager({ node: 'n1', hlc: createHlc({ nodeId: 'n1', now: Date.now }), maxAnomaliesPerIncident: 3 })
    const { incident } = m.report(rep({ detail: 'x'.repeat(10_000), evidence: Array.from({ length: 500 }, (_, i) => `line ${i}`) }))
    assert.ok(incident.steps[0]!.summary.length <= LIMITS.textLength)
    assert.equal(incident.steps[0]!.evidence!.length, LIMITS.evidenceItems)
    for (let i = 0; i < 10; i++) m.report(rep())
    assert.equal(incident.anomalies.length, 3)
    let refused = 0
    for (let i = 0; i < LIMITS.incidentSteps + 10; i++) {
      try { m.step(incident.id, { kind: 'note', summary: `n${i}` }) } catch (err) { assert.equal((err as { code: string }).code, 'INCIDENT_FULL'); refused++ }
    }
    assert.equal(incident.steps.length, LIMITS.incidentSteps)
    assert.equal(refused, 12)
    incidentSchema.parse(incident)
  })

  it('persists records and log entries; a new manager restores open incidents and keeps deduplicating', async () => {
    const path = join(dir, 'db')
    let store = await openStore({ path, nodeId: 'n1' })
    const hlc = createHlc({ nodeId: 'n1', now: Date.now })
    const m1 = createIncidentManager({ node: 'n1', hlc, store })
    const open = m1.report(rep()).incident
    const closed = m1.report(rep({ component: 'db' })).incident
    m1.step(closed.id, { kind: 'acted', summary: 'restart' })
    m1.step(closed.id, { kind: 'recovered', summary: 'ok' })
    await m1.flush()
    await store.close()
    store = await openStore({ path, nodeId: 'n1' })
    try {
      await store.sub('incidents').put('junk', { id: 'junk', status: 'sideways' })
      const m2 = createIncidentManager({ node: 'n1', hlc, store })
      assert.equal(await m2.load(), 2)
      assert.equal(m2.stats().invalidStored, 1)
      assert.equal(m2.get(closed.id)!.status, 'recovered')
      const again = m2.report(rep())
      assert.equal(again.opened, false)
      assert.equal(again.incident.id, open.id)
      await m2.flush()
      const saved = await store.sub<Incident>('incidents').get(open.id)
      assert.equal(saved!.anomalies.length, 2)
      const log = await store.log.read({ kind: 'incident.step' })
      assert.equal(log.length, 2)
      assert.equal((await store.log.read({ kind: 'anomaly' })).length, 3)
    } finally { await store.close() }
  })

  it('keeps working (and counts) when the store fails underneath', async () => {
    const store = await openStore({ path: join(dir, 'db2') })
    const m = createIncidentManager({ node: 'n1', hlc: createHlc({ nodeId: 'n1', now: Date.now }), store })
    await store.close()
    const { incident } = m.report(rep())
    m.step(incident.id, { kind: 'acted', summary: 'restart' })
    await m.flush()
    assert.equal(m.get(incident.id)!.status, 'recovering')
    assert.ok(m.stats().persistErrors >= 1)
  })

  it('open/attach/step/get/list also serve a caller that deduplicates itself (the micro loop\'s incident book shape)', () => {
    const hlc = createHlc({ nodeId: 'n1', now: Date.now })
    const m = createIncidentManager({ node: 'n1', hlc })
    const first = m.report(rep()).anomaly
    const a = m.open({ component: 'llm', failureClass: 'crash', targetKind: 'service', anomaly: first, onsetMs: first.atMs - 10, summary: 'crash on llm' })
    const b = m.open({ component: 'llm', failureClass: 'crash', targetKind: 'service', anomaly: first, onsetMs: first.atMs, summary: 'again' })
    assert.notEqual(a.id, b.id, 'open never deduplicates')
    m.attach(a.id, first)
    assert.equal(m.get(a.id)!.anomalies.length, 2)
    assert.equal(a.targetKind, 'service')
    assert.equal(a.openedAtMs, first.atMs - 10)
    assert.throws(() => m.attach('nope', first), { code: 'INCIDENT_UNKNOWN' })
    assert.equal(m.list().length, 3)
    assert.equal(m.droppedSteps, 0)
    incidentSchema.parse(a)
  })
})
