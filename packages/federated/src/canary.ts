// Self-validation: a merged version is scored on a held-out reference set
// before it is adopted. One that validates worse than the adopted version by
// more than the threshold is not adopted:
//  - attributable: if leaving out one sender's new contributions recovers
//    most of the drop, only those senders' new contributions are
//    quarantined (every replica then merges without them); the rest is kept;
//  - unattributable (the whole round is worse): all new contributions are
//    quarantined — unless that has happened `rebaselineAfterRollbacks` times
//    in a row: a drop that every sender's work keeps producing is the fleet's
//    data changing (e.g. a region whose digits only it holds went offline),
//    not a bad version, and refusing it forever would throw away every honest
//    round. Then the version is adopted as the new baseline.
import type { Dataset } from './data.ts'
import { evaluate } from './model.ts'
import type { FederatedState } from './state.ts'

export const CANARY_DEFAULTS = {
  /** Roll back a version whose reference accuracy drops by more than this (absolute, 0–1): 3 points is beyond round-to-round noise of softmax regression here… */
  maxAccuracyDrop: 0.03,
  /**
   * …or by more than this multiple of the median round-to-round change between adopted versions, if larger: a
   * noisier workload (an MLP trained a few minibatches per round swings 2–4 points a round) is not rolled back,
   * and honest work not quarantined, for its ordinary noise.
   */
  noiseFactor: 2,
  /** Adopted versions remembered for that median. */
  noiseWindow: 8,
  /** Leave-one-sender-out checks per failed version (each is one merge + one evaluation): bounds the cost with many senders. */
  maxAttributedSenders: 16,
  /** A sender explains the drop when leaving its new contributions out recovers at least this share of it (honest non-IID senders each recover little of a fleet-wide shift). */
  attributionShare: 0.5,
  /** Consecutive unattributable rollbacks after which a still-worse version is adopted as the new baseline (0 = never). */
  rebaselineAfterRollbacks: 2
} as const

export interface CanaryDecision {
  version: number
  accuracy: number
  adoptedAccuracy: number
  /** `rebaselined`: adopted although worse, after repeated unattributable drops (see the module comment). */
  verdict: 'adopted' | 'rolled_back' | 'unchanged' | 'rebaselined'
  quarantined: string[]
  /** Senders whose new contributions alone explained the drop (empty when the drop was unattributable). */
  culprits: string[]
}

export interface Canary {
  check: () => CanaryDecision
  adopted: () => { version: number, accuracy: number, applied: ReadonlySet<string> }
}

export interface CanaryInit {
  state: FederatedState
  reference: Dataset
  maxAccuracyDrop?: number
  maxAttributedSenders?: number
  attributionShare?: number
  rebaselineAfterRollbacks?: number
  noiseFactor?: number
  noiseWindow?: number
}

export function createCanary (init: CanaryInit): Canary {
  const maxDrop = init.maxAccuracyDrop ?? CANARY_DEFAULTS.maxAccuracyDrop
  const maxSenders = init.maxAttributedSenders ?? CANARY_DEFAULTS.maxAttributedSenders
  const rebaselineAfter = init.rebaselineAfterRollbacks ?? CANARY_DEFAULTS.rebaselineAfterRollbacks
  const share = init.attributionShare ?? CANARY_DEFAULTS.attributionShare
  const noiseFactor = init.noiseFactor ?? CANARY_DEFAULTS.noiseFactor
  const noiseWindow = init.noiseWindow ?? CANARY_DEFAULTS.noiseWindow
  const steps: number[] = []
  const adopt = (version: number, accuracy: number, applied: readonly string[]): void => {
    if (adopted.version >= 0) { steps.push(Math.abs(accuracy - adopted.accuracy)); if (steps.length > noiseWindow) steps.shift() }
    adopted = { version, accuracy, applied: new Set(applied) }
  }
  const allowedDrop = (): number => {
    if (steps.length < 3) return maxDrop
    const s = [...steps].sort((a, b) => a - b)
    const m = s.length >> 1
    return Math.max(maxDrop, noiseFactor * (s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2))
  }
  let adopted = { version: -1, accuracy: 0, applied: new Set<string>() as ReadonlySet<string> }
  let unattributed = 0
  return {
    adopted: () => adopted,
    check () {
      const m = init.state.model()
      const fresh = m.applied.filter((id) => !adopted.applied.has(id))
      if (fresh.length === 0) return { version: m.version, accuracy: adopted.accuracy, adoptedAccuracy: adopted.accuracy, verdict: 'unchanged', quarantined: [], culprits: [] }
      const { accuracy } = evaluate(m.params, init.reference)
      const drop = allowedDrop()
      const floor = adopted.accuracy - drop
      if (adopted.version < 0 || accuracy >= floor) {
        unattributed = 0
        adopt(m.version, accuracy, m.applied)
        return { version: m.version, accuracy, adoptedAccuracy: accuracy, verdict: 'adopted', quarantined: [], culprits: [] }
      }
      // Which senders' new work explains the drop? Leave each out in turn (sorted: deterministic).
      const bySender = new Map<string, string[]>()
      const byId = new Map(init.state.contributions().map((c) => [c.id, c]))
      for (const id of fresh) {
        const node = byId.get(id)?.node ?? id.split('/')[0] ?? ''
        const list = bySender.get(node)
        if (list === undefined) bySender.set(node, [id])
        else list.push(id)
      }
      const culprits: string[] = []
      const senders = [...bySender.keys()].sort()
      if (senders.length > 1) {
        for (const sender of senders.slice(0, maxSenders)) {
          const without = init.state.modelWithout(new Set(bySender.get(sender)!))
          if (evaluate(without.params, init.reference).accuracy - accuracy >= share * (adopted.accuracy - accuracy)) culprits.push(sender)
        }
      }
      if (culprits.length > 0 && culprits.length < senders.length) {
        unattributed = 0
        const ids = culprits.flatMap((s) => bySender.get(s)!)
        init.state.quarantine(ids, `canary: without ${culprits.join(', ')} reference accuracy stays within ${drop.toFixed(3)} of adopted ${adopted.accuracy.toFixed(3)} (with: ${accuracy.toFixed(3)})`)
        return { version: m.version, accuracy, adoptedAccuracy: adopted.accuracy, verdict: 'rolled_back', quarantined: ids, culprits }
      }
      if (rebaselineAfter > 0 && unattributed >= rebaselineAfter) {
        unattributed = 0
        adopt(m.version, accuracy, m.applied)
        return { version: m.version, accuracy, adoptedAccuracy: accuracy, verdict: 'rebaselined', quarantined: [], culprits: [] }
      }
      unattributed++
      init.state.quarantine(fresh, `canary: reference accuracy ${accuracy.toFixed(3)} < adopted ${adopted.accuracy.toFixed(3)} − ${drop.toFixed(3)}`)
      return { version: m.version, accuracy, adoptedAccuracy: adopted.accuracy, verdict: 'rolled_back', quarantined: fresh, culprits: [] }
    }
  }
}
