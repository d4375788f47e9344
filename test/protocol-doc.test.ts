// docs/protocol.md is the wire protocol as the code defines it, and it is enough
// to write a peer: the file is what scripts/protocol-doc.ts generates from the
// definitions today, and a stock js-libp2p node (no homeostat code on its
// send path) that follows only the document — hand-built envelopes and HLCs,
// hand-framed streams — is understood by a real homeostat mesh node over
// loopback TCP, and is refused for exactly the reasons the document lists.
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { createMeshNode, generateSwarmKey, type MeshNode } from '@homeostat/mesh'
import { PEX_PROTOCOL, PROBE_PROTOCOL, STATUS_TOPIC, pexResponseSchema, type AgentStatus } from '@homeostat/interface'
import { PROTOCOL_MD, protocolDoc } from '../scripts/protocol-doc.ts'
import { createStockNode, type StockNode } from '../packages/mesh/test/stock-node.ts'

/** An encoded HLC as section 2 describes it: 12 hex digits of wall ms, 8 of the counter, the node id. */
const hlcOf = (wallMs: number, logical: number, node: string): string =>
  wallMs.toString(16).padStart(12, '0') + logical.toString(16).padStart(8, '0') + node

/** Reads bytes from a libp2p stream until `enough` says so (or times out). */
async function readUntil (stream: Stream, enough: (b: Uint8Array) => boolean, timeoutMs = 5000): Promise<Uint8Array> {
  return await new Promise((resolve, reject) => {
    let buf = new Uint8Array(0)
    const timer = setTimeout(() => { reject(new Error(`no answer within ${timeoutMs} ms (${buf.byteLength} bytes so far)`)) }, timeoutMs)
    stream.addEventListener('message', (evt: { data: Uint8Array | { subarray: () => Uint8Array } }) => {
      const chunk = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      const merged = new Uint8Array(buf.byteLength + chunk.byteLength)
      merged.set(buf); merged.set(chunk, buf.byteLength)
      buf = merged
      if (enough(buf)) { clearTimeout(timer); resolve(buf) }
    })
  })
}

describe('the wire protocol document (docs/protocol.md)', function () {
  this.timeout(60_000)

  it('is what npm run protocol-doc generates from the definitions now', () => {
    assert.equal(readFileSync(PROTOCOL_MD, 'utf8'), protocolDoc(), 'docs/protocol.md is stale: run npm run protocol-doc')
  })

  describe('a peer written from the document alone (a stock libp2p node, real TCP)', () => {
    const swarmKey = generateSwarmKey()
    let agent: MeshNode | undefined
    let other: MeshNode | undefined
    let stock: StockNode | undefined
    const stocks: StockNode[] = []
    const received: Array<{ from: string, body: AgentStatus }> = []
    type Pubsub = { subscribe: (t: string) => void, publish: (t: string, d: Uint8Array) => Promise<unknown>, getSubscribers: (t: string) => unknown[] }
    const pubsubOf = (n: StockNode): Pubsub => (n.libp2p.services as { pubsub: Pubsub }).pubsub
    const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
      const start = Date.now()
      while (!cond()) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    /** A stock node connected to the agent, with the agent's status subscription known to it. */
    const connectedStock = async (): Promise<StockNode> => {
      const n = await createStockNode(swarmKey)
      stocks.push(n)
      pubsubOf(n).subscribe(STATUS_TOPIC.name)
      await n.dial(agent!.multiaddrs()[0]!)
      await until(() => pubsubOf(n).getSubscribers(STATUS_TOPIC.name).length > 0, 10_000, 'the agent\'s subscription reached the stock node')
      return n
    }
    const publishBytes = async (n: StockNode, bytes: Uint8Array): Promise<void> => { await pubsubOf(n).publish(STATUS_TOPIC.name, bytes) }
    const publish = async (n: StockNode, envelope: unknown): Promise<void> => { await publishBytes(n, new TextEncoder().encode(JSON.stringify(envelope))) }

    before(async () => {
      agent = await createMeshNode({ swarmKey, dht: false })
      await agent.start()
      other = await createMeshNode({ swarmKey, dht: false })
      await other.start()
      agent.subscribe(STATUS_TOPIC, (m) => { received.push({ from: m.envelope.from, body: m.envelope.body }) })
      stock = await connectedStock()
    })
    after(async () => { await Promise.all([agent?.stop(), other?.stop(), ...stocks.map(async (n) => { await n.stop() })]) })

    const status = (): AgentStatus => ({ name: 'third-party', role: 'edge', health: 1, components: [{ name: 'model', state: 'running', health: 'ok' }], incidentsOpen: 0, atMs: Date.now() })

    it('an agent.status envelope built by hand is delivered; each documented reject reason is counted', async () => {
      const me = stock!.peerId
      await publish(stock!, { v: 1, type: 'agent.status', from: me, hlc: hlcOf(Date.now(), 0, me), body: status() })
      await until(() => received.length === 1, 10_000, 'the hand-built status was delivered')
      assert.equal(received[0]!.from, me)
      assert.equal(received[0]!.body.name, 'third-party')

      // Each refused message costs its sender gossipsub score (a few graylist it, and a graylisted
      // peer is not heard at all): one fresh stock node per case.
      const rejected = (reason: string): number => agent!.stats().rejected[reason] ?? 0
      const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o))
      const cases: Array<[string, string, (id: string) => Uint8Array]> = [
        ['schema', 'a body field the schema does not have (bodies are strict)', (id) => enc({ v: 1, type: 'agent.status', from: id, hlc: hlcOf(Date.now(), 1, id), body: { ...status(), gpu: 'A100' } })],
        ['schema', 'a type that is not lower-case dotted', (id) => enc({ v: 1, type: 'Agent Status', from: id, hlc: hlcOf(Date.now(), 2, id), body: status() })],
        ['forged', '`from` another peer than the signer', (id) => enc({ v: 1, type: 'agent.status', from: other!.peerId, hlc: hlcOf(Date.now(), 3, id), body: status() })],
        ['forged', 'an HLC naming another node', (id) => enc({ v: 1, type: 'agent.status', from: id, hlc: hlcOf(Date.now(), 4, other!.peerId), body: status() })],
        ['clock', 'an HLC a minute ahead (over 500 ms)', (id) => enc({ v: 1, type: 'agent.status', from: id, hlc: hlcOf(Date.now() + 60_000, 5, id), body: status() })],
        ['json', 'not JSON', () => new TextEncoder().encode('{"v": 1, "type": ')],
        ['size', 'an envelope over the topic\'s 64 KiB cap', (id) => enc({ v: 1, type: 'agent.status', from: id, hlc: hlcOf(Date.now(), 6, id), body: { ...status(), detail: 'x'.repeat(70 * 1024) } })]
      ]
      for (const [reason, what, bytes] of cases) {
        const n = await connectedStock()
        const before = rejected(reason)
        const bySender = agent!.stats().rejectedBySender[n.peerId] ?? 0
        await publishBytes(n, bytes(n.peerId))
        await until(() => rejected(reason) === before + 1, 10_000, `${what}: rejected as ${reason}`)
        assert.equal(agent!.stats().rejectedBySender[n.peerId], bySender + 1, `${what}: counted against its sender`)
        await n.stop()
      }
      assert.equal(received.length, 1, 'nothing refused was delivered')
    })

    it('the probe answers a hand-framed ping with a pong of the same seq', async () => {
      const stream = await stock!.libp2p.dialProtocol(peerIdFromString(agent!.peerId), PROBE_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      const ping = new Uint8Array(6)
      const view = new DataView(ping.buffer)
      view.setUint8(0, 0) // kind: ping
      view.setUint32(1, 0xC0FFEE) // seq, big-endian
      view.setUint8(5, 0) // our local health: fine
      const answer = readUntil(stream, (b) => b.byteLength >= 6)
      stream.send(ping)
      const pong = await answer
      const pv = new DataView(pong.buffer, pong.byteOffset, pong.byteLength)
      assert.equal(pv.getUint8(0), 1, 'kind: pong')
      assert.equal(pv.getUint32(1), 0xC0FFEE, 'the ping\'s seq')
      assert.ok(pv.getUint8(5) <= 4, 'a local-health score 0…4')
      stream.abort(new Error('done'))
    })

    it('peer exchange answers a hand-framed empty request with the documented JSON', async () => {
      await other!.dial(agent!.multiaddrs()[0]!)
      await until(() => agent!.peers().some((p) => p.peer === other!.peerId), 10_000, 'the second agent connected')
      const stream = await stock!.libp2p.dialProtocol(peerIdFromString(agent!.peerId), PEX_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      const lengthOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0)
      const answer = readUntil(stream, (b) => b.byteLength >= 4 && b.byteLength >= 4 + lengthOf(b))
      stream.send(new Uint8Array([0, 0, 0, 0])) // one frame: length 0, empty payload
      const frame = await answer
      const payload = frame.subarray(4, 4 + lengthOf(frame))
      assert.equal(payload[0], 0, 'status byte: ok')
      const peers = pexResponseSchema.parse(JSON.parse(new TextDecoder().decode(payload.subarray(1))))
      assert.ok(peers.some((p) => p.id === other!.peerId && p.addrs.length > 0), JSON.stringify(peers))
    })
  })
})
