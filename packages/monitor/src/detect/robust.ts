// Rolling median and median absolute deviation over the last `capacity`
// values: a ring buffer (to know which value leaves) plus the same values kept
// sorted (binary search + one memmove per update, so O(capacity) worst case,
// a few hundred bytes moved). Median is O(1); MAD is O(capacity/2) by merging
// outwards from the median.

export class RollingRobust {
  private readonly ring: Float64Array
  private readonly sorted: Float64Array
  private head = 0
  private n = 0

  constructor (readonly capacity: number) {
    this.ring = new Float64Array(capacity)
    this.sorted = new Float64Array(capacity)
  }

  get size (): number { return this.n }

  get bytes (): number { return this.ring.byteLength + this.sorted.byteLength }

  push (x: number): void {
    if (this.n < this.capacity) {
      this.ring[(this.head + this.n) % this.capacity] = x
      insertSorted(this.sorted, this.n, x)
      this.n++
      return
    }
    const old = this.ring[this.head]
    this.ring[this.head] = x
    this.head = (this.head + 1) % this.capacity
    removeSorted(this.sorted, this.n, old)
    insertSorted(this.sorted, this.n - 1, x)
  }

  median (): number {
    const s = this.sorted
    const n = this.n
    if (n === 0) return NaN
    return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  }

  /** Median of |v − m| over the window (m is normally the median). */
  mad (m: number): number {
    const s = this.sorted
    const n = this.n
    if (n === 0) return NaN
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (s[mid] < m) lo = mid + 1
      else hi = mid
    }
    // Merge the deviations below and above m in increasing order; the
    // ((n−1)/2)-th (and next, for even n) is the median deviation.
    let i = lo - 1
    let j = lo
    const k = (n - 1) >> 1
    const last = n % 2 === 1 ? k : k + 1
    let a = 0
    let b = 0
    for (let c = 0; c <= last; c++) {
      let d: number
      if (i >= 0 && (j >= n || m - s[i] <= s[j] - m)) d = m - s[i--]
      else d = s[j++] - m
      if (c === k) a = d
      else b = d
    }
    return n % 2 === 1 ? a : (a + b) / 2
  }
}

function lowerBound (s: Float64Array, n: number, x: number): number {
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (s[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

function insertSorted (s: Float64Array, n: number, x: number): void {
  const at = lowerBound(s, n, x)
  s.copyWithin(at + 1, at, n)
  s[at] = x
}

function removeSorted (s: Float64Array, n: number, x: number): void {
  const at = lowerBound(s, n, x)
  s.copyWithin(at, at + 1, n)
}
