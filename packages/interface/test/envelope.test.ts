import { strict as assert } from 'node:assert'
import { z } from 'zod'
import { encode } from '@homeostat/hlc'
import { decodeEnvelope, encodeEnvelope, parseWith, incidentSchema, LIMITS, type Envelope } from '@homeostat/interface'

const hlc = encode({ wallMs: 1_700_000_000_000, logical: 3, node: 'peerA' })
const body = z.object({ n: z.number().int() }).strict()
const good: Envelope<{ n: number }> = { v: 1, type: 'health.report', from: 'peerA', hlc, body: { n: 1 } }

describe('interface: envelopes', () => {
  it('round-trips a valid envelope', () => {
    assert.deepEqual(decodeEnvelope(encodeEnvelope(good), body), good)
  })

  const bad: Array<[string, unknown, string]> = [
    ['wrong version', { ...good, v: 2 }, 'ERR_VALIDATION'],
    ['bad type name', { ...good, type: 'Health Report' }, 'ERR_VALIDATION'],
    ['bad hlc', { ...good, hlc: 'yesterday-ish-time-xx' }, 'ERR_VALIDATION'],
    ['body fails schema', { ...good, body: { n: 1.5 } }, 'ERR_VALIDATION'],
    ['extra key', { ...good, extra: true }, 'ERR_VALIDATION'],
    ['missing from', { v: 1, type: 'x', hlc, body: {} }, 'ERR_VALIDATION']
  ]
  for (const [name, value, code] of bad) {
    it(`rejects ${name}`, () => {
      const bytes = new TextEncoder().encode(JSON.stringify(value))
      assert.throws(() => decodeEnvelope(bytes, body), { code })
    })
  }

  it('rejects non-JSON and invalid UTF-8', () => {
    assert.throws(() => decodeEnvelope(new TextEncoder().encode('{not json'), body), { code: 'ERR_VALIDATION' })
    assert.throws(() => decodeEnvelope(new Uint8Array([0xff, 0xfe, 0x7b]), body), { code: 'ERR_VALIDATION' })
  })

  it('rejects oversized input before parsing', () => {
    const big = new Uint8Array(LIMITS.envelopeBytes + 1)
    assert.throws(() => decodeEnvelope(big, body), { code: 'ERR_TOO_LARGE' })
  })

  it('names the bad field of a record', () => {
    try {
      parseWith(incidentSchema, { id: 'i1' }, 'incident')
      assert.fail('expected a validation error')
    } catch (err) {
      const e = err as { code: string, issues: string[] }
      assert.equal(e.code, 'ERR_VALIDATION')
      assert.ok(e.issues.some((i) => i.startsWith('node:')), e.issues.join('\n'))
    }
  })
})
