import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import {
  quantize8, dequantize8, quantizedByteLength, QUANT_BLOCK, encodeContribution, decodeContribution,
  createCheckpoint, encodeCheckpoint, decodeCheckpoint, validateCheckpoint, checkpointHash, EMPTY_FOLDED, foldedWith
} from '@homeostat/federated'
import { contrib, vec, P } from './helpers.ts'

describe('federated: quantisation and codecs', () => {
  it('q8 round-trips within half a step of each block scale and is ~0.25 of float32', () => {
    fc.assert(fc.property(fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 1000 }), (xs) => {
      const v = Float32Array.from(xs)
      const back = dequantize8(quantize8(v), v.length)
      for (let b = 0; b * QUANT_BLOCK < v.length; b++) {
        const block = xs.slice(b * QUANT_BLOCK, (b + 1) * QUANT_BLOCK)
        const step = Math.max(...block.map(Math.abs)) / 127
        for (let i = b * QUANT_BLOCK; i < Math.min(v.length, (b + 1) * QUANT_BLOCK); i++) assert.ok(Math.abs(back[i]! - v[i]!) <= step / 2 + 1e-6)
      }
    }))
    assert.ok(quantizedByteLength(7850) / (7850 * 4) < 0.26)
  })

  it('contributions round-trip, both encodings', () => {
    for (const encoding of ['f32', 'q8'] as const) {
      const c = contrib('a', 3, vec((i) => Math.sin(i)), { encoding })
      const d = decodeContribution(encodeContribution(c), P)
      assert.equal(d.id, 'a/3')
      assert.equal(d.values.length, P)
      if (encoding === 'f32') assert.deepEqual(Array.from(d.values), Array.from(vec((i) => Math.sin(i))))
    }
  })

  const bad: Array<[string, (b: Uint8Array) => Uint8Array, string]> = [
    ['a flipped delta byte (checksum)', (b) => { const x = b.slice(); x[x.length - 1] ^= 1; return x }, 'FED_CHECKSUM'],
    ['a truncated payload', (b) => b.slice(0, b.length - 4), 'FED_CHECKSUM'],
    ['garbage', () => new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'FED_DECODE'],
    ['an oversized blob', () => new Uint8Array(2 * 1024 * 1024), 'FED_TOO_LARGE']
  ]
  for (const [name, mutate, code] of bad) {
    it(`rejects ${name} with ${code}`, () => {
      const bytes = encodeContribution(contrib('a', 1, vec([0.1, -0.2])))
      assert.throws(() => decodeContribution(mutate(bytes), P), { code })
    })
  }

  it('rejects NaN/Inf and the wrong shape', () => {
    assert.throws(() => decodeContribution(encodeContribution(contrib('a', 1, vec([0.1, Number.NaN]))), P), { code: 'FED_NON_FINITE' })
    assert.throws(() => decodeContribution(encodeContribution(contrib('a', 1, vec([0.1, Infinity]))), P), { code: 'FED_NON_FINITE' })
    assert.throws(() => decodeContribution(encodeContribution(contrib('a', 1, vec([0.1], 10))), P), { code: 'FED_SHAPE' })
  })

  it('checkpoints store folded runs; the older id-list header still reads; a malformed one is refused with a code', () => {
    const params = vec([0.5, -0.25])
    const bytesOf = (header: object): Uint8Array => {
      const head = new TextEncoder().encode(JSON.stringify({ ...header, length: params.length }))
      const out = new Uint8Array(4 + head.length + params.byteLength)
      new DataView(out.buffer).setUint32(0, head.length, true)
      out.set(head, 4)
      out.set(new Uint8Array(params.buffer), 4 + head.length)
      return out
    }
    // Written by an agent before runs: the ids of one compaction step, hashed as a sorted list.
    const legacy = decodeCheckpoint(bytesOf({ version: 3, folded: ['b/2', 'a/1', 'a/2'], hlc: 'h', hash: checkpointHash(3, ['a/1', 'a/2', 'b/2'], params) }), P)
    assert.deepEqual(JSON.parse(JSON.stringify(legacy.folded)), { a: [[1, 2]], b: [[2, 2]] })
    const cp = createCheckpoint({ version: 3, params, folded: foldedWith(EMPTY_FOLDED, ['a/1', 'a/2', 'b/2']), hlc: 'h' })
    assert.deepEqual(decodeCheckpoint(encodeCheckpoint(cp), P).folded, cp.folded)
    const bad: Array<[string, object]> = [
      ['a reversed run', { version: 3, runs: [['a', [[5, 1]]]], hlc: 'h', hash: cp.hash }],
      ['a node listed twice', { version: 3, runs: [['a', [[1, 1]]], ['a', [[2, 2]]]], hlc: 'h', hash: cp.hash }],
      ['both forms', { version: 3, runs: [], folded: [], hlc: 'h', hash: cp.hash }],
      ['neither form', { version: 3, hlc: 'h', hash: cp.hash }],
      ['a negative round', { version: 3, runs: [['a', [[-1, 2]]]], hlc: 'h', hash: cp.hash }]
    ]
    for (const [what, header] of bad) assert.throws(() => decodeCheckpoint(bytesOf(header), P), { code: 'FED_CHECKPOINT_CORRUPT' }, what)
    // The runs are covered by the hash: widening one is a mismatch.
    assert.throws(() => decodeCheckpoint(bytesOf({ version: 3, runs: [['a', [[0, 2]]], ['b', [[2, 2]]]], hlc: 'h', hash: cp.hash }), P), { code: 'FED_CHECKPOINT_CORRUPT' })
  })

  it('checkpoints verify their hash and reject NaN or out-of-bounds parameters', () => {
    const cp = createCheckpoint({ version: 4, params: vec([0.5, -0.25]), folded: foldedWith(EMPTY_FOLDED, ['a/1', 'b/2']), hlc: 'x' })
    assert.deepEqual(decodeCheckpoint(encodeCheckpoint(cp), P).params, cp.params)
    const torn = encodeCheckpoint(cp).slice(0, 100)
    assert.throws(() => decodeCheckpoint(torn, P), { code: 'FED_CHECKPOINT_CORRUPT' })
    const flipped = encodeCheckpoint(cp); flipped[flipped.length - 2] ^= 0x40
    assert.throws(() => decodeCheckpoint(flipped, P), { code: 'FED_CHECKPOINT_CORRUPT' })
    assert.throws(() => validateCheckpoint(createCheckpoint({ version: 1, params: vec([Number.NaN]), hlc: '' })), { code: 'FED_CHECKPOINT_INVALID' })
    assert.throws(() => validateCheckpoint(cp, { maxAbs: 0.3, maxNorm: 100 }), { code: 'FED_CHECKPOINT_INVALID' })
  })
})
