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

  /**
   * Median of |v − m| over the window (m is normally the median), in
   * O(log capacity): the deviations below m (read leftwards) and above m
   * (read rightwards) are two sorted sequences; the median deviation is found
   * by binary search for the partition holding the k smallest of their merge.
   */
  mad (m: number): number {
    const s = this.sorted
    const n = this.n
    if (n === 0) return NaN
    const split = lowerBound(s, n, m)
    const nA = split // A[t] = m − s[split − 1 − t], increasing in t
    const nB = n - split // B[t] = s[split + t] − m, increasing in t
    const k = (n - 1) >> 1 // 0-based rank of the (lower) median deviation
    let lo = Math.max(0, k + 1 - nB)
    let hi = Math.min(k + 1, nA)
    let i = lo
    while (lo <= hi) {
      i = (lo + hi) >> 1
      const j = k + 1 - i
      if (i < nA && j > 0 && s[split + j - 1] - m > m - s[split - 1 - i]) lo = i + 1
      else if (i > 0 && j < nB && m - s[split - i] > s[split + j] - m) hi = i - 1
      else break
    }
    const j = k + 1 - i
    const a = Math.max(i > 0 ? m - s[split - i] : -Infinity, j > 0 ? s[split + j - 1] - m : -Infinity)
    if (n % 2 === 1) return a
    const b = Math.min(i < nA ? m - s[split - 1 - i] : Infinity, j < nB ? s[split + j] - m : Infinity)
    return (a + b) / 2
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
