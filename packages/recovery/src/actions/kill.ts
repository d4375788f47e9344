// kill: for a hung component. SIGTERM, wait a short grace, SIGKILL if it is
// still there, then start it again. A hung process rarely honours SIGTERM,
// so the grace is short (defaults.hangGraceMs).
import { infoOrThrow, pidAlive, safeInfo, waitForExit } from './process-util.ts'
import type { ActionImpl } from './types.ts'

export const kill: ActionImpl = async (ctx) => {
  const before = infoOrThrow(ctx.target, ctx.component)
  const pid = before.pid
  const graceMs = ctx.defaults.hangGraceMs
  const evidence: string[] = []
  let killed = false
  let termExited = true
  const wasAlive = pidAlive(pid)
  if (wasAlive) {
    await ctx.target.signal(ctx.component, 'SIGTERM', 'recovery: kill (hang)')
    termExited = await waitForExit(pid, graceMs, ctx.sleep, ctx.now, ctx.signal)
    if (!termExited) {
      evidence.push(`pid ${pid} ignored SIGTERM for ${graceMs} ms`)
      await ctx.target.signal(ctx.component, 'SIGKILL', 'recovery: kill (hang)')
      killed = true
      await waitForExit(pid, graceMs, ctx.sleep, ctx.now, ctx.signal)
    }
  } else {
    evidence.push(`pid ${pid ?? '-'} was already gone`)
  }
  // The supervisor notices the exit asynchronously; wait until it agrees.
  const deadline = ctx.now() + graceMs
  while (ctx.now() < deadline) {
    const i = safeInfo(ctx.target, ctx.component)
    if (i == null || i.pid !== pid || !['running', 'starting'].includes(i.state)) break
    await ctx.sleep(10, ctx.signal)
  }
  const now = safeInfo(ctx.target, ctx.component)
  if (now == null || now.pid === pid || now.pid == null || !['running', 'starting'].includes(now.state)) {
    await ctx.target.startComponent(ctx.component)
  }
  const after = safeInfo(ctx.target, ctx.component)
  return {
    summary: wasAlive
      ? `killed hung ${ctx.component} (${killed ? 'SIGTERM ignored, SIGKILL' : 'SIGTERM'}) and started it again (pid ${pid ?? '-'} → ${after?.pid ?? '-'})`
      : `${ctx.component} was not running (nothing to kill); started it again (pid ${after?.pid ?? '-'})`,
    evidence,
    data: { graceMs, sigkill: killed, oldPid: pid ?? null, newPid: after?.pid ?? null },
    restarted: true
  }
}
