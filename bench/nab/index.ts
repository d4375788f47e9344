// npm run bench -- nab [--quick] [--data DIR] [--out DIR] [--loco]
//
// Runs homeostat's online anomaly detector over every file of a corpus in
// NAB's layout (data/<category>/<file>.csv + labels/combined_windows.json;
// default ../shared/data/nab), writes results in NAB's layout
// (<out>/homeostat/<category>/homeostat_<file>.csv with
// timestamp,value,anomaly_score,label, plus homeostat_<profile>_scores.csv),
// scores them with the TypeScript port of NAB's scorer (bench/nab/scorer.ts)
// and prints a table and, last, one JSON line.
//
// --loco adds a leave-one-category-out check: for each category, the best
// configuration of a small grid is chosen on the other categories and scored
// on the held-out one (evidence on how much the defaults overfit the corpus).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { createDetector, DETECTOR_DEFAULTS } from '@homeostat/monitor'
import type { DetectorOptions } from '@homeostat/monitor'
import { readCorpus, readResultScores } from './corpus.ts'
import type { DataFile } from './corpus.ts'
import { NAB_PROFILES, NabInputError, scoreCorpus } from './scorer.ts'
import type { ProfileResult, ScoredFile } from './scorer.ts'
import { leaveOneCategoryOut } from './loco.ts'

const DETECTOR = 'homeostat'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function parseArgs (argv: string[]): { data: string, out: string, quick: boolean, loco: boolean } {
  const a = { data: join(root, '..', 'shared', 'data', 'nab'), out: join(root, 'results'), quick: false, loco: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--quick') a.quick = true
    else if (k === '--loco') a.loco = true
    else if (k === '--data' || k === '--out') {
      const v = argv[++i]
      if (v == null) throw new NabInputError(`${k} needs a directory`)
      a[k === '--data' ? 'data' : 'out'] = resolve(v)
    } else throw new NabInputError(`unknown argument ${k} (use --quick, --data DIR, --out DIR, --loco)`)
  }
  return a
}

/** Run one fresh detector per file; returns scores and the time spent inside update(). */
export function runDetector (files: readonly DataFile[], options: Partial<DetectorOptions> = {}): { scores: number[][], ns: bigint, samples: number } {
  let ns = 0n
  let samples = 0
  const scores = files.map((f) => {
    const d = createDetector(options)
    const out = new Array<number>(f.values.length)
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < f.values.length; i++) out[i] = d.update(f.values[i], f.timestampsMs[i])
    ns += process.hrtime.bigint() - t0
    samples += f.values.length
    return out
  })
  return { scores, ns, samples }
}

function writeResults (outDir: string, files: readonly DataFile[], scores: number[][]): void {
  for (let k = 0; k < files.length; k++) {
    const f = files[k]
    const dir = join(outDir, DETECTOR, f.category)
    mkdirSync(dir, { recursive: true })
    const lines = ['timestamp,value,anomaly_score,label']
    for (let i = 0; i < f.values.length; i++) {
      const t = f.timestampsMs[i]
      const label = f.windows.some(([a, b]) => t >= a && t <= b) ? 1 : 0
      lines.push(`${f.timestamps[i]},${f.values[i]},${scores[k][i]},${label}`)
    }
    writeFileSync(join(dir, `${DETECTOR}_${f.file}`), lines.join('\n') + '\n')
  }
}

function writeScoreTable (outDir: string, r: ProfileResult): void {
  const rows = ['Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count']
  const t = { score: 0, tp: 0, tn: 0, fp: 0, fn: 0, total: 0 }
  for (const f of r.files) {
    rows.push([DETECTOR, r.profile, f.name, f.threshold, f.score, f.tp, f.tn, f.fp, f.fn, f.total].join(','))
    t.score += f.score; t.tp += f.tp; t.tn += f.tn; t.fp += f.fp; t.fn += f.fn; t.total += f.total
  }
  rows.push(['Totals', '', '', '', t.score, t.tp, t.tn, t.fp, t.fn, t.total].join(','))
  writeFileSync(join(outDir, DETECTOR, `${DETECTOR}_${r.profile}_scores.csv`), rows.join('\n') + '\n')
}

/** Memory per detector, measured: many detectors fed past their warm-up, (heap + array buffers) delta / count. */
function measureBytesPerMetric (count: number): number {
  v8.setFlagsFromString('--expose_gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc(); gc()
  const used = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  const before = used()
  const keep = []
  for (let k = 0; k < count; k++) {
    const d = createDetector()
    for (let i = 0; i < 400; i++) d.update(Math.sin(i / 7) + (k % 13), i * 1000)
    keep.push(d)
  }
  gc(); gc()
  const after = used()
  const per = (after - before) / keep.length
  return Math.round(per)
}

/** Windows detected at the profile's threshold, per file (first score ≥ threshold inside each window, after probation). */
function detectedWindows (files: readonly DataFile[], scores: number[][], threshold: number): number[] {
  return files.map((f, k) => f.windows.filter(([a, b]) => {
    const probation = Math.min(Math.floor(0.15 * f.values.length), 750)
    for (let i = probation; i < f.values.length; i++) {
      if (f.timestampsMs[i] >= a && f.timestampsMs[i] <= b && scores[k][i] >= threshold) return true
    }
    return false
  }).length)
}

function main (): void {
  const args = parseArgs(process.argv.slice(2))
  const files = readCorpus(args.data)
  runDetector(files) // warm-up pass: time the steady state a long-running agent sees, not the JIT
  const { scores, ns, samples } = runDetector(files)
  writeResults(args.out, files, scores)

  // Score what was written, as NAB would: read the results files back.
  const resultsDir = join(args.out, DETECTOR)
  const scored: ScoredFile[] = files.map((f) => ({
    name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: readResultScores(resultsDir, DETECTOR, f)
  }))
  const profiles: Record<string, ProfileResult> = {}
  for (const [name, p] of Object.entries(NAB_PROFILES)) {
    profiles[name] = scoreCorpus(scored, name, p.CostMatrix)
    writeScoreTable(args.out, profiles[name])
  }
  const std = profiles.standard

  // Per-category table (standard profile, at its corpus-wide threshold).
  const detected = detectedWindows(files, scores, std.threshold)
  const cats = new Map<string, { files: number, windows: number, detected: number, fp: number, score: number }>()
  files.forEach((f, k) => {
    const c = cats.get(f.category) ?? { files: 0, windows: 0, detected: 0, fp: 0, score: 0 }
    c.files++
    c.windows += f.windows.length
    c.detected += detected[k]
    c.fp += std.files[k].fp
    c.score += std.files[k].score
    cats.set(f.category, c)
  })
  const pad = (s: string | number, n: number): string => String(s).padStart(n)
  console.log(`NAB corpus ${args.data}: ${files.length} files, ${samples} samples; results in ${resultsDir}`)
  console.log(`${'category'.padEnd(24)}${pad('files', 6)}${pad('windows', 9)}${pad('detected', 10)}${pad('FP rows', 9)}${pad('raw score', 11)}`)
  for (const [name, c] of cats) {
    console.log(`${name.padEnd(24)}${pad(c.files, 6)}${pad(c.windows, 9)}${pad(c.detected, 10)}${pad(c.fp, 9)}${pad(c.score.toFixed(2), 11)}`)
  }
  console.log(`${'profile'.padEnd(24)}${pad('threshold', 12)}${pad('raw', 9)}${pad('null', 8)}${pad('perfect', 9)}${pad('NAB score', 11)}`)
  for (const r of Object.values(profiles)) {
    console.log(`${r.profile.padEnd(24)}${pad(r.threshold.toFixed(4), 12)}${pad(r.score.toFixed(2), 9)}${pad(r.nullScore, 8)}${pad(r.perfectScore, 9)}${pad(r.normalized.toFixed(2), 11)}`)
  }

  // The scorer checked against NAB's published detectors, when the reference is there.
  const refDir = join(args.data, 'reference')
  if (existsSync(refDir)) {
    for (const ref of ['numenta', 'windowedGaussian']) {
      if (!existsSync(join(refDir, ref))) continue
      const rf = files.map((f) => ({ name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: readResultScores(join(refDir, ref), ref, f) }))
      const r = scoreCorpus(rf, 'standard', NAB_PROFILES.standard.CostMatrix)
      console.log(`reference ${ref.padEnd(16)} standard ${r.normalized.toFixed(2)} (same scorer, NAB's published detector output)`)
    }
  }

  let loco: number | undefined
  if (args.loco && !args.quick) {
    const res = leaveOneCategoryOut(files, (opts) => runDetector(files, opts).scores)
    for (const r of res.folds) {
      console.log(`loco held-out ${r.category.padEnd(24)} chosen ${JSON.stringify(r.chosen)} held-out raw ${r.heldOutRaw.toFixed(2)} vs defaults ${r.defaultsRaw.toFixed(2)}`)
    }
    console.log(`loco: corpus score assembling each category's held-out configuration ${res.assembledStandard.toFixed(2)} (defaults ${std.normalized.toFixed(2)})`)
    loco = Math.round(res.assembledStandard * 100) / 100
  }

  const usPerSample = Number(ns) / 1000 / samples
  const bytesPerMetric = measureBytesPerMetric(args.quick ? 200 : 2000)
  const stateBytes = createDetector().stateBytes()
  console.log(`detector: ${usPerSample.toFixed(2)} µs/sample, ${bytesPerMetric} heap bytes per metric (${stateBytes} bytes of numeric state); defaults ${JSON.stringify(DETECTOR_DEFAULTS)}`)
  const round = (x: number): number => Math.round(x * 100) / 100
  console.log(JSON.stringify({
    nabStandard: round(std.normalized),
    nabLowFP: round(profiles.reward_low_FP_rate.normalized),
    nabLowFN: round(profiles.reward_low_FN_rate.normalized),
    usPerSample: round(usPerSample),
    bytesPerMetric,
    stateBytes,
    files: files.length,
    samples,
    ...(loco != null ? { locoStandard: loco } : {})
  }))
}

try {
  main()
} catch (err) {
  if (!(err instanceof NabInputError)) throw err
  console.error(`nab: ${err.message}`)
  process.exit(2)
}
