'use strict'
// A blocked event loop defeats mocha's timeouts (they are timers too): the
// run then hangs until CI kills it, with no clue where. This watchdog lives
// in a worker thread, which keeps running while the main thread is stuck.
// The main thread bumps a shared heartbeat every second; when it has not
// moved for `stallMs` (2 min), the worker pauses the main thread through the
// inspector (a V8 interrupt: it reaches a busy JS loop), prints the test and
// the JS stack it was in, prints the CI summary line with the stall counted
// as a failure, and kills the process.
const { Worker } = require('node:worker_threads')

/** Defaults; HOMEOSTAT_TEST_STALL_MS overrides stallMs. */
const WATCHDOG_DEFAULTS = {
  /** Heartbeat period: cheap, and far finer than the threshold. */
  beatMs: 1000,
  /** Longest the loop may stay blocked. The longest legitimate block in the suite (a simulation run
   * that is one long chain of promises) is reported at the end of the run; a real hang lasts forever. */
  stallMs: 120_000,
  /** The run's longest block is printed at its end from this length up. */
  reportStallMs: 5_000,
  /** How long to wait for the inspector's pause (none comes when the thread is stuck in native code). */
  pauseWaitMs: 10_000,
  /** Bytes kept of the current test's title. */
  titleBytes: 1024
}

// Shared layout: Int32 [heartbeat (ms since t0 of the last beat), passes, failures, pending, titleLength, longestStallMs, longestTitleLength],
// then the current test's title, then the title of the test with the longest block.
const HEARTBEAT = 0
const PASSES = 1
const FAILURES = 2
const PENDING = 3
const TITLE_LENGTH = 4
const LONGEST_MS = 5
const LONGEST_TITLE_LENGTH = 6
const INTS = 7

const workerSource = `
const { workerData } = require('node:worker_threads')
const inspector = require('node:inspector')
const { writeSync } = require('node:fs')
const { ints, title, longestTitle, stallMs, pauseWaitMs, t0 } = workerData
const say = (fd, s) => { try { writeSync(fd, s) } catch {} }
const timer = setInterval(() => {
  // A beat is due every second: what is beyond that is how long the loop has been blocked so far.
  const blockedMs = Date.now() - t0 - Atomics.load(ints, ${HEARTBEAT}) - ${WATCHDOG_DEFAULTS.beatMs}
  if (blockedMs > Atomics.load(ints, ${LONGEST_MS})) {
    Atomics.store(ints, ${LONGEST_MS}, blockedMs)
    const n = Atomics.load(ints, ${TITLE_LENGTH})
    longestTitle.set(title.subarray(0, n))
    Atomics.store(ints, ${LONGEST_TITLE_LENGTH}, n)
  }
  if (blockedMs < stallMs) return
  clearInterval(timer)
  const name = Buffer.from(title.subarray(0, Atomics.load(ints, ${TITLE_LENGTH}))).toString('utf8')
  say(2, '\\nwatchdog: the event loop has not run for ' + Math.round(blockedMs / 1000) + ' s, in test: ' + (name || '(between tests)') + '\\n')
  const finish = (stack) => {
    say(2, stack + '\\n')
    say(1, '\\n' + Atomics.load(ints, ${PASSES}) + ' passed, ' + (Atomics.load(ints, ${FAILURES}) + 1) + ' failed, ' + Atomics.load(ints, ${PENDING}) + ' skipped\\n')
    process.kill(process.pid, 'SIGKILL')
  }
  const fallback = setTimeout(() => finish('watchdog: no JS stack within ' + pauseWaitMs + ' ms: the main thread is blocked in native code'), pauseWaitMs)
  try {
    const urls = new Map()
    const session = new inspector.Session()
    session.connectToMainThread()
    session.on('Debugger.scriptParsed', (m) => { urls.set(m.params.scriptId, m.params.url) })
    session.on('Debugger.paused', (m) => {
      clearTimeout(fallback)
      const frames = m.params.callFrames.slice(0, 40).map((f) => '    at ' + (f.functionName || '<anonymous>') + ' (' + (urls.get(f.location.scriptId) || f.url || '?') + ':' + (f.location.lineNumber + 1) + ':' + (f.location.columnNumber + 1) + ')')
      finish('watchdog: main thread JS stack (line numbers are of the transpiled code):\\n' + frames.join('\\n'))
    })
    session.post('Debugger.enable', () => session.post('Debugger.pause'))
  } catch (err) {
    clearTimeout(fallback)
    finish('watchdog: could not pause the main thread: ' + (err && err.message))
  }
}, 1000)
`

/** Starts the watchdog for a mocha runner; returns nothing (the worker and heartbeat never keep the process alive). */
function startWatchdog (runner, constants) {
  const stallMs = Number(process.env.HOMEOSTAT_TEST_STALL_MS ?? WATCHDOG_DEFAULTS.stallMs)
  if (!(stallMs > 0)) return
  const shared = new SharedArrayBuffer(INTS * 4 + 2 * WATCHDOG_DEFAULTS.titleBytes)
  const ints = new Int32Array(shared, 0, INTS)
  const title = new Uint8Array(shared, INTS * 4, WATCHDOG_DEFAULTS.titleBytes)
  const longestTitle = new Uint8Array(shared, INTS * 4 + WATCHDOG_DEFAULTS.titleBytes, WATCHDOG_DEFAULTS.titleBytes)
  const t0 = Date.now()
  setInterval(() => { Atomics.store(ints, HEARTBEAT, Date.now() - t0) }, WATCHDOG_DEFAULTS.beatMs).unref()
  const setTitle = (t) => {
    const bytes = Buffer.from(t ?? '', 'utf8').subarray(0, WATCHDOG_DEFAULTS.titleBytes)
    title.set(bytes)
    Atomics.store(ints, TITLE_LENGTH, bytes.length)
  }
  const count = () => {
    const s = runner.stats ?? {}
    Atomics.store(ints, PASSES, s.passes ?? 0)
    Atomics.store(ints, FAILURES, s.failures ?? 0)
    Atomics.store(ints, PENDING, s.pending ?? 0)
  }
  runner.on(constants.EVENT_HOOK_BEGIN, (hook) => { setTitle(hook.fullTitle()) })
  runner.on(constants.EVENT_TEST_BEGIN, (test) => { setTitle(test.fullTitle()) })
  // After mocha's own stats listener (registered before the reporter's).
  for (const e of [constants.EVENT_TEST_PASS, constants.EVENT_TEST_FAIL, constants.EVENT_TEST_PENDING, constants.EVENT_TEST_END]) runner.on(e, count)
  runner.once(constants.EVENT_RUN_END, () => {
    const longest = Atomics.load(ints, LONGEST_MS)
    if (longest < WATCHDOG_DEFAULTS.reportStallMs) return
    const where = Buffer.from(longestTitle.subarray(0, Atomics.load(ints, LONGEST_TITLE_LENGTH))).toString('utf8')
    process.stderr.write(`watchdog: the event loop's longest block was ${(longest / 1000).toFixed(1)} s (limit ${stallMs / 1000} s), in: ${where || '(between tests)'}\n`)
  })
  const worker = new Worker(workerSource, { eval: true, workerData: { ints, title, longestTitle, stallMs, pauseWaitMs: WATCHDOG_DEFAULTS.pauseWaitMs, t0 } })
  worker.unref()
  worker.on('error', (err) => { process.stderr.write(`watchdog: worker failed: ${err.message}\n`) })
}

module.exports = { startWatchdog, WATCHDOG_DEFAULTS }
