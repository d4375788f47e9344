// One clock, two names: the agent's HLC under its node name (incidents) and
// under its peer id (the mesh). A message received on the mesh face orders
// every later incident stamp after it, even when this node's wall clock is
// behind the sender's.
import { strict as assert } from 'node:assert'
import { compare, createHlc, labelledHlc } from '../src/index.ts'

describe('labelledHlc', () => {
  it('shares the clock: a receive on the mesh face orders later stamps on the incident face after the remote time', () => {
    let wallA = 1_700_000_010_000
    let wallB = 1_700_000_009_700 // 300 ms behind (within the clock's offset limit)
    const a = createHlc({ nodeId: 'edge-a', now: () => wallA })
    const b = createHlc({ nodeId: 'edge-b', now: () => wallB })
    const bMesh = labelledHlc(b, '12D3KooWPeerOfB')
    const incidentOnA = a.now()
    const received = bMesh.receive(labelledHlc(a, '12D3KooWPeerOfA').now())
    assert.equal(received.node, '12D3KooWPeerOfB')
    wallB += 10
    const incidentOnB = b.now()
    assert.equal(incidentOnB.node, 'edge-b')
    assert.ok(compare(incidentOnB, incidentOnA) > 0, 'B\'s later incident is after A\'s, although B\'s wall clock is behind')
    assert.ok(compare(incidentOnB, received) > 0)
    assert.equal(b.stats().received, 1, 'one clock: the receive counted on it')
    wallA += 1
    assert.deepEqual(bMesh.peek(), { ...b.peek(), node: '12D3KooWPeerOfB' })
  })

  it('refuses an invalid node id and keeps the offset limit of the clock', () => {
    const c = createHlc({ nodeId: 'n', now: () => 1000, maxOffsetMs: 50 })
    assert.throws(() => labelledHlc(c, ''), TypeError)
    const v = labelledHlc(c, 'peer')
    assert.equal(v.maxOffsetMs, 50)
    assert.throws(() => v.receive({ wallMs: 2000, logical: 0, node: 'far' }), { name: 'HlcClockOffsetError' })
  })
})
