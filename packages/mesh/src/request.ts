// Direct request/response streams: one length-prefixed request frame, one
// response frame ([status byte, payload]: 0 = ok, 1 = error text), both
// bounded by maxBytes, the whole exchange bounded by a timeout.
import type { Libp2p, PeerId } from '@libp2p/interface'
import { WIRE_LIMITS } from '@homeostat/interface'
import type { RequestHandler } from './types.ts'
import { REQUEST_DEFAULTS } from './defaults.ts'
import { encodeFrame, readFrame } from './framing.ts'
import { MeshRemoteError, MeshTimeoutError, MeshUnreachableError } from './errors.ts'

const OK = 0
const ERR = 1
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface RequestCounters { served: number, serveErrors: number, requests: number, requestErrors: number }

export async function handleRequests (node: Libp2p, protocol: string, handler: RequestHandler, maxBytes: number, counters: RequestCounters, log: (msg: string, err: unknown) => void): Promise<void> {
  await node.handle(protocol, async (stream, connection) => {
    const from = connection.remotePeer.toString()
    try {
      const request = await readFrame(stream, maxBytes, REQUEST_DEFAULTS.timeoutMs, `request on ${protocol}`)
      let reply: Uint8Array
      try {
        const response = await handler(from, request)
        reply = new Uint8Array(1 + response.byteLength)
        reply[0] = OK
        reply.set(response, 1)
        if (reply.byteLength > maxBytes) throw new Error(`response of ${response.byteLength} bytes exceeds ${maxBytes}`)
        counters.served++
      } catch (err) {
        counters.serveErrors++
        const text = encoder.encode(String((err as Error)?.message ?? err).slice(0, WIRE_LIMITS.errorTextChars))
        reply = new Uint8Array(1 + text.byteLength)
        reply[0] = ERR
        reply.set(text, 1)
      }
      stream.send(encodeFrame(reply, maxBytes + 1))
      await stream.close()
    } catch (err) {
      counters.serveErrors++
      log(`bad request on ${protocol} from ${from}`, err)
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: REQUEST_DEFAULTS.maxInboundStreams, force: true })
}

export async function sendRequest (node: Libp2p, peer: PeerId, protocol: string, data: Uint8Array, timeoutMs: number, maxBytes: number, counters: RequestCounters): Promise<Uint8Array> {
  counters.requests++
  const deadline = Date.now() + timeoutMs
  const frame = encodeFrame(data, maxBytes)
  let stream
  try {
    stream = await node.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    counters.requestErrors++
    if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') throw new MeshTimeoutError(`request ${protocol} to ${peer.toString()}`, timeoutMs)
    throw new MeshUnreachableError(peer.toString(), protocol, { cause: err })
  }
  try {
    stream.send(frame)
    const reply = await readFrame(stream, maxBytes + 1, Math.max(1, deadline - Date.now()), `response on ${protocol} from ${peer.toString()}`)
    await stream.close().catch(() => {})
    if (reply[0] === OK) return reply.subarray(1)
    throw new MeshRemoteError(decoder.decode(reply.subarray(1)))
  } catch (err) {
    counters.requestErrors++
    stream.abort(err as Error)
    throw err
  }
}
