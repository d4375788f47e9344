import * as Y from 'yjs'
import { encode } from '@homeostat/hlc'
import { createContribution, encodeContribution, type Contribution } from '@homeostat/federated'

export const P = 64

export function vec (values: number[] | ((i: number) => number), length = P): Float32Array {
  return Float32Array.from({ length }, (_, i) => (typeof values === 'function' ? values(i) : values[i % values.length]!))
}

export function contrib (node: string, round: number, values: Float32Array, opts: { baseVersion?: number, samples?: number, t?: number, encoding?: 'f32' | 'q8' } = {}): Contribution {
  return createContribution({
    node,
    round,
    baseVersion: opts.baseVersion ?? round - 1,
    values,
    samples: opts.samples ?? 100,
    loss: 1,
    hlc: encode({ wallMs: opts.t ?? 1_700_000_000_000 + round * 1000, logical: 0, node }),
    encoding: opts.encoding ?? 'f32'
  })
}

/** Syncs every doc with every other (state-vector exchange). */
export function syncAll (docs: Y.Doc[]): void {
  for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
}

/** Writes a contribution as its owner's replica would (tests with many owners on one doc). */
export function put (doc: Y.Doc, c: Contribution): void {
  doc.getMap<Uint8Array>('contributions').set(c.id, encodeContribution(c))
}
