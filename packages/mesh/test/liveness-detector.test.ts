// The failure detector's state machine under an injected clock: no sleeps.
import { strict as assert } from 'node:assert'
import { createFailureDetector, LIVENESS_DEFAULTS, type LivenessEvent } from '@homeostat/mesh'
import { nextKind, probeMethod } from '../src/liveness/kind.ts'

interface SentPing { peer: string, seq: number, at: number, method: 'probe' | 'ping' }

function rig (opts: { confirm?: 'connected' | 'refused' | 'unreachable' | 'timeout', reconnect?: () => boolean, classify?: (peer: string) => boolean | undefined } = {}) {
  let clock = 1_000_000
  const events: LivenessEvent[] = []
  const pings: SentPing[] = []
  const classified: Array<{ peer: string, at: number }> = []
  const closed: string[] = []
  let reconnects = 0
  const redials: Array<{ peer: string, at: number }> = []
  const det = createFailureDetector({
    selfId: 'a', tuning: { ...LIVENESS_DEFAULTS, maxPingsPerSecond: 0 },
    now: () => clock,
    random: () => 0.5,
    onEvent: (e) => { events.push(e) },
    transport: {
      sendPing: (peer, seq, method) => { pings.push({ peer, seq, at: clock, method }) },
      closePeer: (peer) => { closed.push(peer) },
      confirm: async () => opts.confirm ?? 'refused',
      reconnect: async (peer) => { reconnects++; redials.push({ peer, at: clock }); return opts.reconnect?.() ?? false },
      ...(opts.classify != null ? { classify: async (peer: string) => { classified.push({ peer, at: clock }); return opts.classify?.(peer) } } : {})
    }
  })
  /** Peers on the pinged side of the pair ('q', 's', …) that currently send us a ping every 250 ms. */
  const beating = new Set<string>()
  /** Advances time in 50 ms ticks; `answer` decides whether pings sent so far get their pong now. */
  const run = (ms: number, answer: (ping: SentPing) => boolean = () => true, remoteHealth = 0): void => {
    for (let t = 0; t < ms; t += 50) {
      clock += 50
      const waiting = pings.splice(0)
      for (const p of waiting) {
        if (answer(p)) det.pong(p.peer, p.seq, p.method === 'ping' ? 0 : remoteHealth, p.method)
        else pings.push(p)
      }
      if (clock % 250 === 0) for (const peer of beating) det.heard(peer)
      det.tick(clock)
    }
  }
  return { det, events, pings, closed, run, beating, classified, advance: (ms: number) => { clock += ms }, now: () => clock, reconnects: () => reconnects, redials }
}

const states = (events: LivenessEvent[], peer = 'p'): string[] => events.filter((e) => e.peer === peer).map((e) => `${e.state}:${e.reason}`)

describe('mesh failure detector (injected clock)', () => {
  it('a peer that answers stays alive', () => {
    const r = rig()
    r.det.connected('p')
    r.run(5000)
    assert.deepEqual(states(r.events), ['alive:connection:open'])
    assert.ok(r.det.stats().pongsReceived >= 20)
  })

  it('a frozen peer: suspect after the ping timeout, dead after the suspicion timeout, connection closed', () => {
    const r = rig()
    r.det.connected('p')
    r.run(2000) // learn the RTT distribution
    const frozenAt = r.now()
    r.pings.length = 0
    r.run(3000, () => false)
    assert.deepEqual(states(r.events), ['alive:connection:open', 'suspect:ping:timeout', 'dead:suspicion:timeout'])
    const suspect = r.events[1]!
    const dead = r.events[2]!
    assert.ok(suspect.atMs - frozenAt >= 400 && suspect.atMs - frozenAt <= 700, `suspect after ${suspect.atMs - frozenAt} ms`)
    assert.ok(dead.atMs - suspect.atMs >= 600 && dead.atMs - suspect.atMs <= 700, `dead after ${dead.atMs - suspect.atMs} ms of suspicion`)
    assert.ok(dead.atMs - frozenAt <= 1500)
    assert.deepEqual(r.closed, ['p'])
  })

  it('the pinged side of a pair: heartbeat gaps learnt, a frozen pinger is suspected then dead', () => {
    const r = rig()
    r.det.connected('q') // 'a' < 'q' but the pair hash makes q the pinger: we only hear it
    r.beating.add('q')
    r.run(3000)
    assert.equal(r.pings.filter((p) => p.peer === 'q').length, 0, 'we must not ping q')
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
    const frozenAt = r.now()
    r.beating.delete('q')
    r.run(3000)
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open', 'suspect:ping:timeout', 'dead:suspicion:timeout'])
    const dead = r.events.find((e) => e.peer === 'q' && e.state === 'dead')!
    assert.ok(dead.atMs - frozenAt <= 1500, `dead after ${dead.atMs - frozenAt} ms`)
    // And a late heartbeat within the suspicion window refutes.
    const r2 = rig()
    r2.det.connected('q')
    r2.beating.add('q')
    r2.run(3000)
    r2.beating.delete('q')
    r2.run(750)
    r2.det.heard('q')
    r2.beating.add('q')
    r2.run(2000)
    assert.deepEqual(states(r2.events, 'q'), ['alive:connection:open', 'suspect:ping:timeout', 'alive:ping:ok'])
  })

  it('a busy-but-alive peer that answers within the suspicion window is never declared dead', () => {
    const r = rig()
    r.det.connected('p')
    r.run(2000)
    // Answers arrive 900 ms late for a while: beyond the ping timeout, within timeout + suspicion.
    r.run(6000, (p) => r.now() - p.at >= 900)
    const s = states(r.events)
    assert.ok(s.includes('suspect:ping:timeout'), s.join(','))
    assert.ok(s.includes('alive:ping:ok'), s.join(','))
    assert.ok(!s.some((x) => x.startsWith('dead')), s.join(','))
    assert.ok(r.det.stats().refuted >= 1)
  })

  it('a peer reporting its own starvation (local health in its frames) gets the same patience', () => {
    const starved = rig()
    starved.det.connected('p')
    starved.run(2000, () => true, 4) // it says: my event loop is stalling
    starved.pings.length = 0
    // Silent for 2.5 s, then answers again: beyond 400 + 600 ms, within (400 + 600) × 3.
    starved.run(2500, () => false, 4)
    starved.run(1000, () => true, 4)
    assert.ok(!states(starved.events).some((x) => x.startsWith('dead')), states(starved.events).join(','))

    const healthy = rig()
    healthy.det.connected('p')
    healthy.run(2000)
    healthy.pings.length = 0
    healthy.run(2500, () => false)
    assert.ok(states(healthy.events).includes('dead:suspicion:timeout'))
  })

  it('adapts to a slow link: a steady 700 ms RTT does not raise suspicion once learnt', () => {
    const r = rig()
    r.det.connected('p')
    r.run(10_000, (p) => r.now() - p.at >= 700)
    const s = states(r.events)
    // Before enough samples the cautious 2 s maximum applies, so not even a suspicion.
    assert.deepEqual(s, ['alive:connection:open'])
  })

  it('a past burst of slow answers stops widening the timeout after rttMaxAgeMs', () => {
    // Slow (1.5 s) answers for 20 s, then fast ones: within rttMaxAgeMs of fast answers the model
    // is back to fast, so a freeze right after is suspected at the minimum timeout, not at the 2 s cap.
    const r = rig()
    r.det.connected('p')
    r.run(20_000, (p) => r.now() - p.at >= 1500)
    r.run(LIVENESS_DEFAULTS.rttMaxAgeMs + 1000)
    r.pings.length = 0
    const frozenAt = r.now()
    r.run(3000, () => false)
    const suspect = r.events.find((e) => e.state === 'suspect')
    assert.ok(suspect != null, states(r.events).join(','))
    const afterMs = suspect.atMs - frozenAt
    // Next ping within one interval (250 ms), then the 400 ms minimum timeout (+ a 50 ms tick).
    assert.ok(afterMs <= 250 + LIVENESS_DEFAULTS.minPingTimeoutMs + 100, `suspected after ${afterMs} ms`)
    assert.ok(!states(r.events).some((s) => s.startsWith('dead')) || r.events.find((e) => e.state === 'dead')!.atMs > suspect.atMs)
  })

  it('our own stall (GC, SIGSTOP of this process) does not make anyone suspect', () => {
    const r = rig()
    r.det.connected('p')
    r.det.connected('q')
    r.beating.add('q')
    r.run(2000)
    r.advance(5000) // the loop did not run for 5 s; pongs are waiting in the socket
    r.det.tick(r.now() - 5000 + 50)
    r.run(1000)
    assert.deepEqual(states(r.events, 'p'), ['alive:connection:open'])
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
    assert.ok(r.det.stats().localHealth >= 1)
    assert.ok(r.det.stats().stalledMs >= 4900)
  })

  it('connection close: redial refused or no route → dead at once; redial accepted → alive', async () => {
    const lost = rig({ confirm: 'refused' })
    lost.det.connected('p')
    lost.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(states(lost.events), ['alive:connection:open', 'suspect:connection:close', 'dead:connection:lost'])

    const gone = rig({ confirm: 'unreachable' })
    gone.det.connected('p')
    gone.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(states(gone.events), ['alive:connection:open', 'suspect:connection:close', 'dead:host:unreachable'], 'no route: dead at once, under its own reason (a cut, or a host down)')

    const back = rig({ confirm: 'connected' })
    back.det.connected('p')
    back.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(states(back.events), ['alive:connection:open', 'suspect:connection:close', 'alive:reconnected'])
  })

  it('connection close with a redial timeout (busy peer or vanished host): suspect while reconnecting, dead only after the suspicion window', async () => {
    let up = false
    const r = rig({ confirm: 'timeout', reconnect: () => up })
    r.det.connected('p')
    r.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(states(r.events), ['alive:connection:open', 'suspect:connection:close'])
    up = true // it answers the first reconnect (at 250 ms), inside the suspicion window
    for (let i = 0; i < 6; i++) { r.run(50); await new Promise((resolve) => setImmediate(resolve)) }
    assert.equal(r.reconnects(), 1)
    r.det.connected('p') // the successful dial raises the connection event
    assert.deepEqual(states(r.events), ['alive:connection:open', 'suspect:connection:close', 'alive:reconnected'])

    const gone = rig({ confirm: 'timeout' })
    gone.det.connected('p')
    gone.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 20; i++) { gone.run(50); await new Promise((resolve) => setImmediate(resolve)) }
    assert.deepEqual(states(gone.events), ['alive:connection:open', 'suspect:connection:close', 'dead:suspicion:timeout'])
  })

  it('a dead peer is redialled with capped backoff and comes back alive on reconnection', async () => {
    let up = false
    const r = rig({ confirm: 'refused', reconnect: () => up })
    r.det.connected('p')
    r.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 200; i++) { r.run(50); await new Promise((resolve) => setImmediate(resolve)) } // 10 s
    // 250, 500, 1000, 2000, 2000, ... → about 7 attempts in 10 s, not 200.
    assert.ok(r.reconnects() >= 5 && r.reconnects() <= 9, `reconnects ${r.reconnects()}`)
    up = true
    for (let i = 0; i < 60; i++) { r.run(50); await new Promise((resolve) => setImmediate(resolve)) }
    r.det.connected('p') // the successful dial raises the connection event
    assert.deepEqual(states(r.events).slice(-1), ['alive:connection:open'])
    assert.equal(r.det.stats().reconnectsPending, 0)
  })


  it('only the pinging side of a pair redials at once; the other waits the capped delay for the inbound connection', async () => {
    const r = rig({ confirm: 'refused' })
    r.det.connected('p') // 'a' pings 'p'
    r.det.connected('q') // 'q' pings 'a'
    const deadAt = r.now()
    r.det.disconnected('p')
    r.det.disconnected('q')
    await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 60; i++) { r.run(50); await new Promise((resolve) => setImmediate(resolve)) } // 3 s
    const first = (peer: string): number => (r.redials.find((d) => d.peer === peer)?.at ?? Infinity) - deadAt
    // p: the base delay (250 ms ± 20 % jitter); q: only after reconnectMaxDelayMs (± jitter), as a fallback.
    assert.ok(first('p') <= LIVENESS_DEFAULTS.reconnectBaseMs * 1.2 + 50, `p first redial at ${first('p')} ms`)
    assert.ok(first('q') >= LIVENESS_DEFAULTS.reconnectMaxDelayMs * 0.8, `q first redial at ${first('q')} ms`)
    assert.ok(first('q') <= LIVENESS_DEFAULTS.reconnectMaxDelayMs * 1.2 + 50, `q first redial at ${first('q')} ms`)
  })

  it('forgets a peer dead for longer than forgetAfterMs', async () => {
    const r = rig({ confirm: 'refused' })
    r.det.connected('p')
    r.det.disconnected('p')
    await new Promise((resolve) => setImmediate(resolve))
    r.advance(LIVENESS_DEFAULTS.forgetAfterMs)
    r.det.tick(r.now())
    assert.equal(r.det.peers().length, 0)
  })
})

// Peers that are not agents (liveness/kind.ts): a stock libp2p node never sends probe frames, so on the
// pinged side of a pair it looked frozen and was declared dead every ~3 s. 'a' pings 'p' by the pair
// rule; 'q' pings 'a'.
describe('mesh failure detector: peer kinds (injected clock)', () => {
  /** Every libp2p ping (never a probe frame) answered: what a stock node does. */
  const stock = (p: SentPing): boolean => p.method === 'ping'

  it('before kinds: a peer that never probes us on the pinged side is declared dead, again and again', () => {
    const r = rig({ confirm: 'connected' })
    r.det.connected('q')
    r.run(4000, stock)
    assert.ok(states(r.events, 'q').includes('dead:suspicion:timeout'), states(r.events, 'q').join(','))
  })

  it('identify without the probe: pinged with libp2p ping once a second, alive for a minute, kind other, not a member', () => {
    const r = rig()
    r.det.connected('q')
    r.det.learn('q', 'identify:no-probe')
    r.det.connected('p')
    r.run(60_000, (p) => p.peer === 'p' ? p.method === 'probe' : stock(p))
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
    assert.deepEqual(states(r.events, 'p'), ['alive:connection:open'])
    const toQ = r.det.stats().otherPingsSent
    assert.ok(toQ >= 58 && toQ <= 61, `${toQ} pings to q in 60 s`)
    assert.equal(r.det.stats().otherPongsReceived, toQ)
    assert.equal(r.det.kind('q'), 'other')
    assert.equal(r.det.peers().find((x) => x.peer === 'q')?.kind, 'other')
    assert.deepEqual(r.det.members().map((x) => x.peer), ['p'], 'p answered probe frames: an agent')
    assert.ok(r.events.filter((e) => e.peer === 'q').every((e) => e.kind !== 'agent'))
  })

  it('identify may come before the connection event: the kind is kept for it', () => {
    const r = rig()
    r.det.learn('q', 'identify:no-probe')
    r.det.learn('p', 'identify:probe')
    r.det.connected('q')
    r.det.connected('p')
    assert.equal(r.det.kind('q'), 'other')
    assert.deepEqual(r.det.members().map((x) => x.peer), ['p'])
    assert.equal(r.events.find((e) => e.peer === 'q')?.kind, 'other')
    r.run(10_000, (p) => p.peer === 'p' ? p.method === 'probe' : stock(p))
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
  })

  it('a refused probe negotiation on the pinging side: reclassified, its suspicion starts over, never dead', () => {
    const r = rig()
    r.det.connected('p')
    // Identify lost: probe pings go unanswered for a while, then the negotiation is refused.
    r.run(2200, stock)
    assert.deepEqual(states(r.events), ['alive:connection:open', 'suspect:ping:timeout'])
    r.det.learn('p', 'probe:unsupported')
    r.run(10_000, stock)
    assert.deepEqual(states(r.events), ['alive:connection:open', 'suspect:ping:timeout', 'alive:ping:ok'])
    assert.equal(r.det.kind('p'), 'other')
  })

  it('an unknown peer on the pinged side gets one probe negotiation after classifyAfterMs', async () => {
    const r = rig({ classify: () => false })
    r.det.connected('q')
    for (let i = 0; i < 30; i++) { r.run(50, stock); await new Promise((resolve) => setImmediate(resolve)) }
    assert.equal(r.classified.length, 1)
    const at = r.classified[0]!.at - (r.now() - 1500)
    assert.ok(at >= LIVENESS_DEFAULTS.classifyAfterMs && at <= LIVENESS_DEFAULTS.classifyAfterMs + 100, `classified at ${at} ms`)
    assert.equal(r.det.kind('q'), 'other')
    r.run(20_000, stock)
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
    // An agent's heartbeats settle its kind first: no extra negotiation.
    const agents = rig({ classify: () => true })
    agents.det.connected('q')
    agents.beating.add('q')
    agents.run(3000)
    assert.equal(agents.classified.length, 0)
    assert.equal(agents.det.kind('q'), 'agent')
  })

  it('a non-agent that stops answering ping is suspected, then dead', () => {
    const r = rig()
    r.det.connected('q')
    r.det.learn('q', 'identify:no-probe')
    r.run(10_000, stock)
    r.run(5000, () => false)
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open', 'suspect:ping:timeout', 'dead:suspicion:timeout'])
    assert.deepEqual(r.closed, ['q'])
  })

  it('a peer that refuses ping too is alive while connected and follows its connection events', async () => {
    const r = rig({ confirm: 'refused' })
    r.det.connected('q')
    r.det.learn('q', 'identify:no-probe')
    r.run(1100, () => false)
    r.det.pingUnsupported('q')
    const sent = r.det.stats().otherPingsSent
    r.run(30_000, () => false)
    assert.equal(r.det.stats().otherPingsSent, sent, 'no more pings')
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open'])
    r.det.disconnected('q')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(states(r.events, 'q'), ['alive:connection:open', 'suspect:connection:close', 'dead:connection:lost'])
    assert.equal(r.events.at(-1)?.kind, 'other')
  })

  it('agent is sticky: a late refusal (an agent stopping unregisters the probe first) does not demote it', () => {
    const r = rig()
    r.det.connected('p')
    r.run(1000)
    assert.equal(r.det.kind('p'), 'agent', 'its pongs made it an agent')
    r.det.learn('p', 'probe:unsupported')
    r.det.learn('p', 'identify:no-probe')
    assert.equal(r.det.kind('p'), 'agent')
    assert.deepEqual(r.det.members().map((x) => x.peer), ['p'])
    // And an `other` that turns out to speak the probe is an agent from then on.
    r.det.connected('q')
    r.det.learn('q', 'identify:no-probe')
    r.det.heard('q')
    assert.equal(r.det.kind('q'), 'agent')
  })

  it('kind rules: agent evidence wins, agent is sticky, others are pinged (or not probed at all)', () => {
    const table: Array<[Parameters<typeof nextKind>[0], Parameters<typeof nextKind>[1], ReturnType<typeof nextKind>]> = [
      ['unknown', 'identify:probe', 'agent'],
      ['unknown', 'identify:no-probe', 'other'],
      ['unknown', 'probe:negotiated', 'agent'],
      ['unknown', 'probe:unsupported', 'other'],
      ['unknown', 'probe:frames', 'agent'],
      ['other', 'probe:frames', 'agent'],
      ['other', 'identify:probe', 'agent'],
      ['agent', 'identify:no-probe', 'agent'],
      ['agent', 'probe:unsupported', 'agent']
    ]
    for (const [from, evidence, to] of table) assert.equal(nextKind(from, evidence), to, `${from} + ${evidence}`)
    assert.equal(probeMethod('unknown', false), 'probe')
    assert.equal(probeMethod('agent', true), 'probe')
    assert.equal(probeMethod('other', false), 'ping')
    assert.equal(probeMethod('other', true), 'none')
  })
})
