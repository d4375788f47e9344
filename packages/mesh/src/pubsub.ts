// Typed envelopes over gossipsub. Every message is checked in gossipsub's
// topic validator — size, JSON + envelope + body schema, envelope `from` equal
// to the gossipsub signer, HLC not too far ahead — and a failure is answered
// with TopicValidatorResult.Reject, which gossipsub turns into a score
// penalty for the sender (per-topic score params, see node.ts). Rejected
// messages are counted per reason and per sender and never delivered.
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { decodeEnvelope, encodeEnvelope, parseWith, LIMITS, TooLargeError, type Envelope } from '@homeostat/interface'
import { decode as decodeHlc, encode as encodeHlc, type Hlc, type HlcTimestamp } from '@homeostat/hlc'
import type { MeshMessage, MeshStats, Topic } from './types.ts'
import { MeshTopicConflictError } from './errors.ts'

export type RejectReason = 'size' | 'json' | 'schema' | 'forged' | 'clock' | 'unsigned'

interface Subscription {
  topic: Topic<unknown>
  handlers: Set<(msg: MeshMessage<unknown>) => void>
}

export interface PubSubLayer {
  subscribe: <B>(topic: Topic<B>, handler: (msg: MeshMessage<B>) => void) => () => void
  publish: <B>(topic: Topic<B>, type: string, body: B) => Promise<void>
  /** Publishes raw bytes, bypassing every local check (hostile-peer tests and tooling only). */
  publishRaw: (topic: string, data: Uint8Array) => Promise<void>
  stats: () => MeshStats
  stop: () => void
}

export interface PubSubOptions {
  gossip: GossipSub
  peerId: string
  hlc: Hlc
  /** Called when the first subscription to a topic name is made, to install its score params. */
  onNewTopic: (name: string) => void
  /** Bound on distinct senders tracked in rejectedBySender. */
  maxTrackedSenders?: number
  log: (msg: string, fields?: Record<string, unknown>) => void
}

export function createPubSub (o: PubSubOptions): PubSubLayer {
  const subs = new Map<string, Subscription>()
  const decoded = new WeakMap<Message, { env: Envelope<unknown>, sent: HlcTimestamp }>()
  const stats: MeshStats = { published: 0, delivered: 0, rejected: {}, rejectedBySender: {}, bytesSent: 0, bytesReceived: 0 }
  const maxSenders = o.maxTrackedSenders ?? 1024

  const reject = (reason: RejectReason, sender: string, detail: string): TopicValidatorResult => {
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1
    if (sender in stats.rejectedBySender || Object.keys(stats.rejectedBySender).length < maxSenders) {
      stats.rejectedBySender[sender] = (stats.rejectedBySender[sender] ?? 0) + 1
    } else {
      stats.rejectedBySender.other = (stats.rejectedBySender.other ?? 0) + 1
    }
    o.log('rejected message', { reason, sender, detail: detail.slice(0, 300) })
    return TopicValidatorResult.Reject
  }

  const validator = (sub: Subscription) => (_propagationSource: unknown, msg: Message): TopicValidatorResult => {
    if (msg.type !== 'signed') return reject('unsigned', 'unknown', 'unsigned message')
    const sender = msg.from.toString()
    const limit = sub.topic.maxBytes ?? LIMITS.envelopeBytes
    let env: Envelope<unknown>
    try {
      env = decodeEnvelope(msg.data, sub.topic.body, limit)
    } catch (err) {
      if (err instanceof TooLargeError) return reject('size', sender, err.message)
      const m = (err as Error).message
      return reject(m.startsWith('envelope is not UTF-8 JSON') ? 'json' : 'schema', sender, m)
    }
    if (env.from !== sender) return reject('forged', sender, `envelope claims ${env.from}`)
    const sent = decodeHlc(env.hlc)
    if (sent.node !== sender) return reject('forged', sender, `hlc node ${sent.node}`)
    const aheadMs = sent.wallMs - o.hlc.physicalNow()
    if (aheadMs > o.hlc.maxOffsetMs) return reject('clock', sender, `${aheadMs} ms ahead`)
    decoded.set(msg, { env, sent })
    return TopicValidatorResult.Accept
  }

  const onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    const sub = subs.get(msg.topic)
    if (sub == null || msg.type !== 'signed') return
    const checked = decoded.get(msg)
    if (checked == null) return // not validated by us (e.g. subscribed after it arrived)
    decoded.delete(msg)
    const { env, sent: sentHlc } = checked
    let receivedHlc: HlcTimestamp
    try {
      receivedHlc = o.hlc.receive(sentHlc)
    } catch (err) {
      stats.rejected.clock = (stats.rejected.clock ?? 0) + 1
      o.log('clock refused at delivery', { sender: env.from, error: (err as Error).message })
      return
    }
    stats.delivered++
    stats.bytesReceived += msg.data.byteLength
    for (const handler of [...sub.handlers]) {
      try { handler({ envelope: env, receivedHlc, sentHlc }) } catch (err) { o.log('subscriber threw', { topic: msg.topic, error: (err as Error).message }) }
    }
  }
  o.gossip.addEventListener('message', onMessage)

  return {
    subscribe<B> (topic: Topic<B>, handler: (msg: MeshMessage<B>) => void) {
      let sub = subs.get(topic.name)
      if (sub == null) {
        sub = { topic: topic as Topic<unknown>, handlers: new Set() }
        subs.set(topic.name, sub)
        o.onNewTopic(topic.name)
        o.gossip.topicValidators.set(topic.name, validator(sub))
        o.gossip.subscribe(topic.name)
      } else if (sub.topic.body !== topic.body || (sub.topic.maxBytes ?? LIMITS.envelopeBytes) !== (topic.maxBytes ?? LIMITS.envelopeBytes)) {
        throw new MeshTopicConflictError(topic.name)
      }
      const h = handler as (msg: MeshMessage<unknown>) => void
      const s = sub
      s.handlers.add(h)
      return () => {
        s.handlers.delete(h)
        if (s.handlers.size === 0 && subs.get(topic.name) === s) {
          subs.delete(topic.name)
          o.gossip.unsubscribe(topic.name)
          o.gossip.topicValidators.delete(topic.name)
        }
      }
    },
    async publish<B> (topic: Topic<B>, type: string, body: B) {
      const checked = parseWith(topic.body, body, `body of ${type}`)
      const env: Envelope<B> = { v: 1, type, from: o.peerId, hlc: encodeHlc(o.hlc.now()), body: checked }
      const bytes = encodeEnvelope(env)
      const limit = topic.maxBytes ?? LIMITS.envelopeBytes
      if (bytes.byteLength > limit) throw new TooLargeError('envelope', bytes.byteLength, limit)
      await o.gossip.publish(topic.name, bytes)
      stats.published++
      stats.bytesSent += bytes.byteLength
    },
    async publishRaw (topic, data) {
      await o.gossip.publish(topic, data)
    },
    stats: () => ({ ...stats, rejected: { ...stats.rejected }, rejectedBySender: { ...stats.rejectedBySender } }),
    stop () {
      o.gossip.removeEventListener('message', onMessage)
    }
  }
}
