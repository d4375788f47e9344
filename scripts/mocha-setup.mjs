// Loaded by mocha before any test file: libp2p 3 needs Promise.withResolvers,
// which Node 20 lacks. It must run before the first libp2p import.
import '@homeostat/mesh/polyfill'
