export { type Planner, type PlannerOptions, type PlannerStats, type ApprovalOptions, PLANNER_DEFAULTS, createPlanner } from './planner.ts'
export { type CatalogueAction, type PreconditionContext, DEFAULT_CATALOGUE, validateCatalogue, inapplicable, matchesClass, catalogueDefaultPrior } from './catalogue.ts'
export { STATIC_FRACTION, DYNAMIC_ALPHA_MIN, DYNAMIC_ALPHA_MAX, staticBeta, dynamicBeta, adaptiveBeta, historicalSpend, hostCapacity, type HostCapacityOptions } from './budget.ts'
export { type BudgetLedger, type LedgerOptions, LEDGER_DEFAULTS, createBudgetLedger, windowTotals, windowIndex } from './ledger.ts'
export {
  type AuditLog, type AuditLogOptions, type AuditStore, type AuditProblem, type VerifyResult, type VerifyOptions, type FileAuditStoreOptions,
  AUDIT_DEFAULTS, GENESIS_HASH, canonicalJson, hashRecord, verifyChain, createAuditLog, createMemoryAuditStore, createFileAuditStore,
  type StoreAuditStoreOptions, STORE_AUDIT_DEFAULTS, createStoreAuditStore, importLegacyAuditFile
} from './audit.ts'
export { type ApprovalGate, type ApprovalResolution, type ApprovalDecision, createApprovalGate } from './approval.ts'
export { type PlannerClock, type ManualClock, systemClock, createManualClock } from './clock.ts'
export { type RewardWeights, type DualOptions, REWARD_DEFAULTS, DUAL_DEFAULTS, expectedReward, expectedCost, lagrangian, dualAscent, worthTrying } from './lagrangian.ts'
export { addCost, subCost, scaleCost, mixCost, utilisation, fits, overflowing } from './cost.ts'
export { PlannerError } from './errors.ts'
