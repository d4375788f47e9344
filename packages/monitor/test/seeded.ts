// Seeded PRNG (mulberry32) for the monitor's randomised tests: each test prints its seed so a failure replays.
export { seededRandom as seeded } from '@homeostat/interface'
