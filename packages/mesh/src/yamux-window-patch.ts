// A CPU fix for @chainsafe/libp2p-yamux 8: fewer window updates.
//
// js-yamux answers *every* received data frame with a WindowUpdate frame that
// returns the bytes just read. Gossipsub sends one small data frame per RPC,
// so half the frames on a busy connection were these 12-byte updates, each
// paying a Noise encryption, a pnet cipher pass and a socket write on one
// side and the reverse on the other. Profiled on the 20-node delivery
// benchmark, sending them was ~9 % of the mesh's JavaScript time.
//
// Hashicorp's reference implementation (and go-yamux, rust-yamux) send an
// update only once at least half of the receive window has been consumed:
// the sender still holds the other half, so it never stalls, and a stream of
// small messages costs one update per 128 KiB instead of one per message. This
// patch applies that rule to established streams and leaves every other case
// (the SYN/ACK flags of the first frames, a paused stream, window growth) to
// the upstream method. Applied once, at import; test/yamux-window-patch.test.ts
// checks the bytes, the flow control and the update count.
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'

interface StreamInternals {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

type SendWindowUpdate = (this: StreamInternals) => void

const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: SendWindowUpdate, __homeostatOriginalSendWindowUpdate?: SendWindowUpdate }

/** The upstream implementation, kept for the comparison test. */
export const originalSendWindowUpdate: SendWindowUpdate = proto.__homeostatOriginalSendWindowUpdate ?? proto.sendWindowUpdate

const patchedSendWindowUpdate: SendWindowUpdate = function () {
  // Established streams carry no flags in an update: skip it while the remote still holds at
  // least half of the window (what it may send before hearing from us).
  if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
  originalSendWindowUpdate.call(this)
}

if (proto.__homeostatOriginalSendWindowUpdate == null) {
  proto.__homeostatOriginalSendWindowUpdate = proto.sendWindowUpdate
  proto.sendWindowUpdate = patchedSendWindowUpdate
}

export {}
