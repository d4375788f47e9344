// The HLC timestamp, its total order and its order-preserving encodings.

/** One hybrid logical clock reading: `wallMs` is l (the largest physical time
 * seen, in ms), `logical` is c, `node` breaks ties so that the order is total. */
export interface HlcTimestamp {
  readonly wallMs: number
  readonly logical: number
  readonly node: string
}

/** l is kept in 48 bits (enough until the year 10889). */
export const MAX_WALL_MS = 2 ** 48 - 1
/** c is kept in 32 bits; the clock refuses to go past it rather than wrap. */
export const MAX_LOGICAL = 2 ** 32 - 1
/** Node ids are printable ASCII so that string order equals byte order. */
export const MAX_NODE_ID_LENGTH = 128
const NODE_ID_RE = /^[\x21-\x7e]+$/

const WALL_HEX = 12
const LOGICAL_HEX = 8
const PREFIX = WALL_HEX + LOGICAL_HEX

export class HlcEncodingError extends Error {
  readonly name = 'HlcEncodingError'
  readonly code = 'HLC_ENCODING'
}

export function isValidNodeId (node: string): boolean {
  return node.length > 0 && node.length <= MAX_NODE_ID_LENGTH && NODE_ID_RE.test(node)
}

export function assertTimestamp (t: HlcTimestamp): void {
  if (!Number.isSafeInteger(t.wallMs) || t.wallMs < 0 || t.wallMs > MAX_WALL_MS) {
    throw new HlcEncodingError(`hlc wallMs must be an integer in [0, 2^48), got ${String(t.wallMs)}`)
  }
  if (!Number.isSafeInteger(t.logical) || t.logical < 0 || t.logical > MAX_LOGICAL) {
    throw new HlcEncodingError(`hlc logical must be an integer in [0, 2^32), got ${String(t.logical)}`)
  }
  if (typeof t.node !== 'string' || !isValidNodeId(t.node)) {
    throw new HlcEncodingError(`hlc node must be 1-${MAX_NODE_ID_LENGTH} printable ASCII characters`)
  }
}

/** Total order: physical part, then logical counter, then node id. */
export function compare (a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  if (a.node === b.node) return 0
  return a.node < b.node ? -1 : 1
}

/** The (l, c) part only: two events on different nodes may tie here. */
export function compareClock (a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  return 0
}

export function max (a: HlcTimestamp, b: HlcTimestamp): HlcTimestamp {
  return compare(a, b) >= 0 ? a : b
}

/**
 * String encoding: 12 hex digits of l, 8 of c, then the node id. Fixed-width
 * lower-case hex sorts like the numbers, so string (and UTF-8 byte) order of
 * encodings equals `compare` order: usable as a LevelDB key.
 */
export function encode (t: HlcTimestamp): string {
  assertTimestamp(t)
  return t.wallMs.toString(16).padStart(WALL_HEX, '0') + t.logical.toString(16).padStart(LOGICAL_HEX, '0') + t.node
}

const HEX_RE = /^[0-9a-f]+$/

export function decode (s: string): HlcTimestamp {
  if (typeof s !== 'string' || s.length <= PREFIX || s.length > PREFIX + MAX_NODE_ID_LENGTH) {
    throw new HlcEncodingError('hlc encoding has the wrong length')
  }
  const wall = s.slice(0, WALL_HEX)
  const logical = s.slice(WALL_HEX, PREFIX)
  if (!HEX_RE.test(wall) || !HEX_RE.test(logical)) throw new HlcEncodingError('hlc encoding is not lower-case hex')
  const t = { wallMs: parseInt(wall, 16), logical: parseInt(logical, 16), node: s.slice(PREFIX) }
  assertTimestamp(t)
  return t
}

/** Binary form: 6 bytes l and 4 bytes c, big-endian, then the node id in ASCII. */
export function toBytes (t: HlcTimestamp): Uint8Array {
  assertTimestamp(t)
  const out = new Uint8Array(10 + t.node.length)
  let hi = Math.floor(t.wallMs / 2 ** 16)
  const lo = t.wallMs % 2 ** 16
  for (let i = 3; i >= 0; i--) { out[i] = hi & 0xff; hi = Math.floor(hi / 256) }
  out[4] = lo >> 8; out[5] = lo & 0xff
  let c = t.logical
  for (let i = 9; i >= 6; i--) { out[i] = c & 0xff; c = Math.floor(c / 256) }
  for (let i = 0; i < t.node.length; i++) out[10 + i] = t.node.charCodeAt(i)
  return out
}

export function fromBytes (b: Uint8Array): HlcTimestamp {
  if (b.length <= 10 || b.length > 10 + MAX_NODE_ID_LENGTH) throw new HlcEncodingError('hlc bytes have the wrong length')
  let wallMs = 0
  for (let i = 0; i < 6; i++) wallMs = wallMs * 256 + b[i]!
  let logical = 0
  for (let i = 6; i < 10; i++) logical = logical * 256 + b[i]!
  let node = ''
  for (let i = 10; i < b.length; i++) node += String.fromCharCode(b[i]!)
  const t = { wallMs, logical, node }
  assertTimestamp(t)
  return t
}
