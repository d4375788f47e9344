// A small seeded PRNG (mulberry32): training, splits and simulations are
// reproducible from a seed on every replica.
import { seededRandom, type Random } from '@homeostat/interface'

export type { Random }

/** The shared mulberry32 generator under the name this package has always exported. */
export const createRandom: (seed: number) => Random = seededRandom

/** Fisher–Yates shuffle in place with an injected random. */
export function shuffle<T> (items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
  return items
}
