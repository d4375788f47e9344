// The yamux window-update fix (src/yamux-window-patch.ts): two yamux streams wired back to back
// (the muxer's frame routing, nothing else) carry the same bytes in order, the sender never stalls
// for good, and updates go out once per half window instead of once per data frame. Each stream gets
// the patched or the upstream method as its own property: this file never installs the patch (only
// node.ts does; patches-real-node.test.ts checks that a real node's streams run it).
import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { defaultLogger } from '@libp2p/logger'
import { Uint8ArrayList } from 'uint8arraylist'
import { seededRandom } from '@homeostat/interface'
import { originalSendWindowUpdate, patchedSendWindowUpdate } from '../src/yamux-window-patch.ts'

const DATA = 0
const WINDOW_UPDATE = 1
const WINDOW = 256 * 1024 // yamux's initial stream window

interface Header { type: number, flag: number, streamID: number, length: number }
interface Pair { a: YamuxStream, b: YamuxStream, updatesFromB: number, dataFramesFromA: number, received: Uint8ArrayList }

/** Stream a (outbound) and b (inbound) with each one's frames delivered to the other on a later tick. */
function pair (useOriginal: boolean): Pair {
  const log = defaultLogger().forComponent('test:yamux')
  const p: Partial<Pair> = { updatesFromB: 0, dataFramesFromA: 0, received: new Uint8ArrayList() }
  const deliver = (to: () => YamuxStream, header: Header, data?: Uint8ArrayList): void => {
    const copy = data != null ? new Uint8ArrayList(data.subarray()) : undefined
    setImmediate(() => {
      const s = to()
      if (header.type === DATA) (s as unknown as { handleData: (f: unknown) => void }).handleData({ header, data: copy ?? new Uint8ArrayList() })
      else (s as unknown as { handleWindowUpdate: (f: unknown) => void }).handleWindowUpdate({ header })
    })
  }
  const a = new YamuxStream({
    id: '1', streamId: 1, state: StreamState.Established, direction: 'outbound', log, getRTT: () => 1,
    sendFrame: (header: Header, data?: Uint8ArrayList) => { if (header.type === DATA) p.dataFramesFromA!++; deliver(() => p.b!, header, data); return true }
  } as unknown as ConstructorParameters<typeof YamuxStream>[0])
  const b = new YamuxStream({
    id: '1', streamId: 1, state: StreamState.Established, direction: 'inbound', log, getRTT: () => 1,
    sendFrame: (header: Header, data?: Uint8ArrayList) => { if (header.type === WINDOW_UPDATE) p.updatesFromB!++; deliver(() => p.a!, header, data); return true }
  } as unknown as ConstructorParameters<typeof YamuxStream>[0])
  const internals = b as unknown as { sendWindowUpdate: () => void }
  internals.sendWindowUpdate = useOriginal ? originalSendWindowUpdate : patchedSendWindowUpdate
  b.addEventListener('message', (evt) => { p.received!.append((evt as unknown as { data: Uint8Array | Uint8ArrayList }).data) })
  return Object.assign(p, { a, b }) as Pair
}

async function transfer (p: Pair, messages: Uint8Array[]): Promise<void> {
  const total = messages.reduce((n, m) => n + m.byteLength, 0)
  for (const m of messages) {
    // Respect backpressure as a libp2p writer does: wait for drain when send() says so.
    if (!p.a.send(m)) await new Promise((resolve) => { p.a.addEventListener('drain', resolve, { once: true }) })
  }
  for (let i = 0; i < 2000 && p.received.byteLength < total; i++) await sleep(1)
}

describe('yamux window-update patch', () => {
  it('sends the same bytes in order with one update per half window of small messages', async () => {
    const random = seededRandom(7)
    const messages = Array.from({ length: 4000 }, () => Uint8Array.from({ length: 20 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)))
    const total = messages.reduce((n, m) => n + m.byteLength, 0)
    const patched = pair(false)
    await transfer(patched, messages)
    assert.equal(patched.received.byteLength, total)
    assert.deepEqual(patched.received.subarray(), new Uint8ArrayList(...messages).subarray())
    // ~660 KiB of small frames: an update per 128 KiB consumed, not one per frame.
    assert.ok(patched.dataFramesFromA >= 1000, `${patched.dataFramesFromA} data frames`)
    assert.ok(patched.updatesFromB <= Math.ceil(total / (WINDOW / 2)) + 1, `${patched.updatesFromB} updates for ${total} bytes`)
    assert.ok(patched.updatesFromB >= 1, 'the receive window must still be returned')

    const upstream = pair(true)
    await transfer(upstream, messages)
    assert.equal(upstream.received.byteLength, total)
    assert.ok(upstream.updatesFromB > 10 * patched.updatesFromB, `upstream ${upstream.updatesFromB} vs patched ${patched.updatesFromB} updates`)
  })

  it('keeps a transfer far larger than the window flowing (the sender is never left without window)', async () => {
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    const messages = Array.from({ length: 64 }, () => chunk) // 4 MiB, 16 initial windows
    const p = pair(false)
    await transfer(p, messages)
    assert.equal(p.received.byteLength, 64 * chunk.byteLength)
    // Upstream's auto-tuning doubles the window on a fast link (256 KiB → 4 MiB here), so a few
    // updates carry it; without any the sender would stop after the first 256 KiB.
    assert.ok(p.updatesFromB >= 2 && p.updatesFromB <= 40, `${p.updatesFromB} updates`)
  })
})
