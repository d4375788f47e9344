// Running detection over a corpus: the detector alone (the library row), and
// the daemon's detection as the watch runs it (detector, then the alarm).
import { createDetector, alarmSeries } from '@homeostat/monitor'
import type { AlarmOptions, DetectorOptions } from '@homeostat/monitor'
import type { DataFile } from './corpus.ts'

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

/** The daemon's detection as the watch runs it: detector scores → alarm (0/1 alerts per row). */
export function runDaemonDetection (files: readonly DataFile[], detection: { detector: Partial<DetectorOptions>, alarm: Partial<AlarmOptions> }): { raw: number[][], alerts: number[][], ns: bigint, samples: number } {
  const { scores, ns, samples } = runDetector(files, detection.detector)
  return { raw: scores, alerts: scores.map((r) => alarmSeries(r, detection.alarm)), ns, samples }
}

