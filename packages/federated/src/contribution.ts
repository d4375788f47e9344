// A contribution: what one local training round adds to the shared model.
// Wire form (a Yjs map value): u32 header length, header JSON, delta bytes.
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { LIMITS, parseWith } from '@homeostat/interface'
import { ContributionError } from './errors.ts'
import { dequantize8, quantize8, quantizedByteLength } from './quantize.ts'
import { isFiniteVector } from './model.ts'

export type DeltaEncoding = 'f32' | 'q8'

export interface ContributionHeader {
  /** `${node}/${round}`: one key per contribution, so Yjs never overwrites one. */
  id: string
  node: string
  /** The node's local round number (global rounds advance in lock-step in the demo; not required). */
  round: number
  /** Highest round of other nodes' contributions the node had merged when it trained: its last sync point. */
  baseVersion: number
  encoding: DeltaEncoding
  /** Parameter count of the delta. */
  length: number
  /** Training samples behind the delta. */
  samples: number
  /** Local training loss of the round. */
  loss: number
  hlc: string
  /** sha256 (hex) over the header without `checksum` and the delta bytes. */
  checksum: string
}

export interface Contribution extends ContributionHeader {
  delta: Uint8Array
}

export interface DecodedContribution extends ContributionHeader {
  values: Float32Array
  /** Encoded size in bytes (wire cost). */
  bytes: number
}

const headerSchema = z.object({
  id: z.string().min(3).max(LIMITS.nameLength * 2),
  node: z.string().min(1).max(LIMITS.peerIdLength),
  round: z.number().int().min(0).max(1e9),
  baseVersion: z.number().int().min(-1).max(1e9),
  encoding: z.enum(['f32', 'q8']),
  length: z.number().int().min(1).max(10_000_000),
  samples: z.number().int().min(1).max(1e9),
  loss: z.number(),
  hlc: z.string().min(21).max(20 + LIMITS.peerIdLength),
  checksum: z.string().regex(/^[0-9a-f]{64}$/)
}).strict()

export function contributionId (node: string, round: number): string {
  return `${node}/${round}`
}

function digest (header: Omit<ContributionHeader, 'checksum'>, delta: Uint8Array): string {
  const h = createHash('sha256')
  h.update(JSON.stringify([header.id, header.node, header.round, header.baseVersion, header.encoding, header.length, header.samples, header.loss, header.hlc]))
  h.update(delta)
  return h.digest('hex')
}

export interface CreateContributionInit {
  node: string
  round: number
  baseVersion: number
  values: Float32Array
  samples: number
  loss: number
  hlc: string
  encoding?: DeltaEncoding
}

export function createContribution (init: CreateContributionInit): Contribution {
  const encoding = init.encoding ?? 'q8'
  const delta = encoding === 'q8' ? quantize8(init.values) : new Uint8Array(init.values.slice().buffer)
  const header = {
    id: contributionId(init.node, init.round),
    node: init.node,
    round: init.round,
    baseVersion: init.baseVersion,
    encoding,
    length: init.values.length,
    samples: init.samples,
    loss: Number.isFinite(init.loss) ? init.loss : -1,
    hlc: init.hlc
  }
  return { ...header, checksum: digest(header, delta), delta }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeContribution (c: Contribution): Uint8Array {
  const { delta, ...header } = c
  const head = encoder.encode(JSON.stringify(header))
  const out = new Uint8Array(4 + head.length + delta.length)
  new DataView(out.buffer).setUint32(0, head.length, true)
  out.set(head, 4)
  out.set(delta, 4 + head.length)
  return out
}

/**
 * Decodes and checks a contribution from the network: size, header schema,
 * checksum, shape, finiteness. Throws ContributionError with the reason.
 */
export function decodeContribution (bytes: Uint8Array, expectedLength: number, maxBytes: number = LIMITS.bulkEnvelopeBytes): DecodedContribution {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 5) throw new ContributionError('decode', 'contribution is not a byte array')
  if (bytes.byteLength > maxBytes) throw new ContributionError('too_large', `contribution is ${bytes.byteLength} bytes, over ${maxBytes}`)
  const headLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true)
  if (headLength > 4096 || 4 + headLength > bytes.byteLength) throw new ContributionError('decode', 'contribution header length is out of range')
  let header: ContributionHeader
  try {
    header = parseWith(headerSchema, JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength))), 'contribution header')
  } catch (err) {
    throw new ContributionError('decode', (err as Error).message)
  }
  // Copy (a Node Buffer's slice is a view into a shared pool).
  const delta = new Uint8Array(bytes.subarray(4 + headLength))
  const { checksum, ...rest } = header
  if (digest(rest, delta) !== checksum) throw new ContributionError('checksum', `contribution ${header.id}: checksum mismatch`)
  if (header.length !== expectedLength) throw new ContributionError('shape', `contribution ${header.id}: ${header.length} parameters, expected ${expectedLength}`)
  if (header.id !== contributionId(header.node, header.round)) throw new ContributionError('shape', `contribution id ${header.id} does not match its node and round`)
  const wantBytes = header.encoding === 'q8' ? quantizedByteLength(header.length) : header.length * 4
  if (delta.byteLength !== wantBytes) throw new ContributionError('shape', `contribution ${header.id}: delta is ${delta.byteLength} bytes, expected ${wantBytes}`)
  const values = header.encoding === 'q8' ? dequantize8(delta, header.length) : new Float32Array(delta.buffer, delta.byteOffset, header.length)
  if (!isFiniteVector(values)) throw new ContributionError('non_finite', `contribution ${header.id} holds NaN or Inf`)
  return { ...header, values, bytes: bytes.byteLength }
}
