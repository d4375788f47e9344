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
import { foldable, mergeModel, type MergeOptions, type MergeResult } from './merge.ts'
import { foldedHas, foldedWith } from './folded.ts'

export interface FederatedStateInit {
  doc: Y.Doc
  /**
   * This replica's node id. Every key this replica writes starts with `<self>/` (the coordination package's
   * replicated documents let a peer write only its own keys), and it deletes only its own contributions.
   */
  self: string
  parameterCount: number
  /** Whose checkpoints to trust (the cloud peer's, typically). Default: anyone's. */
  trustCheckpointAuthor?: (author: string) => boolean
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
  /** The model the current content would merge to if `excluded` contributions were quarantined too (not cached; for the canary's attribution). */
  modelWithout: (excluded: ReadonlySet<string>) => MergeResult
  /** Folds contributions up to `version` into a checkpoint (written under our own key). */
  compact: (version: number, hlc: string, accuracy?: number) => ModelCheckpoint
  /**
   * Deletes our own contributions folded into the latest checkpoint and our superseded checkpoints: each owner
   * cleans up after itself, so state stays bounded without anyone deleting another's keys. Returns keys deleted.
   */
  collectGarbage: () => number
  quarantine: (ids: readonly string[], reason: string) => void
  isQuarantined: (id: string) => boolean
  stats: () => FederatedStats
}

const VERSION_KEY = (version: number): string => version.toString().padStart(10, '0')
/** Splits `<owner>/<rest>`. */
const splitKey = (key: string): [string, string] => { const i = key.indexOf('/'); return i > 0 ? [key.slice(0, i), key.slice(i + 1)] : ['', key] }

export function createFederatedState (init: FederatedStateInit): FederatedState {
  const { doc, parameterCount } = init
  const contributionsMap = doc.getMap<Uint8Array>('contributions')
  const checkpointsMap = doc.getMap<Uint8Array>('checkpoints')
  const quarantineMap = doc.getMap<string>('quarantine')
  const initial = init.initial ?? new Float32Array(parameterCount)
  const genesis: ModelCheckpoint = createCheckpoint({ version: -1, params: initial, hlc: '' })

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
    let bestAuthor = ''
    for (const [key, bytes] of checkpointsMap.entries()) {
      const [author, version] = splitKey(key)
      if (init.trustCheckpointAuthor !== undefined && !init.trustCheckpointAuthor(author)) continue
      try {
        const cp = decodeCheckpoint(bytes, parameterCount)
        if (VERSION_KEY(cp.version) !== version) throw new Error(`checkpoint stored under ${key} is version ${cp.version}`)
        // Newest version wins; between authors of one version, the smaller id (deterministic on every replica).
        if (cp.version > best.version || (cp.version === best.version && author < bestAuthor)) { best = cp; bestAuthor = author }
      } catch (err) {
        reject(`checkpoint:${key}`, author || 'unknown', 'decode', (err as Error).message)
      }
    }
    stats.checkpoints = checkpointsMap.size
    cachedCheckpoint = best
    return best
  }

  const quarantinedSet = (): Set<string> => new Set([...quarantineMap.keys()].map((k) => splitKey(k)[1]))

  const model = (): MergeResult => {
    if (cachedModel !== undefined) return cachedModel
    const cp = latestCheckpoint()
    const result = mergeModel({ version: cp.version, params: cp.params, folded: cp.folded }, contributions(), quarantinedSet(), init.merge)
    for (const r of result.rejected) if (r.reason !== 'quarantined') reject(r.id, r.node, r.reason, r.detail)
    cachedModel = result
    return result
  }

  const collectGarbage = (): number => {
    const cp = latestCheckpoint()
    const mine = `${init.self}/`
    const doomed: Array<[Y.Map<unknown>, string]> = []
    for (const id of contributionsMap.keys()) if (id.startsWith(mine) && foldedHas(cp.folded, id)) doomed.push([contributionsMap as Y.Map<unknown>, id])
    // Keep our newest two checkpoints as a fallback.
    const own = [...checkpointsMap.keys()].filter((k) => k.startsWith(mine)).sort()
    for (const k of own.slice(0, Math.max(0, own.length - 2))) doomed.push([checkpointsMap as Y.Map<unknown>, k])
    if (doomed.length > 0) doc.transact(() => { for (const [map, key] of doomed) map.delete(key) })
    return doomed.length
  }

  return {
    doc,
    add (c) {
      if (c.node !== init.self) throw new TypeError(`replica ${init.self} cannot add a contribution of ${c.node}`)
      contributionsMap.set(c.id, encodeContribution(c))
    },
    contributions,
    has: (id) => contributionsMap.has(id) || foldedHas(latestCheckpoint().folded, id),
    latestCheckpoint,
    model,
    modelWithout (excluded) {
      const cp = latestCheckpoint()
      const q = quarantinedSet()
      for (const id of excluded) q.add(id)
      return mergeModel({ version: cp.version, params: cp.params, folded: cp.folded }, contributions(), q, init.merge)
    },
    compact (version, hlc, accuracy) {
      const cp = latestCheckpoint()
      if (version <= cp.version) return cp
      const upTo = foldable(contributions(), version, init.merge)
      const q = quarantinedSet()
      const merged = mergeModel({ version: cp.version, params: cp.params, folded: cp.folded }, upTo, q, init.merge)
      const next = createCheckpoint({
        version,
        params: merged.params,
        // Cumulative: an owner that is away keeps its folded contributions in the document until it
        // sees a checkpoint naming them, however many checkpoints later that is.
        folded: foldedWith(cp.folded, [...merged.applied, ...upTo.filter((c) => q.has(c.id) || merged.rejected.some((r) => r.id === c.id)).map((c) => c.id)]),
        ...(accuracy !== undefined ? { accuracy } : {}),
        hlc
      })
      checkpointsMap.set(`${init.self}/${VERSION_KEY(next.version)}`, encodeCheckpoint(next))
      collectGarbage()
      return next
    },
    collectGarbage,
    quarantine (ids, reason) {
      doc.transact(() => { for (const id of ids) quarantineMap.set(`${init.self}/${id}`, reason) })
    },
    isQuarantined: (id) => quarantinedSet().has(id),
    stats: () => { contributions(); latestCheckpoint(); return { ...stats, quarantined: quarantinedSet().size, rejected: { ...stats.rejected }, rejectedBySender: { ...stats.rejectedBySender } } }
  }
}
