// Length-prefixed frames (4-byte big-endian length, then the payload) over a
// libp2p stream, with a hard size bound checked before buffering the payload.
import type { Stream } from '@libp2p/interface'
import { MeshFrameTooLargeError, MeshStreamClosedError, MeshTimeoutError } from './errors.ts'

export function encodeFrame (payload: Uint8Array, maxBytes: number): Uint8Array {
  if (payload.byteLength > maxBytes) throw new MeshFrameTooLargeError(payload.byteLength, maxBytes)
  const out = new Uint8Array(4 + payload.byteLength)
  new DataView(out.buffer).setUint32(0, payload.byteLength)
  out.set(payload, 4)
  return out
}

/** A stream chunk: bytes, or a Uint8ArrayList (several copies of that package exist, so typed structurally). */
export type Chunk = Uint8Array | { subarray: () => Uint8Array }

export function toBytes (chunk: Chunk): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray()
}

/** Incremental decoder: push chunks, get whole frames. Throws on an oversized length prefix. */
export class FrameDecoder {
  private buf = new Uint8Array(0)
  constructor (private readonly maxBytes: number) {}

  push (chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.buf.byteLength + chunk.byteLength)
    merged.set(this.buf, 0)
    merged.set(chunk, this.buf.byteLength)
    this.buf = merged
    const frames: Uint8Array[] = []
    while (this.buf.byteLength >= 4) {
      const len = new DataView(this.buf.buffer, this.buf.byteOffset, 4).getUint32(0)
      if (len > this.maxBytes) throw new MeshFrameTooLargeError(len, this.maxBytes)
      if (this.buf.byteLength < 4 + len) break
      frames.push(this.buf.slice(4, 4 + len))
      this.buf = this.buf.subarray(4 + len)
    }
    return frames
  }
}

/** Reads exactly one frame from `stream` (or rejects: too large, closed, timeout). */
export async function readFrame (stream: Stream, maxBytes: number, timeoutMs: number, what: string): Promise<Uint8Array> {
  return await new Promise<Uint8Array>((resolve, reject) => {
    const decoder = new FrameDecoder(maxBytes)
    const timer = setTimeout(() => { done(new MeshTimeoutError(what, timeoutMs)) }, timeoutMs)
    const onMessage = (evt: { data: Chunk }): void => {
      try {
        const frames = decoder.push(toBytes(evt.data))
        if (frames.length > 0) done(undefined, frames[0])
      } catch (err) {
        done(err as Error)
      }
    }
    const onClose = (): void => { done(new MeshStreamClosedError(what)) }
    const done = (err?: Error, frame?: Uint8Array): void => {
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      stream.removeEventListener('end', onClose)
      if (err != null) reject(err)
      else resolve(frame as Uint8Array)
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
    stream.addEventListener('end', onClose)
  })
}
