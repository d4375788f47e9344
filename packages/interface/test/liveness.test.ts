import assert from 'node:assert/strict'
import { isDefinitiveDeath, LIVENESS_REASONS } from '../src/index.ts'

describe('interface/liveness reasons', () => {
  const table: Array<[string, boolean]> = [
    [LIVENESS_REASONS.connectionLost, true],
    [LIVENESS_REASONS.hostUnreachable, false],
    [LIVENESS_REASONS.suspicionTimeout, false],
    [LIVENESS_REASONS.connectionClose, false],
    [LIVENESS_REASONS.pingTimeout, false],
    ['', false],
    ['something:new', false]
  ]
  for (const [reason, definitive] of table) {
    it(`${JSON.stringify(reason)} → ${definitive ? 'definitive' : 'not definitive'}`, () => {
      assert.equal(isDefinitiveDeath(reason), definitive)
    })
  }
  it('reasons are distinct strings', () => {
    const values = Object.values(LIVENESS_REASONS)
    assert.equal(new Set(values).size, values.length)
  })
})
