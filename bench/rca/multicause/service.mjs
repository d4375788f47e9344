// One service of the multi-cause scenarios: GET /health answers 200 when this
// service is well and every dependency's /health answers 200 in time; 503
// otherwise (a dependency's failure shows up in its callers, as in a real
// call graph). POST /fault/error makes it answer 503, /fault/hang never
// answer, /fault/slow answer after 250 ms; POST /fault/clear ends the fault.
// Env: PORT, DEPS (comma-separated ports of its dependencies).
import { createServer } from 'node:http'

const deps = (process.env.DEPS ?? '').split(',').filter((x) => x !== '').map(Number)
let fault = 'none'

const depHealthy = async (port) => {
  try { return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(200) })).ok } catch { return false }
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/fault/')) { fault = req.url.slice(7); res.end(fault + '\n'); return }
  if (req.url !== '/health') { res.writeHead(404); res.end(); return }
  if (fault === 'hang') return
  if (fault === 'error') { res.writeHead(503); res.end('error\n'); return }
  const answer = () => Promise.all(deps.map(depHealthy)).then((ok) => {
    const good = ok.every(Boolean)
    res.writeHead(good ? 200 : 503)
    res.end(good ? 'ok\n' : 'a dependency is failing\n')
  })
  if (fault === 'slow') setTimeout(answer, 250)
  else answer()
})
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => { server.close(); process.exit(0) })
