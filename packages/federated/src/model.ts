// The training workload: multinomial logistic (softmax) regression on
// Float32Array parameters, trained with minibatch SGD. Small enough for a Pi,
// real enough that divergence, NaN and stalls are real.
import { CLASSES, IMAGE_SIZE, type Dataset } from './data.ts'
import type { Random } from './rng.ts'

/** Weights (CLASSES × IMAGE_SIZE, row-major) followed by CLASSES biases. */
export const PARAMETER_COUNT = CLASSES * IMAGE_SIZE + CLASSES

export function createParameters (): Float32Array {
  return new Float32Array(PARAMETER_COUNT)
}

const logits = new Float64Array(CLASSES)

/** MNIST pixels are ~80 % zeros: each sample's non-zero pixels, computed once per dataset. */
interface Sparse { start: Uint32Array, index: Uint16Array, value: Float32Array }
const sparseCache = new WeakMap<Dataset, Sparse>()

function sparse (data: Dataset): Sparse {
  let s = sparseCache.get(data)
  if (s !== undefined) return s
  let nnz = 0
  for (let i = 0; i < data.x.length; i++) if (data.x[i] !== 0) nnz++
  s = { start: new Uint32Array(data.length + 1), index: new Uint16Array(nnz), value: new Float32Array(nnz) }
  let k = 0
  for (let n = 0; n < data.length; n++) {
    s.start[n] = k
    for (let i = 0; i < IMAGE_SIZE; i++) {
      const v = data.x[n * IMAGE_SIZE + i]!
      if (v !== 0) { s.index[k] = i; s.value[k] = v; k++ }
    }
  }
  s.start[data.length] = k
  sparseCache.set(data, s)
  return s
}

function forward (params: Float32Array, sp: Sparse, n: number, out: Float64Array): void {
  let maxLogit = -Infinity
  const from = sp.start[n]!
  const to = sp.start[n + 1]!
  for (let c = 0; c < CLASSES; c++) {
    let z = params[CLASSES * IMAGE_SIZE + c]!
    const row = c * IMAGE_SIZE
    for (let k = from; k < to; k++) z += params[row + sp.index[k]!]! * sp.value[k]!
    out[c] = z
    if (z > maxLogit) maxLogit = z
  }
  let sum = 0
  for (let c = 0; c < CLASSES; c++) { out[c] = Math.exp(out[c]! - maxLogit); sum += out[c]! }
  for (let c = 0; c < CLASSES; c++) out[c] = out[c]! / sum
}

export interface TrainOptions {
  learningRate: number
  batchSize: number
  /** Samples visited this round (one pass = data.length). */
  samples: number
  random: Random
}

export interface TrainResult {
  /** Mean cross-entropy over the visited samples (NaN if the model blew up). */
  loss: number
  samples: number
}

/** One local round of minibatch SGD; updates `params` in place. */
export function train (params: Float32Array, data: Dataset, options: TrainOptions): TrainResult {
  const { learningRate, batchSize, random } = options
  const grad = new Float32Array(PARAMETER_COUNT)
  const p = new Float64Array(CLASSES)
  const sp = sparse(data)
  let lossSum = 0
  let seen = 0
  while (seen < options.samples) {
    const n = Math.min(batchSize, options.samples - seen)
    grad.fill(0)
    for (let b = 0; b < n; b++) {
      const idx = Math.floor(random() * data.length)
      const label = data.y[idx]!
      forward(params, sp, idx, p)
      lossSum += -Math.log(Math.max(p[label]!, 1e-12))
      for (let c = 0; c < CLASSES; c++) {
        const g = p[c]! - (c === label ? 1 : 0)
        if (g === 0) continue
        const row = c * IMAGE_SIZE
        for (let k = sp.start[idx]!; k < sp.start[idx + 1]!; k++) grad[row + sp.index[k]!] = grad[row + sp.index[k]!]! + g * sp.value[k]!
        grad[CLASSES * IMAGE_SIZE + c] = grad[CLASSES * IMAGE_SIZE + c]! + g
      }
    }
    const step = learningRate / n
    for (let i = 0; i < PARAMETER_COUNT; i++) params[i] = params[i]! - step * grad[i]!
    seen += n
  }
  return { loss: lossSum / Math.max(1, seen), samples: seen }
}

export interface Evaluation {
  accuracy: number
  loss: number
}

export function evaluate (params: Float32Array, data: Dataset): Evaluation {
  let correct = 0
  let lossSum = 0
  const sp = sparse(data)
  for (let idx = 0; idx < data.length; idx++) {
    forward(params, sp, idx, logits)
    let best = 0
    for (let c = 1; c < CLASSES; c++) if (logits[c]! > logits[best]!) best = c
    if (best === data.y[idx]) correct++
    lossSum += -Math.log(Math.max(logits[data.y[idx]!]!, 1e-12))
  }
  return { accuracy: correct / Math.max(1, data.length), loss: lossSum / Math.max(1, data.length) }
}

export function l2Norm (v: Float32Array): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}

export function isFiniteVector (v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false
  return true
}
