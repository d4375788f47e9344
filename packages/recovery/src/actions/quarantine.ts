// quarantine: stop a crash-looping component and keep it stopped until an
// operator releases it. Always followed by an escalation.
import { infoOrThrow } from './process-util.ts'
import type { ActionImpl } from './types.ts'

export const quarantine: ActionImpl = async (ctx) => {
  const info = infoOrThrow(ctx.target, ctx.component)
  await ctx.target.quarantine(ctx.component, `recovery: ${ctx.incident.failureClass} not healed (incident ${ctx.incident.id})`)
  return {
    summary: `quarantined ${ctx.component} after ${info.restarts ?? ctx.recentRestartsMs.length} restarts; it stays stopped until an operator releases it`,
    data: { restarts: info.restarts ?? null, recentRestarts: ctx.recentRestartsMs.length }
  }
}
