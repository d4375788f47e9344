'use strict'
// Mocha's spec reporter plus the plain closing line CI reads:
// "N passed, N failed, N skipped"; and a watchdog for a blocked event loop.
const Mocha = require('mocha')
const { startWatchdog } = require('./mocha-watchdog.cjs')
const { Spec } = Mocha.reporters
const { EVENT_RUN_END } = Mocha.Runner.constants

class HomeostatReporter extends Spec {
  constructor (runner, options) {
    super(runner, options)
    startWatchdog(runner, Mocha.Runner.constants)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? {}
      // Printed after Spec's epilogue (registered first, so it runs first).
      process.stdout.write(`\n${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`)
    })
  }
}
module.exports = HomeostatReporter
