// Pure parts of the micro loop, from tables: classification (trend maths are the monitor's, tested there),
// the incident log (HLC stamping, status, bounds), and anti-flapping rules
// with a scripted target.
import assert from 'node:assert/strict'
import { createHlc } from '@homeostat/hlc'
import { LIMITS } from '@homeostat/interface'
import { classifyExit, classifyProbe, createIncidentLog } from '@homeostat/micro'

describe('micro loop units', () => {
  it('classifies exits and probe failures', () => {
    const exits: Array<[object, string]> = [
      [{ code: 1, signal: null }, 'crash'],
      [{ code: null, signal: 'SIGSEGV' }, 'crash'],
      [{ code: null, signal: 'SIGKILL', reason: 'oom' }, 'oom'],
      [{ code: null, signal: null, reason: 'spawn_error' }, 'spawn_error']
    ]
    for (const [e, c] of exits) assert.equal(classifyExit(e as never), c)
    const probes: Array<[string, string | undefined, string]> = [
      ['http', 'timeout: no complete response within 300 ms', 'hang'],
      ['tcp', 'timeout: no connection within 500 ms', 'hang'],
      ['http', 'HTTP 500 not accepted', 'unhealthy'],
      ['http', 'ECONNREFUSED: connect ECONNREFUSED', 'unhealthy'],
      ['heartbeat', 'heartbeat /run/w.beat is 12000 ms old (max 5000 ms)', 'hang'],
      ['heartbeat', 'heartbeat file /run/w.beat does not exist', 'unhealthy'],
      ['exec', 'exit 1 (expected 0)', 'unhealthy'],
      ['process', 'pid 4 is stopped (state T)', 'hang'],
      ['process', 'pid 4 is a zombie', 'hang'],
      ['systemd', 'systemctl timed out after 2000 ms', 'hang'],
      ['process', undefined, 'crash']
    ]
    for (const [k, d, c] of probes) assert.equal(classifyProbe(k, d), c, `${k} ${d}`)
  })

  it('keeps incident records HLC-stamped, status-derived and bounded', () => {
    let t = 1_000_000
    const hlc = createHlc({ nodeId: 'n1', now: () => t })
    const published: string[] = []
    const log = createIncidentLog({ node: 'n1', hlc, now: () => t, maxIncidents: 2, maxAnomaliesPerIncident: 2, publish: (i) => { published.push(i.status) } })
    const anomaly = { id: 'a1', node: 'n1', component: 'c', metric: 'process.exit', kind: 'exit' as const, score: 1, value: 1, hlc: '0', atMs: t - 50 }
    const inc = log.open({ component: 'c', failureClass: 'crash', targetKind: 'process', anomaly: { ...anomaly, hlc: '00000000000f4240000000000n1' }, onsetMs: t - 50, summary: 'x' })
    assert.equal(inc.openedAtMs, t - 50)
    assert.deepEqual(inc.steps.map((s) => s.kind), ['opened', 'detected'])
    assert.equal(inc.steps[1].data?.detectionMs, 50)
    t += 10
    log.step(inc.id, { kind: 'acted', summary: 'restart' })
    assert.equal(log.get(inc.id)!.status, 'recovering')
    log.step(inc.id, { kind: 'escalated', summary: 'next', data: { to: 'next_action' } })
    assert.equal(log.get(inc.id)!.status, 'recovering', 'escalating to the next action keeps it open')
    log.step(inc.id, { kind: 'recovered', summary: 'ok' })
    assert.equal(log.get(inc.id)!.status, 'recovered')
    assert.deepEqual(published, ['open', 'recovering', 'recovering', 'recovered'])
    for (let i = 0; i < 5; i++) log.attach(inc.id, { ...anomaly, id: `x${i}` })
    assert.equal(log.get(inc.id)!.anomalies.length, 2, 'anomalies per incident are bounded')
    for (let i = 0; i < LIMITS.incidentSteps + 10; i++) log.step(inc.id, { kind: 'note', summary: 'n' })
    assert.ok(log.get(inc.id)!.steps.length <= LIMITS.incidentSteps)
    assert.ok(log.droppedSteps > 0)
    // bounded: closed incidents are dropped first
    log.open({ component: 'd', failureClass: 'crash', targetKind: 'process', anomaly, onsetMs: t, summary: 'y' })
    log.open({ component: 'e', failureClass: 'crash', targetKind: 'process', anomaly, onsetMs: t, summary: 'z' })
    assert.equal(log.list().length, 2)
    assert.equal(log.get(inc.id), undefined)
    // a step for an unknown incident is still returned (stamped) but changes nothing
    assert.equal(log.step('nope', { kind: 'note', summary: 'x' }).kind, 'note')
  })
})
