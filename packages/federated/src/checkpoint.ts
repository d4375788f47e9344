// Model checkpoints: a version of the merged model that folds old
// contributions, so state stays bounded and a node away longer than the
// retained history catches up from it. One binary form for the Yjs map, the
// disk and the mesh: u32 header length, header JSON, float32 parameters.
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { parseWith } from '@homeostat/interface'
import { CheckpointError } from './errors.ts'
import { isFiniteVector } from './model.ts'
import { canonicalFolded, EMPTY_FOLDED, foldedEntries, foldedEntriesSchema, foldedFromEntries, foldedWith, type FoldedRounds } from './folded.ts'

export interface ModelCheckpoint {
  /** Last round folded into `params`. */
  version: number
  params: Float32Array
  /** Every contribution folded into `params` since the initial model, as per-node runs of rounds (folded.ts). */
  folded: FoldedRounds
  /** Reference-set accuracy when it was made, if validated. */
  accuracy?: number
  hlc: string
  /** sha256 (hex) of version, folded runs and parameter bytes. */
  hash: string
}

const headerSchema = z.object({
  version: z.number().int().min(-1),
  /** Folded runs per node (folded.ts). */
  runs: foldedEntriesSchema.optional(),
  /** The format before runs: the ids one compaction step folded (still read, and hashed as it was written). */
  folded: z.array(z.string().max(300)).max(1_000_000).optional(),
  accuracy: z.number().min(0).max(1).optional(),
  hlc: z.string().max(200),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  length: z.number().int().min(1).max(10_000_000)
}).strict()

/** sha256 over the version, the folded runs (canonical) or, for a checkpoint written before runs, its sorted id list, and the parameters. */
export function checkpointHash (version: number, folded: FoldedRounds | readonly string[], params: Float32Array): string {
  const h = createHash('sha256')
  h.update(JSON.stringify([version, Array.isArray(folded) ? [...folded].sort() : { runs: foldedEntries(canonicalFolded(folded as FoldedRounds)) }]))
  h.update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength))
  return h.digest('hex')
}

export function createCheckpoint (init: Omit<ModelCheckpoint, 'hash' | 'folded'> & { folded?: FoldedRounds }): ModelCheckpoint {
  const folded = canonicalFolded(init.folded ?? EMPTY_FOLDED)
  return { ...init, folded, hash: checkpointHash(init.version, folded, init.params) }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeCheckpoint (cp: ModelCheckpoint): Uint8Array {
  const header = { version: cp.version, runs: foldedEntries(cp.folded), ...(cp.accuracy !== undefined ? { accuracy: cp.accuracy } : {}), hlc: cp.hlc, hash: cp.hash, length: cp.params.length }
  const head = encoder.encode(JSON.stringify(header))
  const out = new Uint8Array(4 + head.length + cp.params.byteLength)
  new DataView(out.buffer).setUint32(0, head.length, true)
  out.set(head, 4)
  out.set(new Uint8Array(cp.params.buffer, cp.params.byteOffset, cp.params.byteLength), 4 + head.length)
  return out
}

export function decodeCheckpoint (bytes: Uint8Array, expectedLength?: number): ModelCheckpoint {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) throw new CheckpointError('FED_CHECKPOINT_CORRUPT', 'checkpoint is truncated')
  const headLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true)
  if (4 + headLength > bytes.byteLength) throw new CheckpointError('FED_CHECKPOINT_CORRUPT', 'checkpoint header is truncated')
  let header: z.infer<typeof headerSchema>
  try {
    header = parseWith(headerSchema, JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength))), 'checkpoint header')
  } catch (err) {
    throw new CheckpointError('FED_CHECKPOINT_CORRUPT', `checkpoint header: ${(err as Error).message}`)
  }
  if (expectedLength !== undefined && header.length !== expectedLength) throw new CheckpointError('FED_CHECKPOINT_INVALID', `checkpoint has ${header.length} parameters, expected ${expectedLength}`)
  if (bytes.byteLength !== 4 + headLength + header.length * 4) throw new CheckpointError('FED_CHECKPOINT_CORRUPT', 'checkpoint parameters are truncated')
  // Copy (a Node Buffer's slice is a view into a shared pool).
  const params = new Float32Array(new Uint8Array(bytes.subarray(4 + headLength)).buffer)
  if ((header.runs === undefined) === (header.folded === undefined)) throw new CheckpointError('FED_CHECKPOINT_CORRUPT', 'checkpoint header: expected exactly one of runs and folded')
  let folded: FoldedRounds
  try {
    folded = header.folded !== undefined ? foldedWith(EMPTY_FOLDED, header.folded) : foldedFromEntries(header.runs!)
  } catch (err) {
    throw new CheckpointError('FED_CHECKPOINT_CORRUPT', `checkpoint header: runs: ${(err as Error).message}`)
  }
  if (checkpointHash(header.version, header.folded ?? folded, params) !== header.hash) throw new CheckpointError('FED_CHECKPOINT_CORRUPT', `checkpoint ${header.version}: hash mismatch`)
  return { version: header.version, params, folded, ...(header.accuracy !== undefined ? { accuracy: header.accuracy } : {}), hlc: header.hlc, hash: header.hash }
}

export interface ParameterBounds {
  /** Largest absolute parameter value accepted. */
  maxAbs: number
  /** Largest L2 norm accepted. */
  maxNorm: number
}

/**
 * Semantic validation: finite parameters whose distribution is within the
 * learned bounds. A checkpoint that fails does not count.
 */
export function validateCheckpoint (cp: ModelCheckpoint, bounds?: ParameterBounds): void {
  if (!isFiniteVector(cp.params)) throw new CheckpointError('FED_CHECKPOINT_INVALID', `checkpoint ${cp.version} holds NaN or Inf`)
  if (bounds === undefined) return
  let maxAbs = 0
  let sq = 0
  for (let i = 0; i < cp.params.length; i++) { const v = Math.abs(cp.params[i]!); if (v > maxAbs) maxAbs = v; sq += v * v }
  if (maxAbs > bounds.maxAbs) throw new CheckpointError('FED_CHECKPOINT_INVALID', `checkpoint ${cp.version}: |w|max ${maxAbs.toFixed(3)} is over the learned bound ${bounds.maxAbs.toFixed(3)}`)
  if (Math.sqrt(sq) > bounds.maxNorm) throw new CheckpointError('FED_CHECKPOINT_INVALID', `checkpoint ${cp.version}: norm ${Math.sqrt(sq).toFixed(3)} is over the learned bound ${bounds.maxNorm.toFixed(3)}`)
}

/** Learns bounds from accepted checkpoints: `factor` × the largest seen so far (at least `floor`). */
export function learnBounds (history: readonly ModelCheckpoint[], factor = 3, floor: ParameterBounds = { maxAbs: 1, maxNorm: 10 }): ParameterBounds {
  let maxAbs = 0
  let maxNorm = 0
  for (const cp of history) {
    let sq = 0
    for (let i = 0; i < cp.params.length; i++) { const v = Math.abs(cp.params[i]!); if (v > maxAbs) maxAbs = v; sq += v * v }
    maxNorm = Math.max(maxNorm, Math.sqrt(sq))
  }
  return { maxAbs: Math.max(floor.maxAbs, maxAbs * factor), maxNorm: Math.max(floor.maxNorm, maxNorm * factor) }
}
