'use strict'
// A blocked event loop defeats mocha's timeouts (they are timers too): the
// run then hangs until CI kills it, with no clue where. This watchdog lives
// in a worker thread, which keeps running while the main thread is stuck.
// The main thread bumps a shared heartbeat every second; when it has not
// moved for `stallMs`, the worker pauses the main thread through the
// inspector (a V8 interrupt: it reaches a busy JS loop), prints the test and
// the JS stack it was in, prints the CI summary line with the stall counted
// as a failure, and kills the process.
const { Worker } = require('node:worker_threads')

/** Defaults; HOMEOSTAT_TEST_STALL_MS overrides stallMs. */
const WATCHDOG_DEFAULTS = {
  /** Heartbeat period: cheap, and far finer than the threshold. */
  beatMs: 1000,
  /** Longest the loop may stay blocked: no test does 60 s of synchronous work; a real hang lasts forever. */
  stallMs: 60_000,
  /** How long to wait for the inspector's pause (none comes when the thread is stuck in native code). */
  pauseWaitMs: 10_000,
  /** Bytes kept of the current test's title. */
  titleBytes: 1024
}

// Shared layout: Int32 [heartbeat, passes, failures, pending, titleLength], then the title's bytes.
const HEARTBEAT = 0
const PASSES = 1
const FAILURES = 2
const PENDING = 3
const TITLE_LENGTH = 4
const INTS = 5

const workerSource = `
const { workerData } = require('node:worker_threads')
const inspector = require('node:inspector')
const { writeSync } = require('node:fs')
const { ints, title, stallMs, pauseWaitMs } = workerData
const say = (fd, s) => { try { writeSync(fd, s) } catch {} }
let last = Atomics.load(ints, 0)
let since = Date.now()
const timer = setInterval(() => {
  const beat = Atomics.load(ints, 0)
  if (beat !== last) { last = beat; since = Date.now(); return }
  if (Date.now() - since < stallMs) return
  clearInterval(timer)
  const name = Buffer.from(title.subarray(0, Atomics.load(ints, ${TITLE_LENGTH}))).toString('utf8')
  say(2, '\\nwatchdog: the event loop has not run for ' + Math.round((Date.now() - since) / 1000) + ' s, in test: ' + (name || '(between tests)') + '\\n')
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
  const shared = new SharedArrayBuffer(INTS * 4 + WATCHDOG_DEFAULTS.titleBytes)
  const ints = new Int32Array(shared, 0, INTS)
  const title = new Uint8Array(shared, INTS * 4)
  setInterval(() => { Atomics.add(ints, HEARTBEAT, 1) }, WATCHDOG_DEFAULTS.beatMs).unref()
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
  const worker = new Worker(workerSource, { eval: true, workerData: { ints, title, stallMs, pauseWaitMs: WATCHDOG_DEFAULTS.pauseWaitMs } })
  worker.unref()
  worker.on('error', (err) => { process.stderr.write(`watchdog: worker failed: ${err.message}\n`) })
}

module.exports = { startWatchdog, WATCHDOG_DEFAULTS }
