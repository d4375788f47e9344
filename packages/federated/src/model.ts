// The training workload, on Float32Array parameters trained with minibatch
// SGD: multinomial logistic (softmax) regression (the default: converges in a
// few dozen rounds on a Pi), or a one-hidden-layer ReLU MLP (784-H-10: slower
// to converge, so work lost to a disconnection shows). The architecture is
// implied by the parameter count, so every function here takes just the
// Float32Array. Real enough that divergence, NaN and stalls are real.
import { CLASSES, IMAGE_SIZE, type Dataset } from './data.ts'
import { seededRandom, type Random } from '@homeostat/interface'

/** Softmax regression: weights (CLASSES × IMAGE_SIZE, row-major) followed by CLASSES biases. */
export const PARAMETER_COUNT = CLASSES * IMAGE_SIZE + CLASSES

export function createParameters (): Float32Array {
  return new Float32Array(PARAMETER_COUNT)
}

/** Largest MLP hidden layer accepted (a Pi-sized model; bounds memory of a parameter vector). */
export const MAX_HIDDEN_UNITS = 1024

/**
 * Parameter count of the model with `hiddenUnits` hidden ReLU units (0 = softmax regression). MLP layout:
 * W1 (H × IMAGE_SIZE, row-major), b1 (H), W2 (CLASSES × H), b2 (CLASSES).
 */
export function parameterCount (hiddenUnits = 0): number {
  if (!Number.isInteger(hiddenUnits) || hiddenUnits < 0 || hiddenUnits > MAX_HIDDEN_UNITS) throw new RangeError(`hiddenUnits must be an integer in 0…${MAX_HIDDEN_UNITS}, got ${hiddenUnits}`)
  return hiddenUnits === 0 ? PARAMETER_COUNT : hiddenUnits * (IMAGE_SIZE + 1 + CLASSES) + CLASSES
}

/** Hidden units implied by a parameter vector's length (0 = softmax regression); throws for a length no model has. */
export function hiddenUnitsOf (length: number): number {
  if (length === PARAMETER_COUNT) return 0
  const h = (length - CLASSES) / (IMAGE_SIZE + 1 + CLASSES)
  if (!Number.isInteger(h) || h < 1 || h > MAX_HIDDEN_UNITS) throw new RangeError(`${length} parameters is neither softmax regression (${PARAMETER_COUNT}) nor a 784-H-10 MLP`)
  return h
}

/**
 * Initial parameters: zeros for softmax regression; for an MLP, He-uniform hidden weights and Glorot-uniform
 * output weights from a seeded stream (zeros would leave every hidden unit identical). Every replica of one
 * federation must start from the same vector: pass it as the state's `initial`.
 */
export function initialParameters (hiddenUnits = 0, seed = 1): Float32Array {
  const params = new Float32Array(parameterCount(hiddenUnits))
  if (hiddenUnits === 0) return params
  const random = seededRandom(seed)
  const h = hiddenUnits
  const w1 = Math.sqrt(6 / IMAGE_SIZE)
  for (let i = 0; i < h * IMAGE_SIZE; i++) params[i] = (2 * random() - 1) * w1
  const w2 = Math.sqrt(6 / (h + CLASSES))
  const w2At = h * IMAGE_SIZE + h
  for (let i = 0; i < CLASSES * h; i++) params[w2At + i] = (2 * random() - 1) * w2
  return params
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
  const hidden = hiddenUnitsOf(params.length)
  if (hidden > 0) return trainMlp(params, hidden, data, options)
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
  const hidden = hiddenUnitsOf(params.length)
  if (hidden > 0) return evaluateMlp(params, hidden, data)
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

// --- MLP (784-H-10, ReLU) -------------------------------------------------

/** Forward pass of one sample: hidden activations into `h`, class probabilities into `out`. */
function forwardMlp (params: Float32Array, hidden: number, sp: Sparse, n: number, h: Float64Array, out: Float64Array): void {
  const b1At = hidden * IMAGE_SIZE
  const w2At = b1At + hidden
  const b2At = w2At + CLASSES * hidden
  const from = sp.start[n]!
  const to = sp.start[n + 1]!
  for (let j = 0; j < hidden; j++) {
    let z = params[b1At + j]!
    const row = j * IMAGE_SIZE
    for (let k = from; k < to; k++) z += params[row + sp.index[k]!]! * sp.value[k]!
    h[j] = z > 0 ? z : 0
  }
  let maxLogit = -Infinity
  for (let c = 0; c < CLASSES; c++) {
    let z = params[b2At + c]!
    const row = w2At + c * hidden
    for (let j = 0; j < hidden; j++) z += params[row + j]! * h[j]!
    out[c] = z
    if (z > maxLogit) maxLogit = z
  }
  let sum = 0
  for (let c = 0; c < CLASSES; c++) { out[c] = Math.exp(out[c]! - maxLogit); sum += out[c]! }
  for (let c = 0; c < CLASSES; c++) out[c] = out[c]! / sum
}

function trainMlp (params: Float32Array, hidden: number, data: Dataset, options: TrainOptions): TrainResult {
  const { learningRate, batchSize, random } = options
  const b1At = hidden * IMAGE_SIZE
  const w2At = b1At + hidden
  const b2At = w2At + CLASSES * hidden
  const grad = new Float32Array(params.length)
  const h = new Float64Array(hidden)
  const dh = new Float64Array(hidden)
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
      forwardMlp(params, hidden, sp, idx, h, p)
      lossSum += -Math.log(Math.max(p[label]!, 1e-12))
      dh.fill(0)
      for (let c = 0; c < CLASSES; c++) {
        const g = p[c]! - (c === label ? 1 : 0)
        const row = w2At + c * hidden
        for (let j = 0; j < hidden; j++) {
          grad[row + j] = grad[row + j]! + g * h[j]!
          dh[j] = dh[j]! + g * params[row + j]!
        }
        grad[b2At + c] = grad[b2At + c]! + g
      }
      const from = sp.start[idx]!
      const to = sp.start[idx + 1]!
      for (let j = 0; j < hidden; j++) {
        if (h[j]! <= 0) continue
        const g = dh[j]!
        const row = j * IMAGE_SIZE
        for (let k = from; k < to; k++) grad[row + sp.index[k]!] = grad[row + sp.index[k]!]! + g * sp.value[k]!
        grad[b1At + j] = grad[b1At + j]! + g
      }
    }
    const step = learningRate / n
    for (let i = 0; i < params.length; i++) params[i] = params[i]! - step * grad[i]!
    seen += n
  }
  return { loss: lossSum / Math.max(1, seen), samples: seen }
}

function evaluateMlp (params: Float32Array, hidden: number, data: Dataset): Evaluation {
  let correct = 0
  let lossSum = 0
  const sp = sparse(data)
  const h = new Float64Array(hidden)
  const p = new Float64Array(CLASSES)
  for (let idx = 0; idx < data.length; idx++) {
    forwardMlp(params, hidden, sp, idx, h, p)
    let best = 0
    for (let c = 1; c < CLASSES; c++) if (p[c]! > p[best]!) best = c
    if (best === data.y[idx]) correct++
    lossSum += -Math.log(Math.max(p[data.y[idx]!]!, 1e-12))
  }
  return { accuracy: correct / Math.max(1, data.length), loss: lossSum / Math.max(1, data.length) }
}
