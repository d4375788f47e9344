// The federated state on a Yjs document: a grow-only map of contributions
// (one key per contribution), checkpoints that fold old ones, and the
// quarantine set written by canary rollbacks. Whatever replicates the doc
// (the coordination package over the mesh) makes every replica converge; the
// model is a pure function of the doc's content.
import * as Y from 'yjs'
import {
  decodeContribution, encodeContribution, type Contribution, type DecodedContribution
} from './contribution.ts'
import { ContributionError, type RejectReason } from './errors.ts'
import { createCheckpoint, decodeCheckpoint, encodeCheckpoint, type ModelCheckpoint } from './checkpoint.ts'
import { mergeModel, type MergeOptions, type MergeResult } from './merge.ts'

export interface FederatedStateInit {
  doc: Y.Doc
  parameterCount: number
  /** Initial model (version −1); zeros by default. Every replica must use the same. */
  initial?: Float32Array
  merge?: MergeOptions
  /** Called once per refused contribution (bad bytes, checksum, NaN, anomalous norm…): feed it to reputation. */
  onReject?: (node: string, reason: RejectReason, detail: string) => void
}

export interface FederatedStats {
  contributions: number
  checkpoints: number
  quarantined: number
  rejected: Partial<Record<RejectReason, number>>
  rejectedBySender: Record<string, number>
}

export interface FederatedState {
  readonly doc: Y.Doc
  /** Adds a local contribution (one Yjs transaction). */
  add: (c: Contribution) => void
  /** Valid contributions, decoded (cached by id). */
  contributions: () => DecodedContribution[]
  /** Ids present (valid or not), including those folded into the latest checkpoint. */
  has: (id: string) => boolean
  latestCheckpoint: () => ModelCheckpoint
  /** The merged model of the current content (memoised until the doc changes). */
  model: () => MergeResult
  /** Folds contributions up to `version` into a checkpoint and removes them from the map. */
  compact: (version: number, hlc: string, accuracy?: number) => ModelCheckpoint
  quarantine: (ids: readonly string[], reason: string) => void
  isQuarantined: (id: string) => boolean
  stats: () => FederatedStats
}

const HEADER_KEY = (version: number): string => version.toString().padStart(10, '0')

export function createFederatedState (init: FederatedStateInit): FederatedState {
  const { doc, parameterCount } = init
  const contributionsMap = doc.getMap<Uint8Array>('contributions')
  const checkpointsMap = doc.getMap<Uint8Array>('checkpoints')
  const quarantineMap = doc.getMap<string>('quarantine')
  const initial = init.initial ?? new Float32Array(parameterCount)
  const genesis: ModelCheckpoint = createCheckpoint({ version: -1, params: initial, folded: [], hlc: '' })

  const decoded = new Map<string, DecodedContribution>()
  const refused = new Map<string, RejectReason>()
  const stats: FederatedStats = { contributions: 0, checkpoints: 0, quarantined: 0, rejected: {}, rejectedBySender: {} }
  let cachedModel: MergeResult | undefined
  let cachedCheckpoint: ModelCheckpoint | undefined
  const reported = new Set<string>()

  const reject = (key: string, node: string, reason: RejectReason, detail: string): void => {
    if (reported.has(key)) return
    reported.add(key)
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1
    stats.rejectedBySender[node] = (stats.rejectedBySender[node] ?? 0) + 1
    init.onReject?.(node, reason, detail)
  }

  doc.on('update', () => { cachedModel = undefined; cachedCheckpoint = undefined })

  const contributions = (): DecodedContribution[] => {
    const out: DecodedContribution[] = []
    for (const [id, bytes] of contributionsMap.entries()) {
      let c = decoded.get(id)
      if (c === undefined) {
        if (refused.has(id)) continue
        try {
          c = decodeContribution(bytes, parameterCount)
          if (c.id !== id) throw new ContributionError('shape', `stored under key ${id} but names itself ${c.id}`)
          decoded.set(id, c)
        } catch (err) {
          const reason = err instanceof ContributionError ? err.reason : 'decode'
          refused.set(id, reason)
          reject(id, id.split('/')[0] ?? 'unknown', reason, (err as Error).message)
          continue
        }
      }
      out.push(c)
    }
    stats.contributions = out.length
    return out
  }

  const latestCheckpoint = (): ModelCheckpoint => {
    if (cachedCheckpoint !== undefined) return cachedCheckpoint
    let best = genesis
    for (const [key, bytes] of checkpointsMap.entries()) {
      try {
        const cp = decodeCheckpoint(bytes, parameterCount)
        if (HEADER_KEY(cp.version) !== key) continue
        if (cp.version > best.version) best = cp
      } catch (err) {
        reject(`checkpoint:${key}`, 'checkpoint', 'decode', (err as Error).message)
      }
    }
    stats.checkpoints = checkpointsMap.size
    cachedCheckpoint = best
    return best
  }

  const quarantinedSet = (): Set<string> => new Set(quarantineMap.keys())

  const model = (): MergeResult => {
    if (cachedModel !== undefined) return cachedModel
    const cp = latestCheckpoint()
    const result = mergeModel({ version: cp.version, params: cp.params, folded: new Set(cp.folded) }, contributions(), quarantinedSet(), init.merge)
    for (const r of result.rejected) if (r.reason !== 'quarantined') reject(r.id, r.node, r.reason, r.detail)
    stats.quarantined = quarantineMap.size
    cachedModel = result
    return result
  }

  return {
    doc,
    add (c) {
      contributionsMap.set(c.id, encodeContribution(c))
    },
    contributions,
    has: (id) => contributionsMap.has(id) || latestCheckpoint().folded.includes(id),
    latestCheckpoint,
    model,
    compact (version, hlc, accuracy) {
      const cp = latestCheckpoint()
      if (version <= cp.version) return cp
      const upTo = contributions().filter((c) => c.round <= version)
      const merged = mergeModel({ version: cp.version, params: cp.params, folded: new Set(cp.folded) }, upTo, quarantinedSet(), init.merge)
      const next = createCheckpoint({
        version,
        params: merged.params,
        folded: [...merged.applied, ...upTo.filter((c) => quarantineMap.has(c.id) || merged.rejected.some((r) => r.id === c.id)).map((c) => c.id)],
        ...(accuracy !== undefined ? { accuracy } : {}),
        hlc
      })
      doc.transact(() => {
        checkpointsMap.set(HEADER_KEY(next.version), encodeCheckpoint(next))
        // Keep the previous checkpoint as a fallback; drop older ones.
        const keys = [...checkpointsMap.keys()].sort()
        for (const k of keys.slice(0, Math.max(0, keys.length - 2))) checkpointsMap.delete(k)
        for (const id of next.folded) contributionsMap.delete(id)
      })
      return next
    },
    quarantine (ids, reason) {
      doc.transact(() => { for (const id of ids) quarantineMap.set(id, reason) })
    },
    isQuarantined: (id) => quarantineMap.has(id),
    stats: () => { contributions(); latestCheckpoint(); return { ...stats, quarantined: quarantineMap.size, rejected: { ...stats.rejected }, rejectedBySender: { ...stats.rejectedBySender } } }
  }
}
