// Seeded randomness, shared: every package takes its randomness injected as a `Random` (a
// function returning a number in [0, 1)), and tests, simulations and benchmarks seed it so a
// run replays from its printed seed. mulberry32: tiny, fast, the same on every platform.
export type Random = () => number

export function seededRandom (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Fisher–Yates shuffle of `items` in place with an injected `random` (one draw per position, from the end). */
export function shuffle<T> (items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
  return items
}
