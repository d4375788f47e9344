// reload: SIGHUP, for components that re-read their configuration on it.
import { UnsupportedActionError } from '../errors.ts'
import { infoOrThrow } from './process-util.ts'
import type { ActionImpl } from './types.ts'

export const reload: ActionImpl = async (ctx) => {
  if (ctx.config.reloadable !== true) throw new UnsupportedActionError('reload', ctx.component, 'not marked reloadable')
  const info = infoOrThrow(ctx.target, ctx.component)
  await ctx.target.signal(ctx.component, 'SIGHUP')
  return { summary: `sent SIGHUP to ${ctx.component} (pid ${info.pid ?? '-'})`, data: { pid: info.pid ?? null } }
}
