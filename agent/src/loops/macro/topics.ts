// The macro loop's wire records: edges' verified outcomes to the cloud peer,
// the cloud peer's fleet priors to the edges.
import { z } from 'zod'
import { actionKindSchema, costVectorSchema, LIMITS, type Outcome } from '@homeostat/interface'
import type { Topic } from '@homeostat/mesh'

export const outcomeSchema = z.object({
  incidentId: z.string().min(1).max(LIMITS.nameLength),
  node: z.string().min(1).max(LIMITS.peerIdLength),
  component: z.string().min(1).max(LIMITS.nameLength),
  failureClass: z.string().min(1).max(LIMITS.nameLength),
  action: actionKindSchema,
  success: z.boolean(),
  durationMs: z.number().min(0).finite(),
  cost: costVectorSchema,
  hlc: z.string().min(21).max(20 + LIMITS.peerIdLength)
}).strict()

export const OUTCOME_TOPIC: Topic<Outcome> = { name: 'homeostat/outcomes/1', body: outcomeSchema as unknown as z.ZodType<Outcome> }

const policyBody = z.object({
  version: z.number().int().min(0),
  /** A learning priors document; validated again by importPriors. */
  priors: z.unknown(),
  outcomes: z.number().int().min(0)
}).strict()
export type PolicyBody = z.infer<typeof policyBody>
export const POLICY_TOPIC: Topic<PolicyBody> = { name: 'homeostat/policy/1', body: policyBody, maxBytes: LIMITS.bulkEnvelopeBytes }

