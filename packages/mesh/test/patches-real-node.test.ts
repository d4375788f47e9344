// The dependency patches are in effect on what a real mesh node uses. Two nodes are built with the
// public createMeshNode (as the agent does) over loopback TCP, and the test watches their own
// connections: the Noise decoders of their connections stop throwing a RangeError per chunk
// (frame-decoder-patch.ts), and a yamux stream of the node returns its receive window once per half
// window instead of once per data frame (yamux-window-patch.ts). This file imports nothing but the
// package's public face: it fails if node.ts stops importing apply-patches.ts, if a guard skips a
// patch, or if the node's connections use a copy of the package the patch did not reach.
import { strict as assert } from 'node:assert'
import { appliedPatches, createMeshNode, generateSwarmKey, type MeshNode } from '@homeostat/mesh'
import type { Stream } from '@libp2p/interface'

/** A LengthPrefixedDecoder as the test sees one: found by shape, wherever libp2p keeps it. */
interface Decoder { buffer: { byteLength: number }, lengthDecoder: (buf: unknown) => number, decode: (buf: unknown) => Iterable<unknown> }

/** Every length-prefixed decoder reachable from a connection (the Noise stream's: today at
 * `connection.muxer.maConn.decoder`), searched by shape so that a moved field does not hide it;
 * not through libp2p's shared `components` (the whole node). */
function findDecoders (root: unknown): Decoder[] {
  const seen = new Set<unknown>()
  const found: Decoder[] = []
  const queue: Array<[unknown, number]> = [[root, 0]]
  while (queue.length > 0 && seen.size < 5000) {
    const [o, depth] = queue.shift()!
    if (o == null || typeof o !== 'object' || seen.has(o) || depth > 5) continue
    seen.add(o)
    const rec = o as Record<string, unknown>
    try {
      if (typeof rec.lengthDecoder === 'function' && typeof rec.decode === 'function' && typeof (rec.buffer as { byteLength?: unknown } | undefined)?.byteLength === 'number') found.push(o as Decoder)
      for (const k of Object.keys(rec)) if (k !== 'components') queue.push([rec[k], depth + 1])
    } catch { /* libp2p's components proxy throws on a service it does not have */ }
  }
  return found
}

/** Counts, on one decoder, the chunks it decodes and the RangeErrors its length decoder throws. */
function watch (d: Decoder): { chunks: number, rangeErrors: number } {
  const counts = { chunks: 0, rangeErrors: 0 }
  const lengthDecoder = d.lengthDecoder
  d.lengthDecoder = (buf) => {
    try { return lengthDecoder(buf) } catch (err) { if (err instanceof RangeError) counts.rangeErrors++; throw err }
  }
  const decode = Object.getPrototypeOf(d).decode as Decoder['decode']
  // An own property in front of the prototype's (patched or upstream) method: counts and delegates.
  d.decode = function (buf) { counts.chunks++; return decode.call(this, buf) }
  return counts
}

describe('mesh dependency patches on a real node (createMeshNode, loopback TCP)', function () {
  this.timeout(30_000)
  const swarmKey = generateSwarmKey()
  let a: MeshNode
  let b: MeshNode

  before(async () => {
    a = await createMeshNode({ swarmKey, dht: false })
    await a.start()
    b = await createMeshNode({ swarmKey, dht: false, bootstrap: a.multiaddrs() })
    await b.start()
    for (let i = 0; i < 250 && !(a.members().some((p) => p.peer === b.peerId && p.state === 'alive') && b.members().some((p) => p.peer === a.peerId && p.state === 'alive')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })
  after(async () => { await Promise.all([a?.stop(), b?.stop()]) })

  it('reports both patches applied, at the installed versions', () => {
    const byName = Object.fromEntries(appliedPatches().map((s) => [s.name, s]))
    assert.equal(byName['frame-decoder']?.applied, true, JSON.stringify(byName['frame-decoder']))
    assert.equal(byName['frame-decoder']?.package, '@libp2p/utils')
    assert.equal(byName['yamux-window']?.applied, true, JSON.stringify(byName['yamux-window']))
    assert.equal(byName['yamux-window']?.package, '@chainsafe/libp2p-yamux')
    for (const s of appliedPatches()) assert.match(s.version ?? '', /^\d+\.\d+\.\d+/)
  })

  it('frame decoder: the decoders of the node\'s connections do not throw at the end of every chunk', async () => {
    const decoders = [...a.libp2p.getConnections(), ...b.libp2p.getConnections()].flatMap(findDecoders)
    assert.ok(decoders.length >= 2, `found ${decoders.length} length-prefixed decoders on the connections`)
    const counts = decoders.map(watch)
    b.handle('/test/patches/echo/1', async (_from, req) => req)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const payload = new Uint8Array(300).fill(7)
    for (let i = 0; i < 150; i++) await a.request(b.peerId, '/test/patches/echo/1', payload, { timeoutMs: 5000 })
    const chunks = counts.reduce((n, c) => n + c.chunks, 0)
    const rangeErrors = counts.reduce((n, c) => n + c.rangeErrors, 0)
    // Upstream throws once per chunk that ends on a frame boundary (nearly all of them on loopback);
    // the patch only when a chunk ends inside a 2-byte length prefix.
    assert.ok(chunks >= 300, `${chunks} chunks decoded`)
    assert.ok(rangeErrors <= chunks / 20, `${rangeErrors} RangeErrors thrown for ${chunks} chunks`)
  })

  it('yamux window: a stream of the node sends one window update per half window, not one per data frame', async () => {
    const protocol = '/test/patches/bulk/1'
    const messages = 4000
    const size = 200
    let updates = 0
    let received = 0
    let resolveDone!: () => void
    let rejectDone!: (err: Error) => void
    const done = { promise: new Promise<void>((resolve, reject) => { resolveDone = resolve; rejectDone = reject }), resolve: () => { resolveDone() }, reject: (err: Error) => { rejectDone(err) } }
    await b.libp2p.handle(protocol, (stream: Stream) => {
      // The yamux stream itself: its frames go out through its own sendFrame.
      const s = stream as unknown as { sendFrame?: (header: { type: number }, data?: unknown) => boolean }
      assert.equal(typeof s.sendFrame, 'function', `a ${Object.getPrototypeOf(stream).constructor.name} is not a yamux stream`)
      const send = s.sendFrame!.bind(stream)
      s.sendFrame = (header, data) => { if (header.type === 1) updates++; return send(header, data) }
      stream.addEventListener('message', (evt) => {
        received += (evt as unknown as { data: { byteLength: number } }).data.byteLength
        if (received >= messages * size) done.resolve()
      })
    })
    const out = await a.libp2p.dialProtocol(b.libp2p.peerId, protocol, { signal: AbortSignal.timeout(5000) })
    const chunk = new Uint8Array(size).fill(1)
    for (let i = 0; i < messages; i++) {
      if (!out.send(chunk)) await new Promise((resolve) => { out.addEventListener('drain', resolve, { once: true }) })
    }
    const timer = setTimeout(() => { done.reject(new Error(`only ${received} of ${messages * size} bytes arrived`)) }, 20_000)
    await done.promise
    clearTimeout(timer)
    out.abort(new Error('test done'))
    // 800 KB: upstream sends ~4000 updates (one per data frame); the patch one per 128 KiB consumed.
    assert.ok(updates >= 1, 'the receive window must still be returned')
    assert.ok(updates <= Math.ceil(messages * size / (128 * 1024)) + 2, `${updates} window updates for ${messages} data frames`)
  })
})
