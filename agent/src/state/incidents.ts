// The agent's incident book: every incident this node (and, on the cloud peer,
// the fleet) has seen, most recently detected first, bounded, persisted as an
// append-only JSON lines journal in the data dir so `homeostat report`
// survives restarts.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { incidentSchema, type Incident } from '@homeostat/interface'
import type { EventBus } from './events.ts'

export const INCIDENT_DEFAULTS = {
  /** Incidents kept in memory and in the journal. A fleet of 100 nodes with one incident an hour each fills this in ~2 days; older ones are compacted away. */
  maxIncidents: 5000,
  /** Journal lines beyond maxIncidents × this trigger a compaction (rewrite with the latest version of each). */
  compactFactor: 3
}

export interface IncidentQuery {
  limit?: number
  status?: Incident['status']
  node?: string
  component?: string
  /** Only incidents opened at or after this physical time. */
  sinceMs?: number
}

/**
 * When the incident was detected (its first `detected` step), else when it was opened. The
 * fault onset (`openedAtMs`) can be minutes earlier than detection (a disk filling slowly), so
 * ordering by it would put a just-detected incident below older ones.
 */
export function detectedAtMs (inc: Incident): number {
  return inc.steps.find((s) => s.kind === 'detected')?.atMs ?? inc.openedAtMs
}

export interface IncidentBook {
  /** Inserts or replaces the incident with this id (and node); emits an `incident` event. Invalid records are rejected and counted. */
  upsert: (incident: Incident, origin?: 'local' | 'remote') => boolean
  get: (id: string) => Incident | undefined
  /** Newest first by detection time (`detectedAtMs`). */
  list: (q?: IncidentQuery) => Incident[]
  all: () => Incident[]
  readonly rejected: number
  readonly size: number
}

export function createIncidentBook (init: { dataDir?: string, events?: EventBus, maxIncidents?: number, onReject?: (why: string) => void }): IncidentBook {
  const max = init.maxIncidents ?? INCIDENT_DEFAULTS.maxIncidents
  const byKey = new Map<string, Incident>()
  const file = init.dataDir === undefined ? undefined : join(init.dataDir, 'incidents.jsonl')
  let rejected = 0
  let lines = 0
  const key = (i: Incident) => `${i.node}\u0000${i.id}`

  if (file !== undefined && existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      lines++
      try {
        const inc = incidentSchema.parse(JSON.parse(line)) as Incident
        byKey.delete(key(inc))
        byKey.set(key(inc), inc)
      } catch { rejected++ /* a torn last line after SIGKILL: skip it */ }
    }
    while (byKey.size > max) byKey.delete(byKey.keys().next().value as string)
  }

  const compact = () => {
    if (file === undefined) return
    const tmp = file + '.tmp'
    writeFileSync(tmp, [...byKey.values()].map((i) => JSON.stringify(i)).join('\n') + '\n', { mode: 0o600 })
    renameSync(tmp, file)
    lines = byKey.size
  }

  return {
    upsert (incident, origin = 'local') {
      const r = incidentSchema.safeParse(incident)
      if (!r.success) {
        rejected++
        init.onReject?.(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
        return false
      }
      const inc = r.data as Incident
      byKey.delete(key(inc))
      byKey.set(key(inc), inc)
      while (byKey.size > max) byKey.delete(byKey.keys().next().value as string)
      if (file !== undefined) {
        appendFileSync(file, JSON.stringify(inc) + '\n', { mode: 0o600 })
        lines++
        if (lines > max * INCIDENT_DEFAULTS.compactFactor) compact()
      }
      init.events?.emit('incident', { origin, incident: inc })
      return true
    },
    get (id) {
      for (const inc of byKey.values()) if (inc.id === id) return inc
      return undefined
    },
    list (q = {}) {
      const out: Incident[] = []
      const all = [...byKey.values()].map((i) => ({ i, at: detectedAtMs(i) })).sort((a, b) => b.at - a.at)
      for (const { i } of all) {
        if (q.status !== undefined && i.status !== q.status) continue
        if (q.node !== undefined && i.node !== q.node) continue
        if (q.component !== undefined && i.component !== q.component) continue
        if (q.sinceMs !== undefined && i.openedAtMs < q.sinceMs) continue
        out.push(i)
        if (q.limit !== undefined && out.length >= q.limit) break
      }
      return out
    },
    all () { return [...byKey.values()] },
    get rejected () { return rejected },
    get size () { return byKey.size }
  }
}
