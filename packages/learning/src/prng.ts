// Seeded pseudo-random numbers (sfc32) with the distributions the learner
// needs: uniform, normal, gamma and beta. Every random choice in learning and
// planning goes through one of these, so a run is reproducible from its seed.

export interface Rng {
  /** Uniform in [0, 1). */
  next: () => number
  /** Integer in [0, n). */
  int: (n: number) => number
  /** Standard normal (Box–Muller). */
  normal: () => number
  /** Gamma(shape, scale = 1), Marsaglia–Tsang. */
  gamma: (shape: number) => number
  /** Beta(a, b) from two gammas. */
  beta: (a: number, b: number) => number
  /** The seed this generator started from. */
  readonly seed: number
  /** Opaque generator state, so a snapshot can continue the same sequence. */
  state: () => [number, number, number, number]
  setState: (s: readonly [number, number, number, number]) => void
}

/** Derives a 32-bit seed from a string (FNV-1a), e.g. for per-run sub-streams. */
export function seedFromString (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export function createRng (seed: number): Rng {
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed >>> 0
  const raw = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  // Warm up so that nearby seeds give unrelated sequences.
  for (let i = 0; i < 15; i++) raw()
  let spare: number | undefined
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare
      spare = undefined
      return s
    }
    let u = 0
    while (u <= Number.EPSILON) u = raw()
    const v = raw()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  const gamma = (shape: number): number => {
    if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`)
    if (shape < 1) {
      // Boost: Gamma(k) = Gamma(k+1) · U^(1/k)
      let u = 0
      while (u <= Number.EPSILON) u = raw()
      return gamma(shape + 1) * Math.pow(u, 1 / shape)
    }
    const dd = shape - 1 / 3
    const cc = 1 / Math.sqrt(9 * dd)
    for (;;) {
      let x: number
      let v: number
      do {
        x = normal()
        v = 1 + cc * x
      } while (v <= 0)
      v = v * v * v
      const u = raw()
      if (u < 1 - 0.0331 * x * x * x * x) return dd * v
      if (Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v
    }
  }
  return {
    seed: seed >>> 0,
    next: raw,
    int: (n) => Math.floor(raw() * n),
    normal,
    gamma,
    beta: (x, y) => {
      const g1 = gamma(x)
      const g2 = gamma(y)
      return g1 / (g1 + g2)
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
    setState: (s) => { [a, b, c, d] = s; spare = undefined }
  }
}
