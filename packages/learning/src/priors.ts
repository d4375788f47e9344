// Export / import of outcome statistics as priors: a versioned JSON document
// validated with zod. The macro loop merges nodes' exports into fleet priors
// and ships them back; a node imports them *as priors* (weakened by a weight),
// so its own local evidence keeps counting on top.
import { z } from 'zod'
import { parseWith } from '@homeostat/interface'
import type { CellPrior, OutcomeStats } from './outcome-stats.ts'
import { COST_DIMENSIONS } from './outcome-stats.ts'
import { weakenBeta, weakenNormalGamma } from './posterior.ts'
import { LearningError } from './errors.ts'

export const PRIORS_FORMAT = 'homeostat.learning.priors'
export const PRIORS_VERSION = 1
/** Entries in one priors document (same cap as the cells of a node). */
export const MAX_PRIOR_ENTRIES = 4096

const pos = z.number().finite().positive()
const ng = z.object({ mu: z.number().finite(), kappa: pos, alpha: pos, beta: pos }).strict()
const label = z.string().min(1).max(128)

export const priorEntrySchema = z.object({
  failureClass: label,
  action: label,
  /** Observations behind this entry (informational; weights use the pseudo-counts). */
  n: z.number().int().nonnegative(),
  success: z.object({ a: pos, b: pos }).strict(),
  ttrMs: ng,
  cost: z.object({ cpuSeconds: ng, memoryMb: ng, bandwidthKb: ng, disruptionSeconds: ng }).strict()
}).strict()

export const priorsDocumentSchema = z.object({
  format: z.literal(PRIORS_FORMAT),
  version: z.literal(PRIORS_VERSION),
  exportedAtMs: z.number().finite(),
  source: z.string().min(1).max(128),
  entries: z.array(priorEntrySchema).max(MAX_PRIOR_ENTRIES)
}).strict()

export type PriorEntry = z.infer<typeof priorEntrySchema>
export type PriorsDocument = z.infer<typeof priorsDocumentSchema>

export function exportPriors (stats: OutcomeStats, source: string, atMs: number): PriorsDocument {
  const entries: PriorEntry[] = stats.cells()
    .filter((c) => c.n > 0 || c.priorSource === 'imported')
    .slice(0, MAX_PRIOR_ENTRIES)
    .map((c) => ({ failureClass: c.failureClass, action: c.action, n: c.n, ...stats.posterior(c.failureClass, c.action) }))
  return { format: PRIORS_FORMAT, version: PRIORS_VERSION, exportedAtMs: atMs, source, entries }
}

/** Parses an untrusted priors document (object or JSON text). Throws ValidationError (ERR_VALIDATION). */
export function parsePriors (input: unknown): PriorsDocument {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (err) {
      throw new LearningError('ERR_BAD_PRIORS', `priors are not JSON: ${(err as Error).message}`)
    }
  }
  return parseWith(priorsDocumentSchema, value, 'priors document')
}

export interface ImportOptions {
  /** How much of the imported evidence to keep, (0, 1]; fleet priors should not drown local experience. */
  weight?: number
}

/** Installs the document's entries as priors; returns how many were installed. */
export function importPriors (stats: OutcomeStats, doc: PriorsDocument, options: ImportOptions = {}): number {
  const w = options.weight ?? 0.5
  if (!(w > 0 && w <= 1)) throw new LearningError('ERR_BAD_OPTIONS', `import weight must be in (0, 1], got ${w}`)
  let n = 0
  for (const e of doc.entries) {
    const cost = {} as CellPrior['cost']
    for (const d of COST_DIMENSIONS) cost[d] = weakenNormalGamma(e.cost[d], w)
    stats.setPrior(e.failureClass, e.action, { success: weakenBeta(e.success, w), ttrMs: weakenNormalGamma(e.ttrMs, w), cost })
    n++
  }
  return n
}
