// What bench/nab scores is what the daemon runs: the agent's default
// `system.detection` (from an empty config file, as `homeostat init` writes
// it), mapped to the watch's options, gives exactly the detection
// configuration the benchmark scores; and the benchmark's pipeline is the
// watch's (the same alerts on the same series).
import assert from 'node:assert/strict'
import { watchDetection, createAnomalyWatch, type AnomalyReport } from '@homeostat/monitor'
import { parseConfigText } from '../agent/src/config/load.ts'
import { watchOptionsOf } from '../agent/src/loops/micro/index.ts'
import { runDaemonDetection } from '../bench/nab/run.ts'
import type { DataFile } from '../bench/nab/corpus.ts'

describe('bench/nab scores the daemon\'s detection configuration', () => {
  it('the agent\'s default system.detection maps to the configuration bench/nab scores', () => {
    const d = parseConfigText('{}\n', 'homeostat.yaml', { env: {} }).system.detection
    assert.deepEqual(watchDetection(watchOptionsOf(d)), watchDetection())
    const edited = parseConfigText('system:\n  detection:\n    scoreThreshold: 0.9\n    rearmSamples: 7\n', 'homeostat.yaml', { env: {} }).system.detection
    const w = watchDetection(watchOptionsOf(edited))
    assert.equal(w.alarm.threshold, 0.9)
    assert.equal(w.alarm.rearmSamples, 7)
    assert.notDeepEqual(w, watchDetection(), 'an edited config is not the scored one')
  })

  it('the benchmark\'s pipeline alerts where the watch reports, on the same series', () => {
    // 1 Hz series: settled noise, a level shift that persists, back to normal, a second shift.
    let x = 7
    const noise = (): number => { x = (x * 48271) % 2147483647; return x / 2147483647 }
    const values: number[] = []
    for (let i = 0; i < 900; i++) values.push(50 + noise())
    for (let i = 0; i < 60; i++) values.push(80 + noise())
    for (let i = 0; i < 400; i++) values.push(50 + noise())
    for (let i = 0; i < 60; i++) values.push(20 + noise())
    const t0 = 1_700_000_000_000
    const file: DataFile = { name: 'c/f.csv', category: 'c', file: 'f.csv', timestamps: [], timestampsMs: values.map((_, i) => t0 + i * 1000), values, windows: [] }
    const { alerts } = runDaemonDetection([file], watchDetection())
    const benchAt = alerts[0]!.flatMap((a, i) => a === 1 ? [file.timestampsMs[i]] : [])

    let now = t0
    const w = createAnomalyWatch({ metrics: { on: () => () => {} } as never, now: () => now, rereportMs: 0 })
    const reported: AnomalyReport[] = []
    w.on('report', (r) => reported.push(r))
    values.forEach((v, i) => { now = file.timestampsMs[i]; w.observe({ metric: 'app.latency_ms', component: 'web', value: v, atMs: now }) })
    assert.ok(benchAt.length >= 2, `both shifts alert (${benchAt.length})`)
    assert.equal(reported.length, benchAt.length, 'one watch report per benchmark alert')
    reported.forEach((r, k) => {
      // The report's onset is the first confirming sample: within the confirmation window before the alert row.
      const lagMs = benchAt[k]! - r.onsetMs!
      assert.ok(lagMs >= 0 && lagMs < watchDetection().alarm.confirmWindow * 1000, `report ${k}: onset ${lagMs} ms before the alert`)
    })
  })
})
