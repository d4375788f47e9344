// A CPU fix for @chainsafe/libp2p-yamux 8: fewer window updates.
//
// js-yamux answers *every* received data frame with a WindowUpdate frame that
// returns the bytes just read. Gossipsub sends one small data frame per RPC,
// so half the frames on a busy connection were these 12-byte updates, each
// paying a Noise encryption, a pnet cipher pass and a socket write on one
// side and the reverse on the other. Profiled on the 20-node delivery
// benchmark, sending them was ~9 % of the mesh's JavaScript time (10 nodes in
// one process at 20 msg/s: ~16–22 → ~10–12 ms of CPU per message; the 20-node
// benchmark: 10–16 % less fleet CPU at 20 msg/s, ~10 % less idle).
//
// Hashicorp's reference implementation (and go-yamux, rust-yamux) send an
// update only once at least half of the receive window has been consumed:
// the sender still holds the other half, so it never stalls, and a stream of
// small messages costs one update per 128 KiB instead of one per message. This
// patch applies that rule to established streams and leaves every other case
// (the SYN/ACK flags of the first frames, a paused stream, window growth) to
// the upstream method. test/yamux-window-patch.test.ts checks the bytes, the
// flow control and the update count on wired stream pairs;
// test/patches-real-node.test.ts counts updates on a real node's stream.
//
// This module has no side effect: `yamuxWindowPatch.apply()` (apply-patches.ts,
// imported by node.ts) checks the installed version and the stream's shape
// (patch-guard.ts), then installs it.
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { createGuardedPatch, missingFrom, type GuardedPatch, type PatchSpec } from './patch-guard.ts'

interface StreamInternals {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

type SendWindowUpdate = (this: StreamInternals) => void

/** The prototype as the patch sees it. */
export interface StreamPrototype { sendWindowUpdate: SendWindowUpdate, handleData?: unknown, __homeostatOriginalSendWindowUpdate?: SendWindowUpdate }
/** What the patch rewrites: the stream class and the state enum it compares against. */
export interface YamuxTarget { stream: { prototype: object, toString: () => string }, states: Record<string, unknown> }

const proto = YamuxStream.prototype as unknown as StreamPrototype

/** The upstream implementation, kept for the comparison test. */
export const originalSendWindowUpdate: SendWindowUpdate = proto.__homeostatOriginalSendWindowUpdate ?? proto.sendWindowUpdate

/** The patched implementation (installed on the prototype by `yamuxWindowPatch.apply()`). */
export const patchedSendWindowUpdate: SendWindowUpdate = function () {
  // Established streams carry no flags in an update: skip it while the remote still holds at
  // least half of the window (what it may send before hearing from us).
  if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
  originalSendWindowUpdate.call(this)
}

/** @chainsafe/libp2p-yamux versions whose YamuxStream the patch was read against and tested with. */
export const YAMUX_WINDOW_VERSIONS: readonly string[] = ['8.0.1']

export const yamuxWindowPatchSpec: PatchSpec<YamuxTarget> = {
  name: 'yamux-window',
  package: '@chainsafe/libp2p-yamux',
  specifier: '@chainsafe/libp2p-yamux/stream',
  versions: YAMUX_WINDOW_VERSIONS,
  // node.ts builds its muxer from this very package (same directory, same copy).
  consumers: [],
  target: () => ({ stream: YamuxStream, states: StreamState as unknown as Record<string, unknown> }),
  shape ({ stream, states }) {
    const p = stream.prototype as Partial<StreamPrototype>
    if (typeof p.sendWindowUpdate !== 'function') return 'YamuxStream.prototype.sendWindowUpdate is not a function'
    for (const s of ['Established', 'Paused']) if (typeof states[s] !== 'number') return `StreamState.${s} is not a number`
    // The private fields the patch reads, assigned by the class.
    const missingFields = missingFrom(String(stream), ['this.state', 'this.recvWindow =', 'this.recvWindowCapacity ='])
    if (missingFields.length > 0) return `YamuxStream no longer sets ${missingFields.join(', ')}`
    const missingUse = missingFrom(String(p.sendWindowUpdate), ['this.recvWindowCapacity', 'this.recvWindow', 'sendFrame'])
    if (missingUse.length > 0) return `sendWindowUpdate no longer uses ${missingUse.join(', ')}`
    // What it fixes: an update attempt after every data frame.
    if (typeof p.handleData !== 'function' || !String(p.handleData).includes('this.sendWindowUpdate()')) return 'handleData no longer calls sendWindowUpdate per frame'
    return undefined
  },
  installed: ({ stream }) => Object.hasOwn(stream.prototype, '__homeostatOriginalSendWindowUpdate'),
  install ({ stream }) {
    const p = stream.prototype as StreamPrototype
    p.__homeostatOriginalSendWindowUpdate = p.sendWindowUpdate
    p.sendWindowUpdate = patchedSendWindowUpdate
  }
}

/** The guarded patch of the process (applied by apply-patches.ts). */
export const yamuxWindowPatch: GuardedPatch = createGuardedPatch(yamuxWindowPatchSpec)
