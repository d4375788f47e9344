// rollback: switch the component's artifact/model to the previous version and
// restart it. Undo switches back and restarts again. Two sources, in order:
// - the component spec's versioned artifact (monitor: `artifact.versions`,
//   `artifact.version`): the spec's version is set to the one before;
// - recovery config `artifact.path` on disk (symlink or `<path>.prev`).
import { previousArtifactVersion } from '@homeostat/interface'
import { UnsupportedActionError } from '../errors.ts'
import { rollbackArtifact } from './artifact.ts'
import { infoOrThrow, specOf, startOrRestart } from './process-util.ts'
import type { ActionImpl } from './types.ts'

export const rollback: ActionImpl = async (ctx) => {
  const graceMs = ctx.config.graceMs ?? ctx.defaults.restartGraceMs
  const spec = specOf(infoOrThrow(ctx.target, ctx.component))
  const art = spec.artifact
  const prev = spec.artifact != null && spec.name != null ? previousArtifactVersion(spec as Parameters<typeof previousArtifactVersion>[0]) : undefined
  if (art != null && prev != null) {
    const from = art.version ?? art.versions[art.versions.length - 1]
    await ctx.target.updateSpec(ctx.component, { artifact: { ...art, version: prev } })
    await startOrRestart(ctx.target, ctx.component, graceMs)
    return {
      summary: `rolled ${ctx.component}'s artifact back from version ${from} to ${prev} and restarted it`,
      data: { from, to: prev, path: art.path },
      restarted: true,
      undo: async () => {
        await ctx.target.updateSpec(ctx.component, { artifact: { ...art } })
        await startOrRestart(ctx.target, ctx.component, graceMs)
        return `restored ${ctx.component}'s artifact version ${from} and restarted it`
      }
    }
  }
  const file = ctx.config.artifact
  if (file == null) throw new UnsupportedActionError('rollback', ctx.component, art != null ? 'already at the oldest artifact version' : 'no artifact configured')
  const sw = await rollbackArtifact(file.path)
  try {
    await startOrRestart(ctx.target, ctx.component, graceMs)
  } catch (err) {
    await sw.undo()
    throw err
  }
  return {
    summary: `rolled ${ctx.component}'s artifact ${file.path} back from ${sw.from} to ${sw.to} and restarted it`,
    data: { path: file.path, from: sw.from, to: sw.to },
    restarted: true,
    undo: async () => {
      await sw.undo()
      await startOrRestart(ctx.target, ctx.component, graceMs)
      return `restored ${file.path} to ${sw.from} and restarted ${ctx.component}`
    }
  }
}
