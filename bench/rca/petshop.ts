// Reader for the PetShop RCA dataset layout (Hardt et al. 2023):
//   <scenario>/graph.csv             adjacency matrix, row → column = "row calls column"
//   <scenario>/noissue/metrics.csv   normal operation (optional)
//   <scenario>/{train,test}/issue_N/{metrics.csv,target.json}
// metrics.csv has a three-row header (component, metric, statistic), a
// `unix_timestamp` marker row, then one row per 5-minute interval.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"') { if (text[i + 1] === '"') { field += '"'; i++ } else quoted = false } else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') { row.push(field); field = '' } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      row.push(field); field = ''
      if (row.length > 1 || row[0] !== '') rows.push(row)
      row = []
    } else field += ch
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row) }
  return rows
}

export interface MetricTable {
  timesSec: number[]
  /** key `component\u0000metric\u0000statistic` → column values (null = empty cell). */
  columns: Map<string, Array<number | null>>
}

export const key = (component: string, metric: string, statistic: string): string => `${component}\u0000${metric}\u0000${statistic}`

export function readMetrics (file: string): MetricTable {
  const rows = parseCsv(readFileSync(file, 'utf8'))
  if (rows.length < 4) throw new Error(`${file}: expected a 3-row header`)
  const [comp, metric, stat] = rows
  let start = 3
  if (rows[3]?.[0] === 'unix_timestamp') start = 4
  const data = rows.slice(start)
  const columns = new Map<string, Array<number | null>>()
  for (let j = 1; j < comp.length; j++) {
    const k = key(comp[j], metric[j], stat[j])
    columns.set(k, data.map((r) => {
      const s = r[j]
      if (s == null || s === '') return null
      const v = Number(s)
      return Number.isFinite(v) ? v : null
    }))
  }
  return { timesSec: data.map((r) => Number(r[0])), columns }
}

/** Edges as `[caller, callee]` from the adjacency matrix (row calls column). */
export function readGraph (file: string): { nodes: string[], calls: Array<[string, string]> } {
  const rows = parseCsv(readFileSync(file, 'utf8'))
  if (rows.length < 2) throw new Error(`${file}: empty adjacency matrix`)
  const names = rows[0].slice(1)
  for (const r of rows.slice(1)) if (r.length !== names.length + 1) throw new Error(`${file}: row ${r[0]} has ${r.length - 1} cells, expected ${names.length}`)
  const calls: Array<[string, string]> = []
  for (const r of rows.slice(1)) {
    for (let j = 1; j < r.length; j++) if (Number(r[j]) !== 0) calls.push([r[0], names[j - 1]])
  }
  return { nodes: names, calls }
}

export interface Issue {
  scenario: string
  split: string
  name: string
  dir: string
  metrics: MetricTable
  /** What the method may see: the alerting node, metric and alert time. */
  target: { node: string, metric: string, timestampSec: number }
}

export interface Scenario {
  name: string
  graph: { nodes: string[], calls: Array<[string, string]> }
  normal: MetricTable | null
  issues: Issue[]
}

/** Issues or scenarios that could not be read, with the reason (counted, never fatal). */
export const skipped: Array<{ path: string, reason: string }> = []

export function loadDataset (dir: string, opts: { maxIssuesPerScenario?: number } = {}): Scenario[] {
  const out: Scenario[] = []
  for (const s of readdirSync(dir).sort()) {
    const sdir = join(dir, s)
    if (!statSync(sdir).isDirectory() || !existsSync(join(sdir, 'graph.csv'))) continue
    const normalFile = join(sdir, 'noissue', 'metrics.csv')
    const issues: Issue[] = []
    for (const split of ['train', 'test']) {
      const pdir = join(sdir, split)
      if (!existsSync(pdir)) continue
      const names = readdirSync(pdir).filter((n) => /^issue_\d+$/.test(n)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
      for (const n of names) {
        const idir = join(pdir, n)
        if (!existsSync(join(idir, 'metrics.csv')) || !existsSync(join(idir, 'target.json'))) { skipped.push({ path: idir, reason: 'missing metrics.csv or target.json' }); continue }
        try {
          const tj = JSON.parse(readFileSync(join(idir, 'target.json'), 'utf8')) as { target?: { node?: unknown, metric?: unknown, timestamp?: unknown } }
          const t = tj.target
          if (typeof t?.node !== 'string' || typeof t.metric !== 'string' || typeof t.timestamp !== 'number') throw new Error('target.json lacks target.node / target.metric / target.timestamp')
          issues.push({ scenario: s, split, name: n, dir: idir, metrics: readMetrics(join(idir, 'metrics.csv')), target: { node: t.node, metric: t.metric, timestampSec: t.timestamp } })
        } catch (err) {
          skipped.push({ path: idir, reason: (err as Error).message })
        }
      }
    }
    const limited = opts.maxIssuesPerScenario != null ? pickSpread(issues, opts.maxIssuesPerScenario) : issues
    let graph: Scenario['graph']
    try { graph = readGraph(join(sdir, 'graph.csv')) } catch (err) { skipped.push({ path: sdir, reason: `graph.csv: ${(err as Error).message}` }); continue }
    let normal: MetricTable | null = null
    if (existsSync(normalFile)) {
      try { normal = readMetrics(normalFile) } catch (err) { skipped.push({ path: normalFile, reason: (err as Error).message }) }
    }
    out.push({ name: s, graph, normal, issues: limited })
  }
  return out
}

/** Up to n issues, keeping both metrics represented (for --quick). */
function pickSpread (issues: Issue[], n: number): Issue[] {
  const by = new Map<string, Issue[]>()
  for (const i of issues) { const l = by.get(i.target.metric) ?? []; l.push(i); by.set(i.target.metric, l) }
  const out: Issue[] = []
  for (let k = 0; out.length < Math.min(n, issues.length); k++) {
    for (const l of by.values()) if (k < l.length && out.length < n) out.push(l[k])
  }
  return out
}

/** Ground truth, read only by the scoring code after ranking. */
export function readRootCause (issue: Issue): string {
  const tj = JSON.parse(readFileSync(join(issue.dir, 'target.json'), 'utf8')) as { root_cause: { node: string } }
  return tj.root_cause.node
}
