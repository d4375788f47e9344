// Incidents in the order they were detected, and `homeostat incidents --follow`
// surviving the agent going away: a real HTTP server plays the agent, streams
// incident events, drops the connection (as a stopping agent does), stays down
// for a few retries and comes back with incidents that changed meanwhile.
import assert from 'node:assert/strict'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Incident } from '@homeostat/interface'
import { main, EXIT } from '../src/cli.ts'
import { createIncidentBook, detectedAtMs } from '../src/state/incidents.ts'
import { waitFor } from './helpers.ts'

const HLC = '0'.repeat(21)

function incident (id: string, openedAtMs: number, steps: Array<[Incident['steps'][number]['kind'], number]>, status: Incident['status'] = 'open'): Incident {
  return {
    id, node: 'n1', component: 'web', targetKind: 'process', failureClass: 'disk_fill', status, openedAtMs,
    steps: steps.map(([kind, atMs]) => ({ kind, hlc: HLC, atMs, summary: `${kind} ${id}` })),
    anomalies: []
  }
}

/** A stand-in for the agent's API: /api/incidents from `incidents`, /api/events as SSE. */
class FakeAgent {
  incidents: Incident[] = []
  readonly streams = new Set<ServerResponse>()
  private server: Server | undefined
  private eventId = 0
  port = 0

  async start (port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url?.startsWith('/api/incidents') === true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ incidents: this.incidents }))
      } else if (req.url === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('retry: 2000\n\n')
        this.streams.add(res)
        req.on('close', () => this.streams.delete(res))
      } else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
  }

  send (inc: Incident): void {
    const e = { id: ++this.eventId, type: 'incident', atMs: Date.now(), data: { origin: 'local', incident: inc } }
    for (const res of this.streams) res.write(`id: ${e.id}\nevent: incident\ndata: ${JSON.stringify(e)}\n\n`)
  }

  /** As an agent that stops: open streams are cut mid-way, and nothing listens on the port any more. */
  async stop (): Promise<void> {
    for (const res of this.streams) res.destroy()
    this.streams.clear()
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }
}

describe('incidents: order and --follow', function () {
  this.timeout(30_000)

  it('the book lists incidents newest detected first (a slow fault opened long ago but detected now comes first)', () => {
    const book = createIncidentBook({})
    const now = 1_000_000
    // Disk filling slowly: onset 10 min before it was detected, just now.
    book.upsert(incident('disk', now - 600_000, [['opened', now - 600_000], ['detected', now]]))
    book.upsert(incident('crash', now - 60_000, [['opened', now - 60_000], ['detected', now - 59_000]]))
    // Not detected yet: ordered by when it was opened.
    book.upsert(incident('fresh', now - 30_000, [['opened', now - 30_000]]))
    assert.deepEqual(book.list().map((i) => i.id), ['disk', 'fresh', 'crash'])
    assert.deepEqual(book.list({ limit: 2 }).map((i) => i.id), ['disk', 'fresh'])
    assert.equal(detectedAtMs(book.get('disk') as Incident), now)
    assert.equal(detectedAtMs(book.get('fresh') as Incident), now - 30_000)
  })

  it('the table shows when each incident was DETECTED', async () => {
    const agent = new FakeAgent()
    await agent.start()
    try {
      const now = Date.now()
      agent.incidents = [incident('disk', now - 600_000, [['opened', now - 600_000], ['detected', now - 5_000]])]
      const out: string[] = []
      const code = await main(['incidents', '--api', agent.url], { out: (s) => out.push(s), err: (s) => out.push(s) })
      assert.equal(code, EXIT.ok, out.join('\n'))
      const [header, row] = out.join('\n').split('\n')
      assert.match(header ?? '', /^ID\s+NODE\s+COMPONENT\s+CLASS\s+STATUS\s+DETECTED\s+DETECT\s+MTTR\s+ACTION$/)
      assert.match(row ?? '', /^disk\s+n1\s+web\s+disk_fill\s+open\s+[56]\.\d\d s ago\s+9\.9 min\s/)
    } finally { await agent.stop() }
  })

  it('--follow reports the agent going away in one line, reconnects and prints only the steps it missed', async () => {
    const agent = new FakeAgent()
    await agent.start()
    const out: string[] = []
    const err: string[] = []
    let follow: Promise<number> | undefined
    let code: number | undefined
    try {
      const t = Date.now() - 10_000
      let a = incident('a', t, [['opened', t], ['detected', t + 100]])
      agent.incidents = [a]
      follow = main(['incidents', '--follow', '--api', agent.url], { out: (s) => out.push(s), err: (s) => err.push(s) })
      await waitFor('the event stream to open', () => agent.streams.size === 1, 5000)
      assert.equal(out.length, 1, 'the incident as listed')
      assert.match(out[0] ?? '', /^a {2}n1\/web {2}disk_fill {2}open/)

      a = incident('a', t, [['opened', t], ['detected', t + 100], ['diagnosed', t + 200]])
      agent.send(a)
      await waitFor('the live step', () => out.some((l) => l.includes('diagnosed a')), 5000)

      // The agent stops: the stream is cut (undici: "terminated") and the port refuses connections for a while.
      const port = agent.port
      await agent.stop()
      await waitFor('the went-away line', () => err.length > 0, 5000)
      await new Promise((resolve) => setTimeout(resolve, 1800)) // ≥ 2 failed reconnection attempts (0.5 s, then 1 s)
      assert.equal(err.length, 1, `one line for the outage, not one per attempt: ${JSON.stringify(err)}`)
      assert.match(err[0] ?? '', new RegExp(`^agent at http://127\\.0\\.0\\.1:${port} went away \\(terminated[^)]*\\); reconnecting…$`))

      // Back, with what happened meanwhile: `a` recovered, `b` is new.
      a = incident('a', t, [['opened', t], ['detected', t + 100], ['diagnosed', t + 200], ['acted', t + 300], ['recovered', t + 400]], 'recovered')
      const b = incident('b', t + 1000, [['opened', t + 1000], ['detected', t + 1100]])
      agent.incidents = [b, a]
      await agent.start(port)
      await waitFor('the missed steps', () => out.some((l) => l.includes('detected b')) && out.some((l) => l.includes('recovered a')), 10_000)
      await waitFor('the stream to open again', () => agent.streams.size === 1, 5000)
      assert.match(err[1] ?? '', /^reconnected to the agent at http:\/\/127\.0\.0\.1:\d+$/)
      const steps = out.slice(1).map((l) => l.replace(/^\S+ {2}/, ''))
      assert.deepEqual(steps, [
        'a  n1/web  diagnosed   diagnosed a',
        'a  n1/web  acted       acted a',
        'a  n1/web  recovered   recovered a',
        'b  n1/web  opened      opened b',
        'b  n1/web  detected    detected b'
      ])

      // The stream goes on after the reconnection, still printing each step once.
      agent.send(a)
      agent.send(incident('b', t + 1000, [['opened', t + 1000], ['detected', t + 1100], ['diagnosed', t + 1200]]))
      await waitFor('a step after the reconnection', () => out.some((l) => l.includes('diagnosed b')), 5000)
      assert.equal(out.filter((l) => l.includes('recovered a')).length, 1)
      assert.ok(!err.some((l) => l.includes('TypeError')), err.join('\n'))
    } finally {
      process.emit('SIGINT')
      code = await follow
      await agent.stop().catch(() => {})
    }
    assert.equal(code, EXIT.ok, 'Ctrl-C ends it with exit 0')
  })

  it('--follow ends with exit 0 on Ctrl-C while the agent is away', async () => {
    const agent = new FakeAgent()
    await agent.start()
    agent.incidents = []
    const err: string[] = []
    const follow = main(['incidents', '--follow', '--api', agent.url], { out: () => {}, err: (s) => err.push(s) })
    await waitFor('the event stream to open', () => agent.streams.size === 1, 5000)
    await agent.stop()
    await waitFor('the went-away line', () => err.length > 0, 5000)
    const start = Date.now()
    process.emit('SIGINT')
    assert.equal(await follow, EXIT.ok)
    assert.ok(Date.now() - start < 1000, 'does not wait out the back-off')
  })
})
