#!/usr/bin/env node
// The `homeostat` command. libp2p needs Promise.withResolvers on Node 20: the
// polyfill is imported before anything else.
import '@homeostat/mesh/polyfill'
import { main } from '../dist/cli.js'

process.exitCode = await main(process.argv.slice(2))
