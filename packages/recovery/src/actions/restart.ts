// restart: stop (SIGTERM → grace → SIGKILL, done by the supervisor) and start
// again, after an exponential, jittered backoff when it restarted recently.
import { backoffDelayMs, countInWindow } from '../backoff.ts'
import { infoOrThrow, isShared, safeInfo, startOrRestart } from './process-util.ts'
import type { ActionImpl } from './types.ts'

export const restart: ActionImpl = async (ctx) => {
  const before = infoOrThrow(ctx.target, ctx.component)
  const attempt = countInWindow(ctx.recentRestartsMs, ctx.now(), ctx.defaults.backoffWindowMs)
  const backoffMs = backoffDelayMs(attempt, ctx.defaults.backoff, ctx.random)
  if (backoffMs > 0) await ctx.sleep(backoffMs, ctx.signal)
  // A hung process cannot use a long grace (a stopped one gets SIGCONT after SIGTERM from the supervisor and
  // exits at once): waiting it out only adds to the outage, whichever action the policy named.
  const configured = ctx.config.graceMs ?? ctx.defaults.restartGraceMs
  const graceMs = ctx.incident.failureClass === 'hang' ? Math.min(configured, ctx.defaults.hangGraceMs) : configured
  await startOrRestart(ctx.target, ctx.component, graceMs)
  const after = safeInfo(ctx.target, ctx.component)
  if (isShared(before)) {
    return {
      summary: `ran the restart hook of shared ${ctx.component} after ${backoffMs} ms backoff (restart ${attempt + 1} in window from this node)`,
      data: { backoffMs, attempt, shared: true, previousState: before.state },
      restarted: true
    }
  }
  return {
    summary: `restarted ${ctx.component} after ${backoffMs} ms backoff (restart ${attempt + 1} in window; pid ${before.pid ?? '-'} → ${after?.pid ?? '-'})`,
    data: { backoffMs, attempt, graceMs, oldPid: before.pid ?? null, newPid: after?.pid ?? null, previousState: before.state },
    restarted: true
  }
}
