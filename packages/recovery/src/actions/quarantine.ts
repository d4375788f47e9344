// quarantine: stop a component that recovery could not heal and keep it
// stopped (the micro loop retries it on a capped back-off, or an operator
// releases it). Always followed by an escalation. For a component that keeps
// writing past its own disk limit, stopping it is the containment, and once
// nothing writes its files they are no longer "being written": its
// disposable files (recovery.<c>.freeDisk) are freed right after the stop.
import { dirSizeBytes } from '@homeostat/monitor'
import { infoOrThrow, specOf } from './process-util.ts'
import { freeDiskFiles, freeEvidence } from './free-disk.ts'
import type { ActionImpl } from './types.ts'

export const quarantine: ActionImpl = async (ctx) => {
  const info = infoOrThrow(ctx.target, ctx.component)
  await ctx.target.quarantine(ctx.component, `recovery: ${ctx.incident.failureClass} not healed (incident ${ctx.incident.id})`)
  const restarts = `after ${info.restarts ?? ctx.recentRestartsMs.length} restarts`
  const disk = specOf(info).limits?.disk
  if (ctx.incident.failureClass === 'disk_fill' && disk !== undefined) {
    const stoppedAtMs = Date.now()
    const usedMb = dirSizeBytes(disk.path, ctx.defaults.freeDiskMaxEntries).bytes / 1048576
    const how = usedMb >= disk.limitMb ? `it wrote ${disk.path} past its ${disk.limitMb} MB limit (${usedMb.toFixed(0)} MB)` : `it was filling ${disk.path} towards its ${disk.limitMb} MB limit (${usedMb.toFixed(0)} MB) and nothing could be freed while it wrote`
    const cfg = ctx.config.freeDisk
    if (cfg == null) {
      return {
        summary: `stopped ${ctx.component}: ${how}; no freeDisk paths are configured (recovery.${ctx.component}.freeDisk), so an operator must free the space`,
        data: { containment: 'disk', freedBytes: 0, usedMb }
      }
    }
    const r = await freeDiskFiles(cfg, ctx.defaults, ctx.signal, { dir: disk.path, atMs: stoppedAtMs })
    return {
      summary: `stopped ${ctx.component} (${how}), then freed ${(r.freedBytes / 1048576).toFixed(1)} MB in ${r.deleted.length} of its files, no longer being written`,
      evidence: freeEvidence(r, ctx.defaults.evidenceLines),
      data: { containment: 'disk', freedBytes: r.freedBytes, files: r.deleted.length, failed: r.failed.length }
    }
  }
  return {
    summary: `quarantined ${ctx.component} ${restarts}; it stays stopped (retried later on a back-off, or released by an operator)`,
    data: { restarts: info.restarts ?? null, recentRestarts: ctx.recentRestartsMs.length }
  }
}
