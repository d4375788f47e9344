// A CPU fix for @libp2p/utils' LengthPrefixedDecoder (used by Noise for every
// encrypted frame). Its decode loop asks the length decoder for the next
// prefix until that throws a RangeError "not enough data" — so every chunk
// read from every connection ends by constructing and throwing an Error with a
// stack trace. Profiled on a 10-node fleet, that throw was ~15 % of the
// mesh's JavaScript time at idle (pings) and ~10 % under gossip load.
//
// The replacement below is the same algorithm with one added check: stop
// when fewer bytes are buffered than the smallest possible length prefix
// (1 byte for varints, 2 for Noise's uint16), which is the common case of a
// drained buffer. Everything else (limits, errors, yielded frames) is as
// upstream; test/frame-decoder-patch.test.ts checks it frame for frame
// against the original on randomly cut streams. Applied once, at import.
import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

interface DecoderInternals {
  buffer: Uint8ArrayList
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (buf: Uint8ArrayList) => number
  encodingLength: (value: number) => number
}

type Decode = (this: DecoderInternals, buf: Uint8Array | Uint8ArrayList) => Generator<Uint8ArrayList, void, unknown>

const proto = LengthPrefixedDecoder.prototype as unknown as { decode: Decode, __homeostatOriginalDecode?: Decode }

/** The upstream implementation, kept for the equivalence test. */
export const originalDecode: Decode = proto.__homeostatOriginalDecode ?? proto.decode

const patchedDecode: Decode = function * (buf) {
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

if (proto.__homeostatOriginalDecode == null) {
  proto.__homeostatOriginalDecode = proto.decode
  proto.decode = patchedDecode
}

export {}
