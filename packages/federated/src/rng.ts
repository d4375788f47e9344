// A small seeded PRNG (mulberry32): training, splits and simulations are
// reproducible from a seed on every replica.
import { seededRandom, shuffle, type Random } from '@homeostat/interface'

export type { Random }
export { shuffle }

/** The shared mulberry32 generator under the name this package has always exported. */
export const createRandom: (seed: number) => Random = seededRandom

