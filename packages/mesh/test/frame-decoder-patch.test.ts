// The LengthPrefixedDecoder fix (src/frame-decoder-patch.ts): same frames as upstream on randomly
// cut streams, and no "not enough data" RangeError thrown at the end of every chunk. The patched and
// the upstream function are called directly: this file never installs the patch (only node.ts does;
// patches-real-node.test.ts checks that a real node's decoders run it).
import { strict as assert } from 'node:assert'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { seededRandom } from '@homeostat/interface'
import { originalDecode, patchedDecode } from '../src/frame-decoder-patch.ts'

const rng = seededRandom

/** What the decoder hands a length decoder (@libp2p/utils' own uint8arraylist, not the one noise and yamux use). */
type Uint8ArrayList = Exclude<Parameters<NonNullable<NonNullable<ConstructorParameters<typeof LengthPrefixedDecoder>[0]>['lengthDecoder']>>[0], Uint8Array>

interface Prefix { name: string, encode: (n: number) => Uint8Array, decode: (b: Uint8ArrayList) => number, length: (n: number) => number }
const uint16: Prefix = {
  name: 'uint16 (Noise)',
  encode: (n) => Uint8Array.of(n >> 8, n & 0xff),
  decode: (b) => { if (b.byteLength < 2) throw new RangeError('Could not decode int16BE'); return b.getUint16(0) },
  length: () => 2
}
const uvarint: Prefix = {
  name: 'varint',
  encode: (n) => varint.encode(n),
  decode: (b) => varint.decode(b),
  length: (n) => varint.encodingLength(n)
}

function makeFrames (random: () => number, count: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const n = random() < 0.1 ? Math.floor(random() * 3000) : 1 + Math.floor(random() * 200)
    return Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
  })
}

function decodeAll (prefix: Prefix, chunks: Uint8Array[], decode: typeof originalDecode): { frames: string[], throws: number, error?: string } {
  let throws = 0
  const decoder = new LengthPrefixedDecoder({
    lengthDecoder: (b) => { try { return prefix.decode(b as Uint8ArrayList) } catch (err) { throws++; throw err } },
    encodingLength: prefix.length,
    maxDataLength: 4096
  })
  const frames: string[] = []
  try {
    for (const chunk of chunks) for (const f of decode.call(decoder as never, chunk)) frames.push(Buffer.from(f.subarray()).toString('hex'))
  } catch (err) {
    return { frames, throws, error: (err as Error).name }
  }
  return { frames, throws }
}

describe('mesh frame decoder patch', () => {
  for (const prefix of [uint16, uvarint]) {
    it(`${prefix.name}: same frames as upstream at random cuts (seeded)`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const random = rng(seed)
        const frames = makeFrames(random, 1 + Math.floor(random() * 30))
        const whole = Buffer.concat(frames.flatMap((f) => [prefix.encode(f.length), f]))
        const chunks: Uint8Array[] = []
        for (let at = 0; at < whole.length;) {
          const n = random() < 0.3 ? 1 : 1 + Math.floor(random() * 400)
          chunks.push(whole.subarray(at, at + n))
          at += n
        }
        const patched = decodeAll(prefix, chunks, patchedDecode)
        const upstream = decodeAll(prefix, chunks, originalDecode)
        assert.deepEqual(patched.frames, upstream.frames, `seed ${seed}`)
        assert.deepEqual(patched.frames, frames.filter((f) => f.length > 0).map((f) => Buffer.from(f).toString('hex')), `seed ${seed}`)
        assert.ok(patched.throws <= upstream.throws, `seed ${seed}`)
      }
    })
  }

  it('whole frames per chunk: upstream throws once per chunk, the patch never', () => {
    const random = rng(7)
    const chunks = makeFrames(random, 50).map((f) => Buffer.concat([uint16.encode(f.length), f]))
    assert.equal(decodeAll(uint16, chunks, originalDecode).throws, 50)
    const patched = decodeAll(uint16, chunks, patchedDecode)
    assert.equal(patched.throws, 0)
    assert.equal(patched.frames.length, 50)
  })

  it('limits still hold: an oversized length is refused as upstream', () => {
    const chunks = [Buffer.concat([uint16.encode(5000), new Uint8Array(10)])]
    const patched = decodeAll(uint16, chunks, patchedDecode)
    const upstream = decodeAll(uint16, chunks, originalDecode)
    assert.equal(patched.error, 'InvalidMessageLengthError')
    assert.equal(upstream.error, patched.error)
  })
})
