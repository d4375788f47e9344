// The catch-up request: the requester's Yjs state vector, optionally followed
// by a push — an update with what the requester holds that the server is
// believed to lack (after a partition: everything learnt since the server was
// last seen alive). The push makes a heal one exchange instead of two: the
// server gets the requester's side in the request and the requester gets the
// server's side in the response, instead of the server pulling back later.
//
// Wire format: [state vector][push update?]. A state vector is self-delimiting
// (varuint count, then count × (varuint client, varuint clock)), so a request
// without a push is exactly the old request, and an older server that decodes
// only the state vector ignores a push it does not know about.

export class SyncRequestError extends Error {
  readonly code = 'ERR_SYNC_REQUEST'
  constructor (message: string) {
    super(message)
    this.name = 'SyncRequestError'
  }
}

/** Most entries a state vector may declare: one per writer that ever touched the document. */
const MAX_SV_ENTRIES = 1 << 20

/** Reads one unsigned LEB128 varint (lib0's encoding, at most 53 bits) at `pos`. */
function readVarUint (b: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0
  let mult = 1
  for (let i = pos; i < b.byteLength; i++) {
    const byte = b[i] as number
    value += (byte & 0x7f) * mult
    if (byte < 0x80) return [value, i + 1]
    mult *= 128
    if (mult > 2 ** 53) throw new SyncRequestError('varint longer than 53 bits')
  }
  throw new SyncRequestError('truncated varint')
}

/** Byte length of the state vector at the start of `request` (throws SyncRequestError when malformed). */
export function stateVectorLength (request: Uint8Array): number {
  let [count, pos] = readVarUint(request, 0)
  if (count > MAX_SV_ENTRIES) throw new SyncRequestError(`state vector declares ${count} writers`)
  for (let i = 0; i < count; i++) {
    pos = readVarUint(request, pos)[1] // client
    pos = readVarUint(request, pos)[1] // clock
  }
  return pos
}

/** Splits a catch-up request into its state vector and its push (empty when none). */
export function splitSyncRequest (request: Uint8Array): { sv: Uint8Array, push: Uint8Array } {
  const end = stateVectorLength(request)
  return { sv: request.subarray(0, end), push: request.subarray(end) }
}

/** A catch-up request: `sv`, followed by `push` when there is one. */
export function encodeSyncRequest (sv: Uint8Array, push?: Uint8Array): Uint8Array {
  if (push == null || push.byteLength === 0) return sv
  const out = new Uint8Array(sv.byteLength + push.byteLength)
  out.set(sv)
  out.set(push, sv.byteLength)
  return out
}
