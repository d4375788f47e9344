// The duty-cycle CPU limiter: its maths from tables, its state machine on
// virtual time, and real processes (`yes`) held to half a core.
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import {
  createCpuLimiter, nextRunFraction, initialRunFraction, sliceMs, windowRates, trimWindow, memberDelta, parseGroupStat,
  processGroupPids, CPU_LIMIT_DEFAULTS, type CpuLimitSignal, type WindowSample, type CpuLimiter
} from '../src/index.ts'

const D = CPU_LIMIT_DEFAULTS
const close = (a: number, b: number, eps = 1e-9): boolean => Math.abs(a - b) <= eps

describe('cpu limiter: control maths', () => {
  const exact = { aimRatio: 1, minRunFraction: 0.05, maxGrowth: 2 }
  const table: Array<[string, number, number, number, number]> = [
    // why, prevFraction, measuredCores, limitCores, want (aimRatio 1)
    ['one-core hog at half: halve the run share', 1, 1, 0.5, 0.5],
    ['already at the limit: keep', 0.5, 0.5, 0.5, 0.5],
    ['over by half: cut', 0.6, 0.9, 0.5, 0.6 * 0.5 / 0.9],
    ['under the limit: grow, at most ×2 per period', 0.2, 0.05, 0.5, 0.4],
    ['under the limit with room: just enough', 0.5, 0.4, 0.5, 0.625],
    ['used nothing: ×2', 0.1, 0, 0.5, 0.2],
    ['never above 1', 0.8, 0.1, 0.5, 1],
    ['a two-core group held to 0.5: a quarter of the time', 1, 2, 0.5, 0.25],
    ['a multi-threaded group allowed 3 of 4 cores', 1, 4, 3, 0.75],
    ['floor: the group always runs 5 %', 0.1, 2, 0.05, 0.05],
    ['NaN reading keeps the fraction', 0.3, NaN, 0.5, 0.3],
    ['negative reading keeps the fraction', 0.3, -1, 0.5, 0.3],
    ['a prevFraction below the floor is read as the floor', 0, 0.2, 0.5, 0.1]
  ]
  for (const [why, prev, measured, limit, want] of table) {
    it(why, () => { assert.ok(close(nextRunFraction(prev, measured, limit, exact), want), `${nextRunFraction(prev, measured, limit, exact)} ≠ ${want}`) })
  }
  it('aims 5 % under the limit by default', () => {
    assert.ok(close(nextRunFraction(1, 1, 0.5), 0.475))
    assert.ok(close(initialRunFraction(0.5), 0.475))
    assert.equal(initialRunFraction(2), 1)
    assert.equal(initialRunFraction(0.01), 0.05)
  })

  const slices: Array<[number, number, number, { runMs: number, stopMs: number }]> = [
    [100, 0.5, 3, { runMs: 50, stopMs: 50 }],
    [100, 0.475, 3, { runMs: 48, stopMs: 52 }],
    [100, 1, 3, { runMs: 100, stopMs: 0 }],
    [100, 0.98, 3, { runMs: 100, stopMs: 0 }], // a 2 ms stop is not worth two signals
    [100, 0.97, 3, { runMs: 97, stopMs: 3 }],
    [100, 0.01, 3, { runMs: 3, stopMs: 97 }], // run slice never below minSliceMs
    [100, NaN, 3, { runMs: 100, stopMs: 0 }],
    [200, 0.25, 3, { runMs: 50, stopMs: 150 }]
  ]
  for (const [period, f, min, want] of slices) {
    it(`slices of a ${period} ms period at run fraction ${f}: ${want.runMs} run / ${want.stopMs} stopped`, () => {
      assert.deepEqual(sliceMs(period, f, min), want)
    })
  }

  it('window rates and trimming', () => {
    const s = (tMs: number, cpuMs: number, runMs: number): WindowSample => ({ tMs, cpuMs, runMs })
    assert.equal(windowRates([]), undefined)
    assert.equal(windowRates([s(0, 0, 0)]), undefined)
    assert.equal(windowRates([s(5, 0, 0), s(5, 9, 9)]), undefined)
    assert.deepEqual(windowRates([s(0, 0, 0), s(100, 25, 50), s(200, 50, 100)]), { measuredCores: 0.25, runFraction: 0.5, spanMs: 200 })
    assert.deepEqual(windowRates([s(0, 10, 0), s(100, 5, 100)]), { measuredCores: 0, runFraction: 1, spanMs: 100 }, 'a CPU counter that went back reads 0')
    const w = [s(0, 0, 0), s(400, 1, 1), s(900, 2, 2), s(1000, 3, 3), s(1500, 4, 4)]
    trimWindow(w, 1000)
    assert.deepEqual(w.map((x) => x.tMs), [400, 900, 1000, 1500], 'one sample kept at or before the window start')
    const two = [s(0, 0, 0), s(5000, 1, 1)]
    trimWindow(two, 1000)
    assert.equal(two.length, 2, 'never fewer than two')
  })

  const deltas: Array<[string, [number, number], [number, number], number, { addTicks: number, creditTicks: number }]> = [
    ['own CPU counts', [10, 0], [15, 0], 0, { addTicks: 5, creditTicks: 0 }],
    ['a reaped child not seen before counts', [10, 0], [10, 7], 0, { addTicks: 7, creditTicks: 0 }],
    ['a reaped member already counted does not count twice', [10, 0], [10, 7], 5, { addTicks: 2, creditTicks: 0 }],
    ['credit larger than the growth is kept for later', [10, 0], [12, 3], 5, { addTicks: 2, creditTicks: 2 }],
    ['counters never go back', [10, 5], [8, 4], 3, { addTicks: 0, creditTicks: 3 }]
  ]
  for (const [why, [o1, r1], [o2, r2], credit, want] of deltas) {
    it(`group CPU: ${why}`, () => {
      assert.deepEqual(memberDelta({ ownTicks: o1, reapedTicks: r1 }, { ownTicks: o2, reapedTicks: r2 }, credit), want)
    })
  }

  it('parses /proc/PID/stat with a comm holding spaces and parentheses', () => {
    const text = '4242 (my (odd) job) R 1 4242 4242 0 -1 4194304 100 0 0 0 123 45 6 7 20 0 1 0 98765 1000000 200 18446744073709551615'
    assert.deepEqual(parseGroupStat(text), { state: 'R', ppid: 1, pgrp: 4242, ownTicks: 168, reapedTicks: 13, startTicks: 98765 })
    assert.equal(parseGroupStat('garbage'), undefined)
    assert.equal(parseGroupStat('1 (x) R 1 2'), undefined)
  })
})

/** A process group on virtual time: it uses `demandCores` while not stopped; /proc-like 10 ms CPU ticks. */
function simulate (o: { demandCores: number, cores: number, durationMs: number, foreignStop?: [number, number], exitAtMs?: number, signalFails?: boolean, until?: (l: CpuLimiter) => boolean }) {
  let t = 0
  let cpuMs = 0
  let running = true
  let foreign = false
  let alive = true
  let lastT = 0
  const log: Array<{ t: number, sig: CpuLimitSignal }> = []
  const queue: Array<{ at: number, fn: () => void, seq: number }> = []
  let seq = 0
  const account = (): void => {
    if (running && !foreign) cpuMs += o.demandCores * (t - lastT)
    lastT = t
  }
  let gone = 0
  const warns: object[] = []
  const lim = createCpuLimiter({
    pgid: 4242,
    cores: o.cores,
    now: () => t,
    timers: {
      setTimeout: (fn, ms) => { const h = { at: t + ms, fn, seq: seq++ }; queue.push(h); return h },
      clearTimeout: (h) => { const i = queue.indexOf(h as typeof queue[number]); if (i >= 0) queue.splice(i, 1) }
    },
    readCpuMs: () => { account(); return alive ? Math.floor(cpuMs / 10) * 10 : undefined },
    readStopped: () => foreign,
    signal: (_pgid, sig) => {
      if (o.signalFails === true) throw Object.assign(new Error('EPERM'), { code: 'EPERM' })
      if (!alive) return false
      account()
      log.push({ t, sig })
      running = sig === 'SIGCONT'
      return true
    },
    onGone: () => { gone++ },
    logger: { warn: (x) => { warns.push(x) } }
  })
  lim.start()
  const cpuAt = new Map<number, number>()
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq)
    const h = queue.shift()!
    if (h.at > o.durationMs) break
    // Events of the world between timers.
    for (const [at, fn] of [
      [o.foreignStop?.[0], () => { account(); foreign = true }],
      [o.foreignStop?.[1], () => { account(); foreign = false }],
      [o.exitAtMs, () => { account(); alive = false }]
    ] as Array<[number | undefined, () => void]>) {
      if (at !== undefined && t < at && h.at >= at) { t = at; fn() }
    }
    t = h.at
    account()
    cpuAt.set(Math.floor(t / 500) * 500, cpuMs)
    h.fn()
    if (o.until?.(lim) === true) break
  }
  t = Math.max(t, o.durationMs)
  account()
  return { lim, log, cpuMs: () => cpuMs, cpuAt, gone: () => gone, warns, running: () => running, pending: () => queue.length }
}

describe('cpu limiter: on virtual time', () => {
  const shares: Array<[number, number]> = [[1, 0.5], [2, 0.5], [1, 0.2], [4, 3], [1, 0.05], [1.5, 1]]
  for (const [demand, cores] of shares) {
    it(`a group wanting ${demand} cores is held to ${cores} (measured after 1 s, over 5 s)`, () => {
      const s = simulate({ demandCores: demand, cores, durationMs: 6000 })
      const share = (s.cpuMs() - s.cpuAt.get(1000)!) / 5000
      assert.ok(share <= cores * 1.0 + 0.01 && share >= cores * 0.85, `share ${share.toFixed(3)} for a limit of ${cores}`)
      // Signals alternate, starting with a stop.
      s.log.forEach((e, i) => { assert.equal(e.sig, i % 2 === 0 ? 'SIGSTOP' : 'SIGCONT') })
      s.lim.stop()
    })
  }

  it('a group under its limit is not signalled once measured (only the first guess cycles it)', () => {
    const s = simulate({ demandCores: 0.3, cores: 0.5, durationMs: 3000 })
    assert.deepEqual(s.log.filter((e) => e.t > 600), [])
    assert.equal(s.lim.stats().runFraction, 1)
    assert.ok(s.lim.stats().periods >= 29)
  })

  it('stop() resumes a group it holds, once, and is idempotent; one timer at a time', () => {
    let ticks = 0
    const s = simulate({ demandCores: 1, cores: 0.5, durationMs: 5000, until: (l) => ++ticks > 20 && l.pausedByUs })
    assert.ok(s.pending() <= 1)
    assert.equal(s.lim.pausedByUs, true)
    assert.equal(s.running(), false)
    s.lim.stop()
    s.lim.stop()
    assert.equal(s.lim.pausedByUs, false)
    assert.equal(s.log.at(-1)!.sig, 'SIGCONT')
    assert.equal(s.log.filter((e) => e.sig === 'SIGCONT').length, s.log.filter((e) => e.sig === 'SIGSTOP').length)
    assert.equal(s.running(), true)
    assert.equal(s.lim.stats().running, false)
  })

  it('stands aside while someone else has the group stopped: sends nothing, then resumes duty', () => {
    const s = simulate({ demandCores: 1, cores: 0.5, durationMs: 4000, foreignStop: [1020, 2520] })
    const during = s.log.filter((e) => e.t > 1100 && e.t < 2500)
    assert.deepEqual(during, [], 'no signal while stopped by someone else')
    assert.ok(s.lim.stats().foreignStopPeriods >= 13)
    assert.ok(s.log.some((e) => e.t > 2600 && e.sig === 'SIGSTOP'), 'duty cycling resumes')
    s.lim.stop()
  })

  it('a group that vanishes: onGone once, no warnings, no timers left', () => {
    const s = simulate({ demandCores: 1, cores: 0.5, durationMs: 3000, exitAtMs: 1234 })
    assert.equal(s.gone(), 1)
    assert.equal(s.lim.stats().running, false)
    assert.equal(s.pending(), 0)
    assert.deepEqual(s.warns, [])
    s.lim.stop()
    assert.equal(s.gone(), 1)
  })

  it('a signal it may not send (EPERM): warns and stops, never retries', () => {
    const s = simulate({ demandCores: 1, cores: 0.5, durationMs: 2000, signalFails: true })
    assert.equal(s.lim.stats().running, false)
    assert.equal(s.warns.length, 1)
    assert.equal(s.pending(), 0)
  })

  it('rejects options that could signal the wrong processes', () => {
    for (const pgid of [0, 1, -5, 2.5, NaN]) {
      assert.throws(() => createCpuLimiter({ pgid, cores: 0.5 }), (e: Error & { code?: string }) => e.code === 'ERR_CPU_LIMIT_OPTIONS')
    }
    const own = parseGroupStat(readFileSync('/proc/self/stat', 'latin1'))!.pgrp
    assert.throws(() => createCpuLimiter({ pgid: own, cores: 0.5 }), /own process group/)
    for (const cores of [0, -1, NaN, Infinity]) assert.throws(() => createCpuLimiter({ pgid: 99999, cores }), /cores/)
    assert.throws(() => createCpuLimiter({ pgid: 99999, cores: 1, periodMs: 4 }), /twice minSliceMs/)
  })
})

// ---------------------------------------------------------------- real processes

/** CPU ms of every live process whose pgrp is `pgid`, from /proc (independent of the limiter's own reader). */
function groupCpuMs (pgid: number): number {
  let ticks = 0
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue
    let text: string
    try { text = readFileSync(`/proc/${n}/stat`, 'latin1') } catch { continue }
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks * 10
}
const stateOf = (pid: number): string | undefined => {
  try { const t = readFileSync(`/proc/${pid}/stat`, 'latin1'); return t.slice(t.lastIndexOf(')') + 2).split(' ')[0] } catch { return undefined }
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const spawnGroup = (script: string): ChildProcess => spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
/** A share of at least 0.3 cores, unless the host is so busy that the group could not use 0.6 cores even while we let it run. */
const notStarved = (s: number, demandCores: number): boolean => s >= 0.3 || demandCores < 0.6
/** True when no member of the group is seen stopped over `ms` (sampled every 5 ms). */
async function neverStopped (pgid: number, ms: number): Promise<boolean> {
  for (let t = 0; t < ms; t += 5) {
    if (processGroupPids(pgid).some((p) => stateOf(p) === 'T')) return false
    await sleep(5)
  }
  return true
}
async function share (pgid: number, ms: number): Promise<number> {
  const a = groupCpuMs(pgid)
  const t0 = performance.now()
  await sleep(ms)
  return (groupCpuMs(pgid) - a) / (performance.now() - t0)
}

describe('cpu limiter: real processes', function () {
  this.timeout(15_000)
  const children: ChildProcess[] = []
  const limiters: CpuLimiter[] = []
  afterEach(() => {
    for (const l of limiters.splice(0)) l.stop()
    for (const c of children.splice(0)) { try { process.kill(-c.pid!, 'SIGKILL') } catch { /* gone */ } }
  })
  const limit = (c: ChildProcess, cores: number, extra: { onGone?: () => void, warns?: object[] } = {}): CpuLimiter => {
    const l = createCpuLimiter({ pgid: c.pid!, cores, onGone: extra.onGone, logger: { warn: (o) => { extra.warns?.push(o) } } })
    limiters.push(l)
    l.start()
    return l
  }

  it('holds `yes` to half a core (measured from /proc over 3 s) and stop() leaves it running', async () => {
    const c = spawnGroup('exec yes >/dev/null')
    children.push(c)
    await sleep(100)
    const free = await share(c.pid!, 300)
    const cpu0 = process.cpuUsage()
    const l = limit(c, 0.5)
    await sleep(500)
    const s = await share(c.pid!, 3000)
    const used = process.cpuUsage(cpu0)
    const st = l.stats()
    console.log(`      yes: ${free.toFixed(2)} cores free, ${s.toFixed(3)} held (limit 0.5); limiter ${st.workMs.toFixed(1)} ms of callbacks over ${st.periods} periods ` +
      `(${(st.workMs / st.periods * 1000).toFixed(0)} µs/period, ${(st.workMs / 35).toFixed(2)} % of a core); whole test process ${((used.user + used.system) / 1000).toFixed(0)} ms CPU in 3.5 s`)
    assert.ok(s <= 0.6, `share ${s}`)
    assert.ok(notStarved(s, st.demandCores), `share ${s}: frozen rather than limited (${JSON.stringify(st)})`)
    l.stop()
    const state = stateOf(c.pid!)
    assert.ok(state === 'R' || state === 'S', `state after stop(): ${state}`)
    const signals = l.stats().signals
    assert.ok(await neverStopped(c.pid!, 300), 'runs free again')
    assert.equal(l.stats().signals, signals)
  })

  it('holds a multi-process group (sh + two yes) to half a core in total', async () => {
    const c = spawnGroup('yes >/dev/null & yes >/dev/null & wait')
    children.push(c)
    const l = limit(c, 0.5)
    await sleep(1000)
    const s = await share(c.pid!, 3000)
    const st = l.stats()
    assert.equal(st.members, 3, JSON.stringify(st))
    console.log(`      sh + 2 × yes: ${s.toFixed(3)} cores held in total (limit 0.5), run fraction ${st.runFraction.toFixed(3)}, demand ${st.demandCores.toFixed(2)} cores`)
    assert.ok(s <= 0.6 && notStarved(s, st.demandCores), `group share ${s} (${JSON.stringify(st)})`)
    l.stop()
    for (const p of processGroupPids(c.pid!)) assert.notEqual(stateOf(p), 'T')
  })

  it('holds a group that forks short-lived busy children all the time (counted when reaped)', async () => {
    const c = spawnGroup('while :; do sh -c "i=0; while [ \\$i -lt 20000 ]; do i=\\$((i+1)); done"; done')
    children.push(c)
    // The leader reaps the children: their CPU lands in its cutime/cstime.
    const withReaped = (): number => {
      const f = readFileSync(`/proc/${c.pid}/stat`, 'latin1').split(') ')[1]!.split(' ')
      return groupCpuMs(c.pid!) + (Number(f[13]) + Number(f[14])) * 10
    }
    const l = limit(c, 0.5)
    await sleep(1000)
    const a = withReaped()
    const t0 = performance.now()
    await sleep(3000)
    const s = (withReaped() - a) / (performance.now() - t0)
    const st = l.stats()
    console.log(`      forking group: ${s.toFixed(3)} cores held (limit 0.5), ${st.scans} looks for members in ${st.periods} periods`)
    assert.ok(s <= 0.6 && notStarved(s, st.demandCores), `share ${s} (${JSON.stringify(st)})`)
    assert.ok(st.scans < 15, `looks for members stay bounded (${st.scans})`)
  })

  it('a process that exits while limited: the limiter stops itself with onGone, no warnings', async () => {
    // About 0.4 s of CPU, then exit: at half a core, it ends while limited.
    const c = spawnGroup('i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done')
    children.push(c)
    const warns: object[] = []
    let gone = 0
    const l = limit(c, 0.5, { onGone: () => { gone++ }, warns })
    const exited = new Promise<void>((resolve) => c.once('exit', () => { resolve() }))
    await exited
    for (let i = 0; i < 50 && gone === 0; i++) await sleep(20)
    assert.equal(gone, 1)
    assert.equal(l.stats().running, false)
    assert.ok(l.stats().signals > 0, 'it was limited before it exited')
    assert.deepEqual(warns, [])
  })

  it('a process SIGKILLed while we hold it stopped: onGone, no warnings', async () => {
    const c = spawnGroup('exec yes >/dev/null')
    children.push(c)
    const warns: object[] = []
    let gone = 0
    const l = limit(c, 0.2, { onGone: () => { gone++ }, warns })
    for (let i = 0; i < 100 && !l.pausedByUs; i++) await sleep(2)
    assert.equal(l.pausedByUs, true)
    process.kill(c.pid!, 'SIGKILL')
    for (let i = 0; i < 50 && gone === 0; i++) await sleep(20)
    assert.equal(gone, 1)
    assert.deepEqual(warns, [])
  })

  it('leaves alone a stop it did not make (and stop() does not resume it)', async () => {
    const c = spawnGroup('exec yes >/dev/null')
    children.push(c)
    const l = limit(c, 0.5)
    await sleep(300)
    let aside = false
    for (let attempt = 0; attempt < 5 && !aside; attempt++) {
      // A stop sent during our own stopped slice is undone by our SIGCONT (documented); try again then.
      while (l.pausedByUs) await sleep(1)
      process.kill(-c.pid!, 'SIGSTOP')
      await sleep(250)
      aside = l.stats().standingAside && stateOf(c.pid!) === 'T'
    }
    assert.ok(aside, JSON.stringify(l.stats()))
    const signals = l.stats().signals
    await sleep(300)
    assert.equal(l.stats().signals, signals, 'nothing sent while standing aside')
    assert.equal(stateOf(c.pid!), 'T')
    l.stop()
    assert.equal(stateOf(c.pid!), 'T', 'not ours to resume')
    process.kill(-c.pid!, 'SIGCONT')
  })

  it('an agent that exits while holding a group stopped resumes it on the way out', async () => {
    const hog = spawnGroup('exec yes >/dev/null')
    children.push(hog)
    const src = new URL('../src/index.ts', import.meta.url).href
    const script = `import { createCpuLimiter } from ${JSON.stringify(src)}
const l = createCpuLimiter({ pgid: ${hog.pid}, cores: 0.1 }); l.start()
const t = setInterval(() => { if (l.pausedByUs) { clearInterval(t); console.log('held'); process.exit(0) } }, 1)`
    const agent = spawn(process.execPath, ['--conditions=homeostat-src', '--import', 'tsx/esm', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    agent.stdout!.on('data', (b: Buffer) => { out += b.toString() })
    await new Promise<void>((resolve) => agent.once('exit', () => { resolve() }))
    assert.match(out, /held/)
    const state = stateOf(hog.pid!)
    assert.ok(state === 'R' || state === 'S', `state after the agent exited: ${state}`)
  })
})
