import { strict as assert } from 'node:assert'
import { createHlc, compare, encode, decode, HlcClockOffsetError } from '@homeostat/hlc'

describe('hlc: basic', () => {
  it('now() is strictly increasing while physical time stands still', () => {
    const clock = createHlc({ nodeId: 'a', now: () => 1000 })
    const a = clock.now()
    const b = clock.now()
    assert.equal(compare(a, b), -1)
    assert.deepEqual(b, { wallMs: 1000, logical: 1, node: 'a' })
  })

  it('refuses a remote more than maxOffsetMs ahead and does not move', () => {
    const clock = createHlc({ nodeId: 'a', now: () => 1000 })
    const before = clock.now()
    assert.throws(() => clock.receive({ wallMs: 1501, logical: 0, node: 'b' }), (e: Error & { code?: string }) => e.code === 'HLC_CLOCK_OFFSET' && e instanceof HlcClockOffsetError)
    assert.deepEqual(clock.peek(), before)
    assert.equal(clock.stats().offsetRejected, 1)
    const t = clock.receive({ wallMs: 1500, logical: 7, node: 'b' })
    assert.deepEqual(t, { wallMs: 1500, logical: 8, node: 'a' })
  })

  it('encode/decode round-trips', () => {
    const t = { wallMs: 1732800000000, logical: 42, node: '12D3KooW' }
    assert.deepEqual(decode(encode(t)), t)
  })
})
