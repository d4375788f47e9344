// 8-bit symmetric quantisation with one float32 scale per block: ~0.254 of the
// float32 size, error ≤ scale/2 per value. Blocks keep one large weight from
// crushing the precision of the rest.

/** Values per block: 256 keeps the per-block scale overhead at 1.6 %. */
export const QUANT_BLOCK = 256

export function quantizedByteLength (length: number): number {
  return Math.ceil(length / QUANT_BLOCK) * 4 + length
}

export function quantize8 (v: Float32Array): Uint8Array {
  const blocks = Math.ceil(v.length / QUANT_BLOCK)
  const out = new Uint8Array(quantizedByteLength(v.length))
  const scales = new DataView(out.buffer, out.byteOffset, blocks * 4)
  const q = new Int8Array(out.buffer, out.byteOffset + blocks * 4, v.length)
  for (let b = 0; b < blocks; b++) {
    const start = b * QUANT_BLOCK
    const end = Math.min(v.length, start + QUANT_BLOCK)
    let maxAbs = 0
    for (let i = start; i < end; i++) maxAbs = Math.max(maxAbs, Math.abs(v[i]!))
    const scale = maxAbs / 127
    scales.setFloat32(b * 4, scale, true)
    const inv = scale > 0 ? 1 / Math.fround(scale) : 0
    for (let i = start; i < end; i++) q[i] = Math.max(-127, Math.min(127, Math.round(v[i]! * inv)))
  }
  return out
}

export function dequantize8 (bytes: Uint8Array, length: number): Float32Array {
  const blocks = Math.ceil(length / QUANT_BLOCK)
  if (bytes.byteLength !== quantizedByteLength(length)) throw new RangeError('quantised delta has the wrong length')
  const scales = new DataView(bytes.buffer, bytes.byteOffset, blocks * 4)
  const q = new Int8Array(bytes.buffer, bytes.byteOffset + blocks * 4, length)
  const out = new Float32Array(length)
  for (let b = 0; b < blocks; b++) {
    const scale = scales.getFloat32(b * 4, true)
    const start = b * QUANT_BLOCK
    const end = Math.min(length, start + QUANT_BLOCK)
    for (let i = start; i < end; i++) out[i] = q[i]! * scale
  }
  return out
}
