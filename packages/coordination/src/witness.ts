// Witnesses: an indirect liveness check before a takeover (SWIM's ping-req).
//
// A takeover replaces an owner that our mesh declared dead. After a heal our
// own view can lag seconds behind the network: our reconnections queue behind
// a storm of others, and asking the owner directly (takeover.ts,
// verifyOwnerTimeoutMs) can time out although it is up and reachable from the
// rest of the fleet. Then we would start a second copy of a workload that
// still runs. So before taking over, a few alive peers are asked how *they*
// see the owner: a witness answers from its own liveness view at once (it
// probes nothing), and one trusted witness that does not see the owner dead
// is enough to hold off for a moment. 'alive': the owner is in our connected
// part of the network, so this is no partition. 'suspect': the witness has not
// concluded yet (a peer starved of CPU after a heal is suspected by many and
// declared dead by some: the meso bench saw such a false death turn into a
// second copy); SWIM's rule is that a suspect is not dead. After a crash the
// witnesses saw the connection refused too, and while the owner really is cut
// off from everyone we can reach their suspicion has run out by the time we
// ask (our own owner check waits its timeout first): they answer 'dead' or
// nothing, and the takeover goes ahead one request round trip later.
import { shuffle, WIRE_LIMITS, WITNESS_PROTOCOL } from '@homeostat/interface'
import type { Mesh } from '@homeostat/mesh'
import { CoordinationError } from './errors.ts'
import { createRateLimiter } from './rate-limit.ts'
import type { TuningOverrides } from '@homeostat/interface'

export { WITNESS_PROTOCOL }

export const WITNESS_DEFAULTS = {
  /** Peers asked per check (SWIM's k): one slow or unreachable witness does not decide alone. */
  witnesses: 3,
  /** A witness answers from memory; this covers its event loop under a heal's load (the owner check waits longer). */
  timeoutMs: 1000,
  /** Questions answered per second per asker (burst 2×): each takeover attempt asks once per witness. */
  perSec: 10,
  /** Askers tracked by the rate limiter (bounded memory; as replicated-doc's maxTrackedPeers). */
  maxTrackedPeers: 4096
} as const

/** What a witness says about a peer. */
export type WitnessView = 'alive' | 'suspect' | 'dead' | 'unknown'

const VIEWS: readonly WitnessView[] = ['unknown', 'alive', 'suspect', 'dead']
/** Longest peer id a question may carry (libp2p peer ids are ~52 characters). */
const MAX_PEER_ID_BYTES = WIRE_LIMITS.witnessQuestionBytes

/** A witness question or answer that is not one (or a question refused). */
export class WitnessError extends CoordinationError {
  constructor (message: string) {
    super('ERR_WITNESS', message)
    this.name = 'WitnessError'
  }
}

/**
 * Pure: up to `k` witnesses for a check on `owner`. Peers that came back from the dead after we lost
 * the owner (`returnedAtMs` later than `ownerLostAtMs`) come first: they were cut off from us like the
 * owner, so they are likely on its side of a cut that healed, and their view of it is current where
 * our own side shares our stale one. The rest, in random order, fill up to `k`.
 */
export function pickWitnesses (candidates: readonly string[], k: number, ownerLostAtMs: number | undefined, returnedAtMs: ReadonlyMap<string, number>, random: () => number): string[] {
  const shuffled = shuffle([...candidates], random)
  const back = (p: string): boolean => ownerLostAtMs != null && (returnedAtMs.get(p) ?? -Infinity) > ownerLostAtMs
  return [...shuffled.filter(back), ...shuffled.filter((p) => !back(p))].slice(0, Math.max(0, k))
}

/** Pure: the one-byte answer for `view`. */
export function encodeView (view: WitnessView): Uint8Array { return Uint8Array.of(Math.max(0, VIEWS.indexOf(view))) }

/** Pure: the view in a one-byte answer (throws WitnessError on anything else). */
export function decodeView (answer: Uint8Array): WitnessView {
  const v = answer.byteLength === 1 ? VIEWS[answer[0]!] : undefined
  if (v == null) throw new WitnessError(`malformed witness answer (${answer.byteLength} bytes)`)
  return v
}

/** Pure: the peer id a question asks about (throws WitnessError when empty, too long or not printable). */
export function decodeQuestion (question: Uint8Array): string {
  if (question.byteLength === 0 || question.byteLength > MAX_PEER_ID_BYTES) throw new WitnessError(`witness question of ${question.byteLength} bytes`)
  const peer = new TextDecoder().decode(question)
  if (!/^[\x21-\x7e]+$/.test(peer)) throw new WitnessError('witness question is not a peer id')
  return peer
}

export interface WitnessCheck {
  /** Trusted witnesses that see the peer alive, and those that suspect it (not dead yet in their view). */
  alive: string[]
  suspect: string[]
  /** Witnesses asked, and how many answered. */
  asked: number
  answered: number
}

export interface WitnessStats {
  /** Checks we ran, and those where some trusted witness saw the peer alive or suspect (not dead). */
  checks: number
  checksNotDead: number
  /** Questions we answered for others. */
  answered: number
  /** Questions refused (malformed or over the rate limit). */
  refused: number
}

export interface Witnesses {
  start: () => void
  stop: () => void
  /** Asks up to `witnesses` alive peers (never `peer` itself) how they see `peer`; resolves once all answered or timed out. */
  check: (peer: string) => Promise<WitnessCheck>
  stats: () => WitnessStats
}

export interface WitnessOptions extends TuningOverrides<typeof WITNESS_DEFAULTS> {
  mesh: Pick<Mesh, 'peerId' | 'peers' | 'handle' | 'request' | 'onLiveness'>
  now?: () => number
  random?: () => number
  /** Whose answers count (e.g. not a quarantined peer's): a liar could otherwise hold a dead owner's workload for ever. */
  trusted?: (peer: string) => boolean
  /** A malformed or flooding question: counted, and the asker's score may drop. */
  onReject?: (peer: string, reason: 'malformed' | 'flood', detail: string) => void
}

export function createWitnesses (options: WitnessOptions): Witnesses {
  const o = { ...WITNESS_DEFAULTS, ...options }
  const { mesh } = options
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const trusted = options.trusted ?? (() => true)
  const limiter = createRateLimiter({ now, capacity: 2 * o.perSec, perSec: o.perSec, maxPeers: o.maxTrackedPeers })
  const stats: WitnessStats = { checks: 0, checksNotDead: 0, answered: 0, refused: 0 }
  let started = false
  // When each peer was last lost (dead) and last came back from the dead: witnesses from the far side of a
  // healed cut are asked first (pickWitnesses). Bounded like the rate limiter.
  const lostAtMs = new Map<string, number>()
  const returnedAtMs = new Map<string, number>()
  const remember = (m: Map<string, number>, peer: string, t: number): void => {
    if (!m.has(peer) && m.size >= o.maxTrackedPeers) m.delete(m.keys().next().value!)
    m.set(peer, t)
  }
  let unLive: (() => void) | undefined

  const viewOf = (peer: string): WitnessView => {
    if (peer === mesh.peerId) return 'alive'
    return mesh.peers().find((p) => p.peer === peer)?.state ?? 'unknown'
  }

  return {
    start () {
      if (started) return
      started = true
      unLive = mesh.onLiveness((e) => {
        if (e.state === 'dead') remember(lostAtMs, e.peer, now())
        else if (e.state === 'alive' && lostAtMs.has(e.peer) && (returnedAtMs.get(e.peer) ?? -Infinity) < lostAtMs.get(e.peer)!) remember(returnedAtMs, e.peer, now())
      })
      mesh.handle(WITNESS_PROTOCOL, async (from, question) => {
        if (!started) throw new WitnessError('witness stopped')
        if (!limiter.allow(from)) { stats.refused++; options.onReject?.(from, 'flood', 'witness questions over the per-sender limit'); throw new WitnessError('rate limited') }
        let peer: string
        try { peer = decodeQuestion(question) } catch (err) { stats.refused++; options.onReject?.(from, 'malformed', (err as Error).message); throw err }
        stats.answered++
        return encodeView(viewOf(peer))
      }, { maxBytes: MAX_PEER_ID_BYTES })
    },
    stop () { started = false; unLive?.(); unLive = undefined },
    async check (peer) {
      stats.checks++
      const candidates = mesh.peers().filter((p) => p.state === 'alive' && p.kind !== 'other' && p.peer !== peer && p.peer !== mesh.peerId && trusted(p.peer)).map((p) => p.peer)
      const asked = pickWitnesses(candidates, o.witnesses, lostAtMs.get(peer), returnedAtMs, random)
      const question = new TextEncoder().encode(peer)
      const answers = await Promise.all(asked.map(async (w) => {
        try { return [w, decodeView(await mesh.request(w, WITNESS_PROTOCOL, question, { timeoutMs: o.timeoutMs, maxBytes: MAX_PEER_ID_BYTES } /* bounds the question and the answer */))] as const } catch { return undefined }
      }))
      const alive = answers.flatMap((a) => a != null && a[1] === 'alive' ? [a[0]] : [])
      const suspect = answers.flatMap((a) => a != null && a[1] === 'suspect' ? [a[0]] : [])
      if (alive.length + suspect.length > 0) stats.checksNotDead++
      return { alive, suspect, asked: asked.length, answered: answers.filter((a) => a != null).length }
    },
    stats: () => ({ ...stats })
  }
}
