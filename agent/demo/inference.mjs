// A small HTTP "inference service" for `homeostat demo`: GET /health, GET or
// POST /predict (a tiny linear model), and fault switches the demo flips:
// POST /fault/crash (exit like a CUDA fault), /fault/hang (accept requests,
// never answer), /fault/leak (retain 1.2 MB every 100 ms until killed: 12 MB/s, slow enough that
// the agent's trend forecast sees it — a few seconds of samples — before the 200 MB limit).
import { createServer } from 'node:http'

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) { console.error('PORT is required'); process.exit(2) }
const weights = [0.4, -0.2, 0.7, 0.1]
let hung = false
const leak = []
let served = 0

const server = createServer((req, res) => {
  if (hung) return // accept, never answer
  const url = new URL(req.url ?? '/', 'http://x')
  if (url.pathname === '/health') { res.end('ok\n'); return }
  if (url.pathname === '/predict') {
    const x = weights.map((_, i) => Math.sin(served + i))
    const y = x.reduce((a, v, i) => a + v * weights[i], 0)
    served++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ y, served }))
    return
  }
  if (req.method === 'POST' && url.pathname === '/fault/crash') {
    res.end('crashing\n')
    console.error('fatal: CUDA error: an illegal memory access was encountered (injected by homeostat demo)')
    setTimeout(() => process.exit(70), 20)
    return
  }
  if (req.method === 'POST' && url.pathname === '/fault/hang') {
    res.end('hanging\n')
    console.error('worker deadlocked (injected by homeostat demo)')
    setTimeout(() => { hung = true }, 10)
    return
  }
  if (req.method === 'POST' && url.pathname === '/fault/leak') {
    res.end('leaking\n')
    console.error('KV cache never freed (injected by homeostat demo)')
    setInterval(() => { const b = Buffer.alloc(1.2 * 1024 * 1024, 1); leak.push(b) }, 100)
    return
  }
  res.statusCode = 404
  res.end('not found\n')
})
server.listen(port, '127.0.0.1', () => console.log(`inference listening on ${port}`))
process.on('SIGTERM', () => { server.close(); process.exit(0) })
