import { strict as assert } from 'node:assert'
import {
  theilSen, predictLimit, predictMultiScale, TrendWindow, classifyMetric, classifyProbeFailure, classifyExit,
  parseProcStat, cpuUtilPct, parseMeminfo, parseLoadavg, parseNetDev, parseProcPidStat, parseCpuStat, mountLabel, dirSizeBytes
} from '../src/index.ts'
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

describe('monitor: trend maths', () => {
  const line = (n: number, slope: number, b = 0): Array<{ tMs: number, v: number }> => Array.from({ length: n }, (_, i) => ({ tMs: i * 1000, v: b + slope * i }))
  it('Theil–Sen recovers a slope and ignores outliers', () => {
    const pts = line(20, 2, 10)
    pts[5] = { tMs: 5000, v: 1e6 }
    pts[12] = { tMs: 12000, v: -1e6 }
    const t = theilSen(pts)!
    assert.ok(Math.abs(t.slopePerMs * 1000 - 2) < 1e-9)
    assert.ok(t.agreement > 0.75)
  })
  const table: Array<[string, Array<{ tMs: number, v: number }>, number, number | undefined]> = [
    ['steady growth 2/s from 10 to limit 100', line(10, 2, 10), 100, (100 - 28) / 2 * 1000],
    ['flat: no prediction', line(10, 0, 50), 100, undefined],
    ['shrinking: no prediction', line(10, -1, 50), 100, undefined],
    ['already over: 0', line(10, 5, 100), 100, 0],
    ['one point: none', line(1, 5), 100, undefined]
  ]
  for (const [why, pts, limit, want] of table) {
    it(why, () => {
      const p = predictLimit(pts, limit)
      if (want === undefined) assert.equal(p, undefined)
      else assert.ok(p !== undefined && Math.abs(p.timeToLimitMs - want) < 1e-6, JSON.stringify(p))
    })
  }
  it('Theil–Sen equals the textbook definition (seeded random series, repeated times, sizes 2–64)', () => {
    const seed = Number(process.env.TREND_SEED ?? Date.now() % 100_000)
    let a = seed
    const rnd = (): number => { a = (a * 1103515245 + 12345) % 2 ** 31; return a / 2 ** 31 }
    const med = (xs: number[]): number => { const v = [...xs].sort((x, y) => x - y); const m = v.length >> 1; return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2 }
    for (let round = 0; round < 200; round++) {
      const n = 2 + Math.floor(rnd() * 63)
      let t = 0
      const pts = Array.from({ length: n }, () => { t += rnd() < 0.1 ? 0 : Math.ceil(rnd() * 2000); return { tMs: t, v: rnd() < 0.5 ? Math.round(rnd() * 10) : (rnd() - 0.3) * 1000 } })
      const slopes: number[] = []
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (pts[j]!.tMs !== pts[i]!.tMs) slopes.push((pts[j]!.v - pts[i]!.v) / (pts[j]!.tMs - pts[i]!.tMs))
      const got = theilSen(pts)
      if (slopes.length === 0) { assert.equal(got, undefined, `seed ${seed}`); continue }
      const s = med(slopes)
      const agreement = Math.sign(s) === 0 ? 0 : slopes.filter((x) => Math.sign(x) === Math.sign(s)).length / slopes.length
      const intercept = med(pts.map((p) => p.v - s * p.tMs))
      assert.deepEqual(got, { slopePerMs: s, intercept, agreement, fitted: s * pts[n - 1]!.tMs + intercept }, `seed ${seed} round ${round}`)
    }
  })
  it('noise without a consistent trend is not a prediction', () => {
    let seed = 42
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
    const pts = Array.from({ length: 30 }, (_, i) => ({ tMs: i * 1000, v: 50 + (rnd() - 0.5) * 10 }))
    assert.equal(predictLimit(pts, 100, 0.75), undefined)
  })
  it('multi-scale: a leak that began inside a flat window is predicted from its recent growth, early', () => {
    const o = { minPoints: 5, minSpanMs: 4000, minAgreement: 0.75, minSlopePerS: 0.05 }
    // 110 s flat at 50 MB, then 12 MB/s for 6 s (limit 200): the whole window alone sees no trend yet.
    const pts = [...Array.from({ length: 110 }, (_, i) => ({ tMs: i * 1000, v: 50 + (i % 2) * 0.2 })), ...Array.from({ length: 6 }, (_, i) => ({ tMs: (110 + i) * 1000, v: 62 + 12 * i }))]
    const window = pts.slice(-60)
    assert.equal(predictLimit(window, 200, 0.75, 0.05), undefined, 'the 60-point window alone: no prediction')
    const p = predictMultiScale(window, 200, o)
    assert.ok(p !== undefined && Math.abs(p.slopePerS - 12) < 0.5 && p.timeToLimitMs < 10_000, JSON.stringify(p))
  })
  it('multi-scale: a GC sawtooth near its limit is not a leak (its rising phase makes no new high)', () => {
    const o = { minPoints: 5, minSpanMs: 4000, minAgreement: 0.75, minSlopePerS: 0.05 }
    // 150 → 180 MB over 6 s, dropped back, again and again, under a 200 MB limit.
    const pts = Array.from({ length: 60 }, (_, i) => ({ tMs: i * 1000, v: 150 + 5 * (i % 7) }))
    assert.equal(predictMultiScale(pts.slice(0, 59), 200, o), undefined)
    assert.equal(predictMultiScale(pts, 200, o), undefined)
  })
  it('trend window bounds points and span, spaces them, restarts on a clock step back', () => {
    const w = new TrendWindow(5, 10_000, 100)
    for (let t = 0; t < 2000; t += 50) w.push(t, t)
    assert.equal(w.points().length, 5)
    assert.ok(w.points().every((p, i, a) => i === 0 || p.tMs - a[i - 1]!.tMs >= 100))
    w.push(500, 1)
    assert.equal(w.points().length, 1)
  })
})

describe('monitor: classification and status tables', () => {
  const metrics: Array<[string, string]> = [
    ['proc.cpu_pct', 'cpu_hog'], ['proc.rss_mb', 'memory_anomaly'], ['cpu.util_pct', 'cpu_saturation'], ['mem.used_pct', 'memory_pressure'],
    ['disk.root.used_pct', 'disk_fill'], ['net.eth0.rx_kbps', 'network'], ['thermal.cpu.temp_c', 'thermal'], ['load.1', 'overload'],
    ['cgroup.throttled_pct', 'cpu_throttling'], ['gpu.util', 'metric_anomaly']
  ]
  for (const [m, c] of metrics) it(`metric ${m} → ${c}`, () => { assert.equal(classifyMetric(m), c) })
  const probes: Array<[string, string, string]> = [
    ['http', 'timeout: no complete response within 500 ms', 'hang'], ['http', 'HTTP 500 not accepted', 'unhealthy'],
    ['tcp', 'ECONNREFUSED: connect', 'unhealthy'], ['process', 'pid 4 is stopped (state T)', 'hang'],
    ['heartbeat', 'heartbeat /x is 9000 ms old (max 1000 ms)', 'hang'], ['process', 'pid 4 does not exist', 'crash']
  ]
  for (const [k, d, c] of probes) it(`probe ${k} "${d}" → ${c}`, () => { assert.equal(classifyProbeFailure(k, d), c) })
  it('exit classes', () => {
    assert.equal(classifyExit({ code: 1, signal: null }), 'crash')
    assert.equal(classifyExit({ code: null, signal: 'SIGKILL', reason: 'oom' }), 'oom')
    assert.equal(classifyExit({ code: null, signal: null, reason: 'spawn_error' }), 'spawn_error')
  })
})
describe('monitor: /proc parsers', () => {
  it('cpu utilisation from two /proc/stat readings', () => {
    const a = parseProcStat('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n')!
    const b = parseProcStat('cpu  150 0 150 880 20 0 0 0 0 0\n')!
    const u = cpuUtilPct(a, b)!
    assert.ok(Math.abs(u.utilPct - 50) < 1e-9, String(u.utilPct))
    assert.ok(Math.abs(u.iowaitPct - 10) < 1e-9)
    assert.equal(parseProcStat('garbage'), undefined)
  })
  it('meminfo, loadavg, net/dev, cpu.stat', () => {
    const m = parseMeminfo('MemTotal:       16000000 kB\nMemAvailable:    4000000 kB\nActive(anon):  12 kB\n')
    assert.equal(m.MemTotal, 16000000)
    assert.equal(m['Active(anon)'], 12)
    assert.deepEqual(parseLoadavg('0.50 0.25 0.10 1/95 6045\n'), [0.5, 0.25, 0.1])
    assert.equal(parseLoadavg('x'), undefined)
    const n = parseNetDev('Inter-| head\n face | head\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n')
    assert.deepEqual(n.get('eth0'), { rx: 1000, tx: 2000 })
    assert.deepEqual(parseCpuStat('usage_usec 10\nnr_periods 5\nnr_throttled 2\nthrottled_usec 700\n'), { nrPeriods: 5, nrThrottled: 2, throttledUsec: 700 })
    assert.equal(parseCpuStat('usage_usec 10\n'), undefined)
  })
  it('/proc/PID/stat with a hostile comm', () => {
    const s = parseProcPidStat('4242 (evil) R 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 100000 2560 18446744073709551615')!
    assert.equal(s.state, 'S')
    assert.equal(s.utimeTicks, 250)
    assert.equal(s.stimeTicks, 50)
    assert.equal(s.startTicks, 12345)
    assert.equal(s.rssPages, 2560)
    assert.equal(parseProcPidStat('nonsense'), undefined)
  })
  it('mount labels and bounded directory sizes', () => {
    assert.equal(mountLabel('/'), 'root')
    assert.equal(mountLabel('/var/lib/'), 'var_lib')
    const dir = mkdtempSync(join(tmpdir(), 'dirsize-'))
    try {
      mkdirSync(join(dir, 'sub'))
      writeFileSync(join(dir, 'a'), Buffer.alloc(1000))
      writeFileSync(join(dir, 'sub', 'b'), Buffer.alloc(500))
      assert.deepEqual(dirSizeBytes(dir, 100), { bytes: 1500, entries: 3, truncated: false })
      assert.equal(dirSizeBytes(dir, 1).truncated, true)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
})
