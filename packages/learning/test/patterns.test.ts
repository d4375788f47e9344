import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import { type FailureEvent, findCrashLoops, findTimeOfDay, findTriggers, minePatterns } from '@homeostat/learning'

const f = (atMs: number, component: string, label: string): FailureEvent => ({ atMs, component, label, kind: 'failure' })
const trig = (atMs: number, component: string, label: string): FailureEvent => ({ atMs, component, label, kind: 'trigger' })
const MIN = 60_000

describe('learning/patterns', () => {
  const loops: Array<{ name: string, times: number[], windowMs: number, min: number, expect: number | null }> = [
    { name: 'three inside the window', times: [0, 1, 2].map((x) => x * MIN), windowMs: 10 * MIN, min: 3, expect: 3 },
    { name: 'spread out: no loop', times: [0, 11, 22].map((x) => x * MIN), windowMs: 10 * MIN, min: 3, expect: null },
    { name: 'window is half-open: exactly 10 min apart does not count', times: [0, 5, 10].map((x) => x * MIN), windowMs: 10 * MIN, min: 3, expect: null },
    { name: 'best window of a longer run', times: [0, 30, 31, 32, 33, 60].map((x) => x * MIN), windowMs: 10 * MIN, min: 3, expect: 4 }
  ]
  for (const t of loops) {
    it(`crash loop: ${t.name}`, () => {
      const r = findCrashLoops(t.times.map((x) => f(x, 'api', 'crash')), t.windowMs, t.min)
      if (t.expect === null) assert.equal(r.length, 0)
      else assert.equal(r[0]?.count, t.expect)
    })
  }

  it('finds "failure after deploy" and ignores unrelated triggers', () => {
    const ev: FailureEvent[] = []
    for (let d = 0; d < 6; d++) {
      const t0 = d * 24 * 60 * MIN
      ev.push(trig(t0, 'api', 'deploy'), f(t0 + 3 * MIN, 'api', 'crash'))
      ev.push(trig(t0 + 12 * 60 * MIN, 'db', 'backup'), f(t0 + 18 * 60 * MIN, 'db', 'hang'))
    }
    const rules = findTriggers(ev, { triggerWindowMs: 15 * MIN, minSupport: 3, minConfidence: 0.5, minLift: 2 })
    assert.ok(rules.some((r) => r.trigger === 'deploy' && r.failureClass === 'crash' && r.support === 6 && r.confidence === 1))
    assert.ok(!rules.some((r) => r.trigger === 'backup'), 'the hang comes 6 h after the backup, outside the window')
  })

  it('finds a time-of-day concentration and not a uniform spread', () => {
    const ev: FailureEvent[] = []
    for (let d = 0; d < 30; d++) ev.push(f(d * 86_400_000 + 3 * 3600_000 + d * 1000, 'trainer', 'gpu_oom'))
    for (let h = 0; h < 48; h++) ev.push(f(h * 3600_000 + 1000, 'api', 'crash'))
    const tod = findTimeOfDay(ev, 24, 35.17, 0)
    assert.equal(tod.length, 1)
    assert.equal(tod[0]!.failureClass, 'gpu_oom')
    assert.deepEqual(tod[0]!.peakHours, [3])
    const shifted = findTimeOfDay(ev, 24, 35.17, 120)
    assert.deepEqual(shifted[0]!.peakHours, [5])
    assert.ok(minePatterns(ev).timeOfDay.length === 1)
  })
})
