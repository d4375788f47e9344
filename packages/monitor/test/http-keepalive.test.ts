import { strict as assert } from 'node:assert'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { httpProbe } from '@homeostat/monitor'

describe('monitor: HTTP probe keep-alive', () => {
  it('reuses one connection between probes, and a server restart is not a failure', async () => {
    let connections = 0
    const serve = async (port = 0): Promise<http.Server> => {
      const s = http.createServer((_req, res) => { res.end('ok') })
      s.on('connection', () => { connections++ })
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve))
      return s
    }
    let server = await serve()
    const port = (server.address() as AddressInfo).port
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const url = `http://127.0.0.1:${port}/`
    for (let i = 0; i < 5; i++) assert.equal((await httpProbe({ url, timeoutMs: 1000, agent })).status, 'ok')
    assert.equal(connections, 1)
    // Restart the server: the pooled socket dies; the next probe must still pass (retried on a fresh socket).
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    server = await serve(port)
    const r = await httpProbe({ url, timeoutMs: 1000, agent })
    assert.equal(r.status, 'ok', r.detail)
    agent.destroy()
    server.close()
  })

  it('a kept-alive probe of a server that stops answering fails by timeout', async () => {
    let hang = false
    const server = http.createServer((_req, res) => { if (!hang) res.end('ok') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    assert.equal((await httpProbe({ url, timeoutMs: 500, agent })).status, 'ok')
    hang = true
    const r = await httpProbe({ url, timeoutMs: 300, agent })
    assert.equal(r.status, 'fail')
    agent.destroy()
    server.closeAllConnections()
    server.close()
  })
})
