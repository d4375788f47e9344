import assert from 'node:assert/strict'
import type { ActionKind, Outcome } from '@homeostat/interface'
import { createPlaybook, nextPlaybookAction, PLAYBOOK } from '../src/index.ts'
import { makeIncident, seeded } from './helpers.ts'

const ALL: ActionKind[] = ['restart', 'kill', 'reload', 'rollback', 'degrade', 'throttle', 'free_disk', 'quarantine', 'escalate']

describe('recovery playbook', () => {
  const table: Array<[cls: string, attempted: ActionKind[], available: ActionKind[], expected: ActionKind]> = [
    ['crash', [], ALL, 'restart'],
    ['crash', ['restart'], ALL, 'rollback'],
    ['crash', ['restart'], ['restart', 'kill', 'quarantine', 'escalate'], 'quarantine'], // no rollback available: skip it
    ['crash', ['restart', 'rollback', 'quarantine'], ALL, 'escalate'],
    ['hang', [], ALL, 'kill'],
    ['hang', ['kill'], ALL, 'restart'],
    ['memory_leak', [], ALL, 'restart'],
    ['memory_leak', ['restart'], ALL, 'degrade'],
    ['cpu_hog', [], ALL, 'throttle'],
    ['cpu_hog', ['throttle'], ALL, 'restart'],
    ['cpu_hog', ['throttle', 'restart'], ALL, 'escalate'],
    ['disk_fill', [], ALL, 'free_disk'],
    ['disk_fill', ['free_disk'], ALL, 'quarantine'], // a writer that keeps filling its own directory: stop it
    ['disk_fill', ['free_disk', 'quarantine'], ALL, 'escalate'],
    ['disk_fill', [], ['restart', 'escalate'], 'escalate'], // nothing configured to delete, nothing to stop
    ['cpu_limit', [], ALL, 'throttle'], // over its declared limit: hold it there
    ['cpu_limit', ['throttle'], ALL, 'degrade'],
    ['cpu_limit', ['throttle', 'degrade'], ALL, 'escalate'], // never a restart (it would burn the limit again)
    ['oom', [], ALL, 'restart'],
    ['oom', ['restart'], ALL, 'degrade'],
    ['spawn_error', [], ALL, 'escalate'],
    ['probe_error', [], ALL, 'escalate'],
    ['something_new', [], ALL, 'restart'],
    ['something_new', ['restart'], ALL, 'escalate']
  ]
  for (const [cls, attempted, available, expected] of table) {
    it(`${cls} after [${attempted.join(',')}] → ${expected}`, () => {
      assert.equal(nextPlaybookAction(PLAYBOOK, { failureClass: cls, attempted, available }, false).action, expected)
    })
  }

  it('quarantines a crash loop instead of restarting again', () => {
    assert.equal(nextPlaybookAction(PLAYBOOK, { failureClass: 'crash', attempted: [], available: ALL }, true).action, 'quarantine')
    // …but not for classes where restarts are not the loop (disk fill)
    assert.equal(nextPlaybookAction(PLAYBOOK, { failureClass: 'disk_fill', attempted: [], available: ALL }, true).action, 'free_disk')
  })

  it('detects a crash loop from recorded outcomes, within the window only', async () => {
    let t = 1_000_000
    const pb = createPlaybook({ now: () => t, crashLoop: { maxRestarts: 3, windowMs: 60_000 } })
    const incident = makeIncident('web', 'crash')
    const outcome = (action: ActionKind): Outcome => ({ incidentId: incident.id, node: 'n1', component: 'web', failureClass: 'crash', action, success: true, durationMs: 100, cost: { cpuSeconds: 0, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 }, hlc: '' })
    for (let i = 0; i < 2; i++) { pb.record(outcome('restart')); t += 1000 }
    assert.equal((await pb.plan({ incident, attempted: [], available: ALL })).action, 'restart')
    pb.record(outcome('restart'))
    const p = await pb.plan({ incident, attempted: [], available: ALL })
    assert.equal(p.action, 'quarantine')
    assert.match(p.reason, /crash loop/)
    t += 61_000
    assert.equal((await pb.plan({ incident, attempted: [], available: ALL })).action, 'restart')
    pb.record(outcome('throttle')) // not a restart
    assert.equal(pb.restarts('web').length, 3)
  })

  it('targets the diagnosed root cause, not always the incident component', async () => {
    const pb = createPlaybook()
    const incident = makeIncident('api', 'hang')
    const p = await pb.plan({ incident, attempted: [], available: ALL, diagnosis: { incidentId: incident.id, hlc: '', candidates: [{ component: 'db', score: 1, confidence: 0.9, explanation: 'x', evidence: [] }], independentGroups: [], attributedToRecovery: [], explanation: '' } })
    assert.equal(p.target, 'db')
    assert.equal(p.requiresApproval, false)
    assert.ok(p.alternatives.length > 0)
  })

  it('never repeats an attempted action and always terminates in escalate (seeded)', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 100000)
    console.log(`      seed ${seed}`)
    const random = seeded(seed)
    const classes = [...Object.keys(PLAYBOOK), 'other']
    for (let run = 0; run < 300; run++) {
      const cls = classes[Math.floor(random() * classes.length)]
      const available = ALL.filter(() => random() < 0.6)
      available.push('escalate')
      const attempted: ActionKind[] = []
      const pb = createPlaybook()
      for (let step = 0; step < 20; step++) {
        const p = await pb.plan({ incident: makeIncident('c', cls), attempted, available })
        assert.ok(!attempted.includes(p.action), `seed ${seed}: repeated ${p.action}`)
        assert.ok(available.includes(p.action), `seed ${seed}: ${p.action} not available`)
        if (p.action === 'escalate') break
        attempted.push(p.action)
        assert.ok(step < 10, `seed ${seed}: did not terminate`)
      }
    }
  })
})
