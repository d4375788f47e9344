// A healthy but noisy workload for bench/micro's falseActionsOnHealthy: its
// RSS and CPU wander randomly within a band, and its HTTP endpoint (every
// path, e.g. /health) always answers 200. Nothing is wrong with it: any
// recovery action taken on it is a false action.
//   PORT=8080 node --expose-gc noisy.mjs [marker…]   (extra argv is ignored: a marker for the harness)
// Band: RSS about 45–95 MB (heap-external buffers of 4 MB, target random-walks
// every second); CPU 0.5–4 % of one core (a spin of random length every 100 ms,
// whose mean random-walks every 5 s). Small, so it does not disturb the MTTR
// timings that run beside it.
import { createServer } from 'node:http'

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) { console.error('noisy.mjs: set PORT'); process.exit(2) }

createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok\n') })
  .listen(port, '127.0.0.1', () => { console.log(`noisy: listening on ${port}`) })

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x))
const CHUNK_MB = 4
const chunks = []
let targetMb = 20 // on top of the runtime's own ~40 MB
setInterval(() => {
  targetMb = clamp(targetMb + (Math.random() - 0.5) * 12, 4, 52)
  const want = Math.round(targetMb / CHUNK_MB)
  while (chunks.length < want) chunks.push(Buffer.alloc(CHUNK_MB * 1024 * 1024, chunks.length & 0xff))
  if (chunks.length > want) {
    chunks.length = want
    globalThis.gc?.()
  }
}, 1000).unref?.()

let meanSpinMs = 2 // × 10 per second = 2 % of a core
setInterval(() => { meanSpinMs = clamp(meanSpinMs + (Math.random() - 0.5) * 1.5, 0.5, 4) }, 5000)
setInterval(() => {
  const until = performance.now() + Math.random() * 2 * meanSpinMs
  let x = 0
  while (performance.now() < until) x += Math.sqrt(x + 1)
  if (x < 0) console.log(x) // keep the loop
}, 100)

process.on('SIGTERM', () => process.exit(0))
