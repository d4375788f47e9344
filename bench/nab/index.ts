// npm run bench -- nab [--quick] [--data DIR] [--out DIR] [--loco]
//
// Scores what the daemon runs: every file of a corpus in NAB's layout goes
// through the watch's own detection (monitor's watchDetection(): the
// detector as the watch configures it, then the alarm — threshold,
// confirmation, one alert per event — with the agent's default
// system.detection; test/nab-daemon-config.test.ts fails if they differ).
// The 0/1 alerts are the anomaly scores written and scored. The detector's
// continuous scores with its own suppression, at NAB's optimised threshold,
// are an extra "library" row. Corpus in NAB's layout (data/<category>/<file>.csv + labels/combined_windows.json;
// default ../shared/data/nab), writes results in NAB's layout
// (<out>/homeostat/<category>/homeostat_<file>.csv with
// timestamp,value,anomaly_score,label, plus homeostat_<profile>_scores.csv),
// scores them with the TypeScript port of NAB's scorer (bench/nab/scorer.ts)
// and prints a table and, last, one JSON line.
//
// --loco adds the strict leave-one-category-out check (bench/nab/loco.ts):
// for each category, the whole configuration (detector options, threshold,
// confirmation, re-arm) is chosen on the other categories and scored on the
// held-out one; `nabLocoStandard` scores the corpus assembled from them.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { createDetector, alarmSeries, watchDetection, DETECTOR_DEFAULTS } from '@homeostat/monitor'
import type { AlarmOptions, DetectorOptions } from '@homeostat/monitor'
import { readCorpus, readResultScores } from './corpus.ts'
import type { DataFile } from './corpus.ts'
import { NAB_PROFILES, NabInputError, scoreCorpus } from './scorer.ts'
import type { ProfileResult, ScoredFile } from './scorer.ts'
import { runDetector, runDaemonDetection } from './run.ts'
import { leaveOneCategoryOut, DETECTOR_GRID, ALARM_GRID } from './loco.ts'
import type { Candidate } from './loco.ts'

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

function scoreProfiles (files: readonly DataFile[], scores: number[][]): Record<string, ProfileResult> {
  const scored: ScoredFile[] = files.map((f, k) => ({ name: f.name, timestampsMs: f.timestampsMs, windows: f.windows, anomalyScores: scores[k] }))
  const out: Record<string, ProfileResult> = {}
  for (const [name, p] of Object.entries(NAB_PROFILES)) out[name] = scoreCorpus(scored, name, p.CostMatrix)
  return out
}

function main (): void {
  const args = parseArgs(process.argv.slice(2))
  const files = readCorpus(args.data)
  const daemon = watchDetection()
  runDetector(files, daemon.detector) // warm-up pass: time the steady state a long-running agent sees, not the JIT
  const { raw, alerts, ns, samples } = runDaemonDetection(files, daemon)
  writeResults(args.out, files, alerts)

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
  // Library row: the detector alone, continuous scores with its own suppression, NAB's optimised threshold.
  const library = scoreProfiles(files, runDetector(files, {}).scores)
  // The daemon's raw detector scores at NAB's optimised threshold (no alarm): what the alarm adds or costs.
  const rawOnly = scoreProfiles(files, raw).standard

  // Per-category table (standard profile): windows detected, false-positive rows and the largest burst in one file.
  const detected = detectedWindows(files, alerts, 0.5)
  const cats = new Map<string, { files: number, windows: number, detected: number, fp: number, maxFpFile: number, score: number }>()
  files.forEach((f, k) => {
    const c = cats.get(f.category) ?? { files: 0, windows: 0, detected: 0, fp: 0, maxFpFile: 0, score: 0 }
    c.files++
    c.windows += f.windows.length
    c.detected += detected[k]
    c.fp += std.files[k].fp
    c.maxFpFile = Math.max(c.maxFpFile, std.files[k].fp)
    c.score += std.files[k].score
    cats.set(f.category, c)
  })
  const pad = (s: string | number, n: number): string => String(s).padStart(n)
  console.log(`NAB corpus ${args.data}: ${files.length} files, ${samples} samples; the daemon's alerts in ${resultsDir}`)
  console.log(`daemon configuration: alarm ${JSON.stringify(daemon.alarm)}; detector as DETECTOR_DEFAULTS with suppressSamples 0`)
  console.log(`${'category'.padEnd(24)}${pad('files', 6)}${pad('windows', 9)}${pad('detected', 10)}${pad('FP rows', 9)}${pad('max/file', 10)}${pad('raw score', 11)}`)
  for (const [name, c] of cats) {
    console.log(`${name.padEnd(24)}${pad(c.files, 6)}${pad(c.windows, 9)}${pad(c.detected, 10)}${pad(c.fp, 9)}${pad(c.maxFpFile, 10)}${pad(c.score.toFixed(2), 11)}`)
  }
  console.log(`${'profile (daemon)'.padEnd(24)}${pad('threshold', 12)}${pad('raw', 9)}${pad('null', 8)}${pad('perfect', 9)}${pad('NAB score', 11)}`)
  for (const r of Object.values(profiles)) {
    console.log(`${r.profile.padEnd(24)}${pad(r.threshold.toFixed(4), 12)}${pad(r.score.toFixed(2), 9)}${pad(r.nullScore, 8)}${pad(r.perfectScore, 9)}${pad(r.normalized.toFixed(2), 11)}`)
  }
  console.log(`library row (not the daemon): the detector's own scores with its suppression, NAB-optimised threshold: standard ${library.standard.normalized.toFixed(2)}`)
  console.log(`the daemon's detector scores without the alarm, NAB-optimised threshold: standard ${rawOnly.normalized.toFixed(2)}`)

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

  let loco: Record<string, unknown> | undefined
  if (args.loco && !args.quick) {
    const rawCache = new Map<string, number[][]>()
    const candidates: Candidate[] = []
    for (const detector of DETECTOR_GRID) for (const alarm of ALARM_GRID) candidates.push({ detector, alarm: { warmupSamples: daemon.alarm.warmupSamples, ...alarm } })
    const t0 = Date.now()
    const res = leaveOneCategoryOut(files, candidates, (c) => {
      const key = JSON.stringify(c.detector)
      let r = rawCache.get(key)
      if (r === undefined) { r = runDetector(files, c.detector).scores; rawCache.set(key, r) }
      return r.map((x) => alarmSeries(x, c.alarm))
    }, alerts, (done, of) => {
      if (done % 90 === 0 || done === of) console.error(`loco: ${done}/${of} candidates scored (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
    })
    for (const r of res.folds) {
      console.log(`loco held-out ${r.category.padEnd(24)} chosen ${JSON.stringify(r.chosen)} held-out raw ${r.heldOutRaw.toFixed(2)} vs daemon defaults ${r.defaultsRaw.toFixed(2)}`)
    }
    console.log(`loco: ${res.candidates} candidates; the corpus assembled from each category's held-out choice scores ${res.assembledStandard.toFixed(2)} (held-out), the daemon's defaults ${std.normalized.toFixed(2)} (in-sample)`)
    console.log(`loco: chosen on all categories ${JSON.stringify(res.chosenOnAll)}: ${res.chosenOnAllStandard.toFixed(2)} in-sample`)
    console.log(`loco: per-parameter consensus of the folds ${JSON.stringify(res.consensus)}: ${res.consensusStandard.toFixed(2)} in-sample`)
    for (const [c, b] of Object.entries(res.fpBursts)) console.log(`loco held-out false positives ${c.padEnd(24)} ${String(b.fpRows).padStart(4)} rows, at most ${b.maxFpRowsInOneFile} in one file`)
    // Do the daemon's defaults follow the procedure? (consensus values equal the daemon's, parameter by parameter)
    const consensusDetector = { ...daemon.detector, ...res.consensus.detector }
    const consensusAlarm = { ...daemon.alarm, ...res.consensus.alarm }
    const defaultsAreConsensus = JSON.stringify(consensusDetector) === JSON.stringify(daemon.detector) && JSON.stringify(consensusAlarm) === JSON.stringify(daemon.alarm)
    console.log(`loco: the daemon's defaults ${defaultsAreConsensus ? 'are' : 'are NOT'} the folds' consensus`)
    const r2 = (x: number): number => Math.round(x * 100) / 100
    loco = {
      nabLocoStandard: r2(res.assembledStandard),
      locoFpBursts: res.fpBursts,
      locoConsensus: res.consensus,
      locoConsensusStandard: r2(res.consensusStandard),
      defaultsAreLocoConsensus: defaultsAreConsensus,
      locoChosenOnAll: res.chosenOnAll,
      locoChosenOnAllStandard: r2(res.chosenOnAllStandard),
      locoCandidates: res.candidates
    }
  }

  const usPerSample = Number(ns) / 1000 / samples
  const bytesPerMetric = measureBytesPerMetric(args.quick ? 200 : 2000)
  const stateBytes = createDetector().stateBytes()
  console.log(`detector: ${usPerSample.toFixed(2)} µs/sample, ${bytesPerMetric} heap bytes per metric (${stateBytes} bytes of numeric state); defaults ${JSON.stringify(DETECTOR_DEFAULTS)}`)
  const round = (x: number): number => Math.round(x * 100) / 100
  const fpBursts = Object.fromEntries([...cats].map(([name, c]) => [name, { fpRows: c.fp, maxFpRowsInOneFile: c.maxFpFile }]))
  console.log(JSON.stringify({
    nabStandard: round(std.normalized),
    nabLowFP: round(profiles.reward_low_FP_rate.normalized),
    nabLowFN: round(profiles.reward_low_FN_rate.normalized),
    ...(loco ?? {}),
    daemonConfiguration: daemon.alarm,
    libraryNabStandard: round(library.standard.normalized),
    daemonDetectorWithoutAlarmStandard: round(rawOnly.normalized),
    fpBursts,
    usPerSample: round(usPerSample),
    bytesPerMetric,
    stateBytes,
    files: files.length,
    samples
  }))
}

try {
  main()
} catch (err) {
  if (!(err instanceof NabInputError)) throw err
  console.error(`nab: ${err.message}`)
  process.exit(2)
}
