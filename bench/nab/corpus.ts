// Reading a corpus in NAB's layout: data/<category>/<file>.csv (timestamp,value)
// plus labels/combined_windows.json, and detector results
// (<detector>/<category>/<detector>_<file>.csv with an anomaly_score column).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { NabInputError, parseTimestamp } from './scorer.ts'

export interface DataFile {
  /** "category/file.csv" */
  name: string
  category: string
  file: string
  /** Raw timestamp strings as in the CSV (written back unchanged). */
  timestamps: string[]
  timestampsMs: number[]
  values: number[]
  windows: Array<[number, number]>
}

/** Split a CSV into header and rows (NAB files: no quoting, comma separated). */
export function readCsv (path: string): { header: string[], rows: string[][] } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new NabInputError(`cannot read ${path}: ${(err as Error).message}`)
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length === 0) throw new NabInputError(`${path}: empty file`)
  const header = lines[0].split(',').map((s) => s.trim())
  return { header, rows: lines.slice(1).map((l) => l.split(',')) }
}

function column (path: string, header: string[], name: string): number {
  const i = header.indexOf(name)
  if (i < 0) throw new NabInputError(`${path}: no "${name}" column (header: ${header.join(',')})`)
  return i
}

export function readLabels (dataDir: string): Record<string, Array<[number, number]>> {
  const path = join(dataDir, 'labels', 'combined_windows.json')
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new NabInputError(`cannot read labels ${path}: ${(err as Error).message}`)
  }
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new NabInputError(`${path}: not an object`)
  const out: Record<string, Array<[number, number]>> = {}
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(v)) throw new NabInputError(`${path}: windows of ${k} are not a list`)
    out[k] = v.map((w, i) => {
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'string' || typeof w[1] !== 'string') {
        throw new NabInputError(`${path}: window ${i} of ${k} is not [start, end]`)
      }
      return [parseTimestamp(w[0]), parseTimestamp(w[1])] as [number, number]
    }).sort((a, b) => a[0] - b[0])
  }
  return out
}

/** Every data file of the corpus, in sorted order, with its windows. */
export function readCorpus (dataDir: string, filter?: (name: string) => boolean): DataFile[] {
  const labels = readLabels(dataDir)
  const base = join(dataDir, 'data')
  if (!existsSync(base)) throw new NabInputError(`${dataDir}: no data/ directory`)
  const out: DataFile[] = []
  for (const category of readdirSync(base).sort()) {
    if (!statSync(join(base, category)).isDirectory()) continue
    for (const file of readdirSync(join(base, category)).sort()) {
      if (!file.endsWith('.csv')) continue
      const name = `${category}/${file}`
      if (filter != null && !filter(name)) continue
      const path = join(base, category, file)
      const { header, rows } = readCsv(path)
      const ti = column(path, header, 'timestamp')
      const vi = column(path, header, 'value')
      const timestamps: string[] = []
      const timestampsMs: number[] = []
      const values: number[] = []
      rows.forEach((r, i) => {
        const v = Number(r[vi])
        if (r[vi] == null || r[vi].trim() === '' || !Number.isFinite(v)) throw new NabInputError(`${path}: row ${i + 2}: bad value "${r[vi]}"`)
        timestamps.push(r[ti].trim())
        timestampsMs.push(parseTimestamp(r[ti]))
        values.push(v)
      })
      const windows = labels[name]
      if (windows == null) throw new NabInputError(`${name}: not in labels/combined_windows.json`)
      out.push({ name, category, file, timestamps, timestampsMs, values, windows })
    }
  }
  if (out.length === 0) throw new NabInputError(`${dataDir}: no data files`)
  return out
}

/** The anomaly_score column of a detector's results file for `file`. */
export function readResultScores (resultsDir: string, detector: string, file: DataFile): number[] {
  const path = join(resultsDir, file.category, `${detector}_${file.file}`)
  const { header, rows } = readCsv(path)
  const si = column(path, header, 'anomaly_score')
  if (rows.length !== file.values.length) {
    throw new NabInputError(`${path}: ${rows.length} rows, data file has ${file.values.length}`)
  }
  return rows.map((r, i) => {
    const v = Number(r[si])
    if (!Number.isFinite(v)) throw new NabInputError(`${path}: row ${i + 2}: bad anomaly_score "${r[si]}"`)
    return v
  })
}
