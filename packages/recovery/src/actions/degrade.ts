// degrade: switch the component to its fallback (e.g. a smaller model) by
// patching its spec and restarting. Undo restores the old values. The patch
// comes from recovery config `fallback.patch`, else from the component spec's
// `fallback` (monitor: command/args/env/artifactVersion).
import { UnsupportedActionError } from '../errors.ts'
import { infoOrThrow, specOf, startOrRestart } from './process-util.ts'
import type { ActionImpl } from './types.ts'

/** The spec patch a monitor-style `fallback` block stands for. Pure. */
export function fallbackPatch (spec: Record<string, unknown>): Record<string, unknown> | undefined {
  const fb = spec.fallback as { command?: string, args?: string[], env?: Record<string, string>, artifactVersion?: string } | undefined
  if (fb == null) return undefined
  const patch: Record<string, unknown> = {}
  if (fb.command != null) patch.command = fb.command
  if (fb.args != null) patch.args = fb.args
  if (fb.env != null) patch.env = { ...(spec.env as Record<string, string> | undefined), ...fb.env }
  if (fb.artifactVersion != null && spec.artifact != null) patch.artifact = { ...(spec.artifact as object), version: fb.artifactVersion }
  return Object.keys(patch).length > 0 ? patch : undefined
}

export const degrade: ActionImpl = async (ctx) => {
  const info = infoOrThrow(ctx.target, ctx.component)
  const spec = specOf(info) as Record<string, unknown>
  const patch = ctx.config.fallback?.patch ?? fallbackPatch(spec)
  if (patch == null) throw new UnsupportedActionError('degrade', ctx.component, 'no fallback configured')
  const original: Record<string, unknown> = {}
  for (const key of Object.keys(patch)) original[key] = structuredClone(spec[key])
  await ctx.target.updateSpec(ctx.component, patch)
  const graceMs = ctx.config.graceMs ?? ctx.defaults.restartGraceMs
  await startOrRestart(ctx.target, ctx.component, graceMs)
  const what = ctx.config.fallback?.description ?? `spec patch ${JSON.stringify(patch).slice(0, 200)}`
  return {
    summary: `degraded ${ctx.component} to its fallback (${what}) and restarted it`,
    data: { patch, original },
    restarted: true,
    undo: async () => {
      // Keys that were absent before are reset to undefined so the spec's defaults apply again.
      await ctx.target.updateSpec(ctx.component, original)
      await startOrRestart(ctx.target, ctx.component, graceMs)
      return `restored ${ctx.component}'s spec and restarted it`
    }
  }
}
