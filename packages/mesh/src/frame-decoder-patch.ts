// A CPU fix for @libp2p/utils' LengthPrefixedDecoder (used by Noise for every
// encrypted frame). Its decode loop asks the length decoder for the next
// prefix until that throws a RangeError "not enough data" — so every chunk
// read from every connection ends by constructing and throwing an Error with a
// stack trace. Profiled on a 10-node fleet, that throw was ~15 % of the
// mesh's JavaScript time at idle (pings) and ~10 % under gossip load
// (10 nodes in one process: idle 0.19 → 0.16 cores, 20 msg/s 0.73 → 0.63).
//
// The replacement below is the same algorithm with one added check: stop
// when fewer bytes are buffered than the smallest possible length prefix
// (1 byte for varints, 2 for Noise's uint16), which is the common case of a
// drained buffer. Everything else (limits, errors, yielded frames) is as
// upstream; test/frame-decoder-patch.test.ts checks it frame for frame
// against the original on randomly cut streams, and
// test/patches-real-node.test.ts on a real node's connections.
//
// This module has no side effect: `frameDecoderPatch.apply()` (apply-patches.ts,
// imported by node.ts) checks the installed version, that Noise loads this copy
// of @libp2p/utils and the decoder's shape (patch-guard.ts), then installs it.
import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { createGuardedPatch, missingFrom, type GuardedPatch, type PatchSpec } from './patch-guard.ts'

interface DecoderInternals {
  buffer: Uint8ArrayList
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (buf: Uint8ArrayList) => number
  encodingLength: (value: number) => number
}

type Decode = (this: DecoderInternals, buf: Uint8Array | Uint8ArrayList) => Generator<Uint8ArrayList, void, unknown>

/** The prototype as the patch sees it: `decode`, and the upstream one kept aside once patched. */
export interface DecoderPrototype { decode: Decode, __homeostatOriginalDecode?: Decode }
/** What the patch rewrites: the class (constructed once by the shape check to see its fields). */
export type DecoderClass = new (init?: Record<string, unknown>) => object

const proto = LengthPrefixedDecoder.prototype as unknown as DecoderPrototype

/** The upstream implementation, kept for the equivalence test. */
export const originalDecode: Decode = proto.__homeostatOriginalDecode ?? proto.decode

/** The patched implementation (installed on the prototype by `frameDecoderPatch.apply()`). */
export const patchedDecode: Decode = function * (buf) {
  // Smallest prefix this decoder can read; anything shorter cannot hold a length.
  const minPrefix = Math.max(1, this.encodingLength(0))
  if (this.buffer.byteLength + buf.byteLength < minPrefix) {
    // Not enough for a prefix even with the new bytes: buffer them (the upstream limit check
    // still applies through the original on the next call).
    this.buffer.append(buf)
    return
  }
  // Let upstream append, enforce its limits and yield; it only throws its RangeError at the
  // end of a chunk when bytes remain that do not form a prefix, which is now rare.
  const inner = originalDecode.call(this, buf)
  for (;;) {
    // Before upstream tries to read a prefix from a drained buffer, stop it.
    const next = inner.next()
    if (next.done === true) return
    yield next.value
    if (this.buffer.byteLength < minPrefix) return
  }
}

/** @libp2p/utils versions whose LengthPrefixedDecoder the patch was read against and tested with. */
export const FRAME_DECODER_VERSIONS: readonly string[] = ['7.4.1']

const GeneratorFunction = Object.getPrototypeOf(function * () {}) as object

export const frameDecoderPatchSpec: PatchSpec<DecoderClass> = {
  name: 'frame-decoder',
  package: '@libp2p/utils',
  specifier: '@libp2p/utils',
  versions: FRAME_DECODER_VERSIONS,
  // Noise constructs the decoders; it must load this copy of @libp2p/utils.
  consumers: ['@chainsafe/libp2p-noise'],
  target: () => LengthPrefixedDecoder as unknown as DecoderClass,
  shape (cls) {
    const p = cls.prototype as Partial<DecoderPrototype>
    if (typeof p.decode !== 'function') return 'LengthPrefixedDecoder.prototype.decode is not a function'
    if (Object.getPrototypeOf(p.decode) !== GeneratorFunction) return 'decode is no longer a generator'
    const missing = missingFrom(String(p.decode), ['this.buffer', 'this.lengthDecoder', 'this.encodingLength', 'RangeError'])
    if (missing.length > 0) return `decode no longer uses ${missing.join(', ')}`
    const d = new cls() as Partial<Record<keyof DecoderInternals, unknown>>
    const buffer = d.buffer as { append?: unknown, byteLength?: unknown } | undefined
    if (typeof buffer?.append !== 'function' || typeof buffer.byteLength !== 'number') return 'decoder.buffer is not a Uint8ArrayList'
    for (const f of ['lengthDecoder', 'encodingLength'] as const) if (typeof d[f] !== 'function') return `decoder.${f} is not a function`
    for (const f of ['maxBufferSize', 'maxDataLength'] as const) if (typeof d[f] !== 'number') return `decoder.${f} is not a number`
    return undefined
  },
  installed: (cls) => Object.hasOwn(cls.prototype as object, '__homeostatOriginalDecode'),
  install (cls) {
    const p = cls.prototype as DecoderPrototype
    p.__homeostatOriginalDecode = p.decode
    p.decode = patchedDecode
  }
}

/** The guarded patch of the process (applied by apply-patches.ts). */
export const frameDecoderPatch: GuardedPatch = createGuardedPatch(frameDecoderPatchSpec)
