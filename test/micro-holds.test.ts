// Pure parts of "nothing left dead or unwatched", from tables: the retry
// back-off after the loop gives up (holds.ts), what a hold waits for, the
// watchdog's supervision gaps (watchdog.ts), the restart policy, and what
// counts as an action making things worse.
import assert from 'node:assert/strict'
import { completed, createHolds, HOLD_DEFAULTS, retryDelayMs, shouldRun, supervisionGaps, worsened, type ComponentSnapshot } from '@homeostat/micro'

describe('micro loop: holds, watchdog, do-no-harm rules', () => {
  it('retries on a capped exponential back-off (CrashLoopBackOff: 10 s, 20 s, 40 s … 5 min, never giving up)', () => {
    const mid = () => 0.5 // no jitter
    const table: Array<[number, number]> = [[1, 10_000], [2, 20_000], [3, 40_000], [4, 80_000], [5, 160_000], [6, 300_000], [7, 300_000], [60, 300_000], [0, 10_000], [Number.NaN, 10_000]]
    for (const [attempt, ms] of table) assert.equal(retryDelayMs(attempt, HOLD_DEFAULTS, mid), ms, `attempt ${attempt}`)
    // ±10 % jitter
    assert.equal(retryDelayMs(1, HOLD_DEFAULTS, () => 0), 9_000)
    assert.equal(retryDelayMs(1, HOLD_DEFAULTS, () => 1), 11_000)
  })

  it('a hold counts its retries, waits for its back-off or for what it waits for, and ends when cleared', () => {
    const h = createHolds({}, () => 0.5)
    const a = h.hold('svc', 'i1', 'quarantined: crash loop', 1000)
    assert.equal(a.attempt, 0)
    assert.equal(a.retryAtMs, 11_000)
    assert.deepEqual(h.due(10_999), [])
    assert.deepEqual(h.due(11_000).map((x) => x.component), ['svc'])
    h.retried('svc', 11_000)
    assert.equal(h.get('svc')!.phase, 'probation')
    assert.deepEqual(h.due(1e9), [], 'a retried component is watched, not retried again')
    // It failed again: the next retry waits twice as long.
    const b = h.hold('svc', 'i2', 'quarantined again', 12_000)
    assert.equal(b.attempt, 1)
    assert.equal(b.retryAtMs, 12_000 + 20_000)
    assert.equal(h.clear('svc'), true)
    assert.equal(h.hold('svc', 'i3', 'x', 0).attempt, 0, 'a cleared hold starts over')
    // An early precondition (a port freed): due as soon as it is true, and never while false.
    let free = false
    h.hold('web', 'i4', 'port held', 0, { what: 'port 8080 is free', ready: () => free, early: true })
    assert.deepEqual(h.due(1e9).map((x) => x.component).filter((c) => c === 'web'), [], 'not while the port is held, however late')
    free = true
    assert.deepEqual(h.due(1).map((x) => x.component).filter((c) => c === 'web'), ['web'])
    // A late one (a freed disk): only once the back-off is over, and only if true.
    let under = true
    h.hold('filler', 'i5', 'disk over limit', 0, { what: 'dir under 160 MB', ready: () => under, early: false })
    assert.equal(h.due(5_000).some((x) => x.component === 'filler'), false)
    under = false
    assert.equal(h.due(20_000).some((x) => x.component === 'filler'), false)
    under = true
    assert.equal(h.due(20_000).some((x) => x.component === 'filler'), true)
    // A precondition that throws is false.
    h.hold('odd', 'i6', 'x', 0, { what: 'y', ready: () => { throw new Error('boom') }, early: true })
    assert.equal(h.due(1e9).some((x) => x.component === 'odd'), false)
  })

  it('honours the restart policy: a finished job is done; restart: never is never restarted', () => {
    const cases: Array<[ComponentSnapshot['restart'], { code: number | null, signal: string | null, reason?: string } | undefined, boolean, boolean]> = [
      // restart, last exit, shouldRun, completed
      ['always', { code: 0, signal: null }, true, false],
      ['always', { code: 1, signal: null }, true, false],
      ['on-failure', { code: 0, signal: null }, false, true],
      ['on-failure', { code: 1, signal: null }, true, false],
      ['on-failure', { code: null, signal: 'SIGKILL' }, true, false],
      ['on-failure', { code: 0, signal: null, reason: 'oom' }, false, false],
      ['on-failure', undefined, true, false],
      ['never', { code: 1, signal: null }, false, false],
      ['never', { code: 0, signal: null }, false, false]
    ]
    for (const [restart, e, run, done] of cases) {
      const lastExit = e === undefined ? undefined : { ...e, atMs: 0 }
      assert.equal(shouldRun({ restart, lastExit }), run, `shouldRun ${restart} ${JSON.stringify(e)}`)
      assert.equal(completed({ restart, lastExit }), done, `completed ${restart} ${JSON.stringify(e)}`)
    }
  })

  it('the watchdog reports every supervision gap, and nothing that is handled, on hold, starting or stopped on purpose', () => {
    const snap = (name: string, o: Partial<ComponentSnapshot>): ComponentSnapshot => ({ name, state: 'running', shared: false, restart: 'on-failure', ...o })
    const snaps: ComponentSnapshot[] = [
      snap('ok', {}),
      snap('died', { state: 'exited', lastExit: { code: 1, signal: null, atMs: 7_000 } }),
      snap('oomed', { state: 'exited', lastExit: { code: null, signal: 'SIGKILL', atMs: 7_000, reason: 'oom' } }),
      snap('done', { state: 'exited', lastExit: { code: 0, signal: null, atMs: 7_000 } }),
      snap('never', { state: 'exited', restart: 'never', lastExit: { code: 2, signal: null, atMs: 7_000 } }),
      snap('stopped', { state: 'stopped' }),
      snap('quarantined', { state: 'quarantined' }),
      snap('hung', { failing: { probe: 'http#0', kind: 'http', detail: 'timeout: no complete response within 1000 ms', firstFailureAtMs: 8_000, consecutiveFailures: 4 } }),
      snap('refusing', { failing: { probe: 'http#0', kind: 'http', detail: 'ECONNREFUSED', consecutiveFailures: 3 } }),
      snap('handled', { state: 'exited', lastExit: { code: 1, signal: null, atMs: 7_000 } }),
      snap('held', { state: 'exited', lastExit: { code: 1, signal: null, atMs: 7_000 } }),
      snap('booting', { failing: { probe: 'http#0', kind: 'http', detail: 'ECONNREFUSED', consecutiveFailures: 3 } }),
      // Verified healthy after its last (failing) periodic result: the verdict has not caught up yet.
      snap('justHealed', { verifiedAtMs: 9_500, failing: { probe: 'http#0', kind: 'http', detail: 'timeout', consecutiveFailures: 3, lastResultAtMs: 9_000 } }),
      snap('failedAgain', { verifiedAtMs: 9_500, failing: { probe: 'http#0', kind: 'http', detail: 'timeout: no complete response within 1000 ms', consecutiveFailures: 3, lastResultAtMs: 9_900 } })
    ]
    const gaps = supervisionGaps(snaps, { handled: (c) => c === 'handled', onHold: (c) => c === 'held', starting: (c) => c === 'booting', nowMs: 10_000 })
    assert.deepEqual(gaps.map((g) => `${g.component}:${g.failureClass}:${g.metric}`), [
      'died:crash:watchdog.not_running',
      'oomed:oom:watchdog.not_running',
      'hung:hang:probe.http',
      'refusing:unhealthy:probe.http',
      'failedAgain:hang:probe.http'
    ])
    assert.match(gaps[0]!.detail!, /died is not running \(it exited 3 s ago \(code 1\); restart: on-failure\) and no incident is handling it/)
    assert.equal(gaps[0]!.onsetMs, 7_000, 'onset: the exit')
    assert.equal(gaps[2]!.onsetMs, 8_000, 'onset: the first failing probe')
    assert.equal(gaps[3]!.onsetMs, 10_000, 'no first failure known: now')
  })

  it('an action made things worse only past noise and a fraction of the value before', () => {
    const m = (value: number, noise = 1) => ({ value, unit: 'MB', what: 'dir', noise })
    const rows: Array<[number, number, number, boolean]> = [
      // before, after, noise, worse?
      [251, 751, 1, true],
      [251, 252, 1, false], // within noise
      [251, 262, 1, false], // within 5 %
      [251, 265, 1, true],
      [0.2, 0.9, 0.1, true], // CPU cores
      [0.5, 0.55, 0.1, false],
      [100, 40, 1, false] // better
    ]
    for (const [b, a, noise, w] of rows) assert.equal(worsened(m(b, noise), m(a, noise), 0.05), w, `${b} → ${a}`)
  })
})

describe('micro loop: an action that made its failure worse is recorded and not tried again', function () {
  this.timeout(30_000)
  it('a restart that grew the measure is noted, warned about, and left out of the next plan for that class on that component', async () => {
    const { createSupervisor } = await import('@homeostat/monitor')
    const { createHlc } = await import('@homeostat/hlc')
    const { createMicroLoop } = await import('@homeostat/micro')
    const sup = createSupervisor({ autoRestart: false, components: [{ name: 'w', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] }] })
    let usage = 100
    const offered: string[][] = []
    const loop = createMicroLoop({
      node: 'n',
      hlc: createHlc({ nodeId: 'n', now: Date.now }),
      supervisor: sup,
      // A failure whose measure a restart makes worse (the writer starts writing again), and whose verifier fails.
      measure: () => ({ value: usage, unit: 'MB', what: 'the data dir', noise: 1 }),
      verifiers: { flood: () => false },
      recoveryDefaults: { verifyTimeoutMs: { default: 300 } },
      actions: { restart: async () => { usage += 250; return { summary: 'restarted w', restarted: true } } },
      policy: {
        async plan (req) { offered.push([...req.available]); const a = req.available.includes('restart') && !req.attempted.includes('restart') ? 'restart' : 'escalate'; return { action: a, target: 'w', reason: 'test', requiresApproval: false, alternatives: [] } },
        record () {}
      }
    })
    loop.start()
    await sup.start()
    try {
      const first = loop.report({ component: 'w', failureClass: 'flood', metric: 'dir.used_mb', kind: 'metric', score: 1, value: usage })!
      const done = await loop.settled(first.incidentId)
      const note = done.steps.find((s) => s.data?.worsened === true)
      assert.ok(note !== undefined, done.steps.map((s) => s.summary).join(' | '))
      assert.match(note.summary, /restart made the data dir worse \(100 MB → 350 MB\): not tried again for flood on w/)
      assert.equal(loop.stats().worsened, 1)
      const second = loop.report({ component: 'w', failureClass: 'flood', metric: 'dir.used_mb', kind: 'metric', score: 1, value: usage })!
      await loop.settled(second.incidentId)
      assert.ok(offered[0]!.includes('restart'))
      assert.ok(!offered[offered.length - 1]!.includes('restart'), `the next incident is not offered restart: ${offered[offered.length - 1]!.join(',')}`)
      // Another class on the same component is not affected.
      const other = loop.report({ component: 'w', failureClass: 'crash', metric: 'process.exit', kind: 'exit', score: 1, value: 1 })!
      await loop.settled(other.incidentId)
      assert.ok(offered[offered.length - 1]!.includes('restart'))
    } finally {
      await loop.stop(1000)
      await sup.stop({ graceMs: 200 })
    }
  })
})
