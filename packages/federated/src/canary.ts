// Self-validation: a merged version is scored on a held-out reference set
// before it is adopted; one that validates worse than the adopted version by
// more than the threshold is rolled back — its new contributions quarantined
// (every replica then merges without them).
import type { Dataset } from './data.ts'
import { evaluate } from './model.ts'
import type { FederatedState } from './state.ts'

export const CANARY_DEFAULTS = {
  /** Roll back a version whose reference accuracy drops by more than this (absolute, 0–1): 3 points is beyond round-to-round noise here. */
  maxAccuracyDrop: 0.03
} as const

export interface CanaryDecision {
  version: number
  accuracy: number
  adoptedAccuracy: number
  verdict: 'adopted' | 'rolled_back' | 'unchanged'
  quarantined: string[]
}

export interface Canary {
  check: () => CanaryDecision
  adopted: () => { version: number, accuracy: number, applied: ReadonlySet<string> }
}

export function createCanary (init: { state: FederatedState, reference: Dataset, maxAccuracyDrop?: number }): Canary {
  const maxDrop = init.maxAccuracyDrop ?? CANARY_DEFAULTS.maxAccuracyDrop
  let adopted = { version: -1, accuracy: 0, applied: new Set<string>() as ReadonlySet<string> }
  return {
    adopted: () => adopted,
    check () {
      const m = init.state.model()
      const fresh = m.applied.filter((id) => !adopted.applied.has(id))
      if (fresh.length === 0) return { version: m.version, accuracy: adopted.accuracy, adoptedAccuracy: adopted.accuracy, verdict: 'unchanged', quarantined: [] }
      const { accuracy } = evaluate(m.params, init.reference)
      if (adopted.version >= 0 && accuracy < adopted.accuracy - maxDrop) {
        init.state.quarantine(fresh, `canary: reference accuracy ${accuracy.toFixed(3)} < adopted ${adopted.accuracy.toFixed(3)} − ${maxDrop}`)
        return { version: m.version, accuracy, adoptedAccuracy: adopted.accuracy, verdict: 'rolled_back', quarantined: fresh }
      }
      adopted = { version: m.version, accuracy, applied: new Set(m.applied) }
      return { version: m.version, accuracy, adoptedAccuracy: accuracy, verdict: 'adopted', quarantined: [] }
    }
  }
}
