// The intervention claims around the recovery policy (src/loops/meso/claims.ts), on a
// scripted registry and virtual time: a shared component is claimed fleet-wide
// and never acted on alone; a node that loses the claim waits for the other's
// restart and stands by when it is healthy again; a node-local target keeps its
// own key and acts alone when the registry does not answer.
import assert from 'node:assert/strict'
import pino from 'pino'
import type { Coordinator, Claim } from '@homeostat/coordination'
import type { Incident, PlannedAction, RecoveryPolicy } from '@homeostat/interface'
import { CLAIM_DEFAULTS, hasMajority, withClaims, type Quorum } from '../src/loops/meso/claims.ts'
import { quorumOf } from '../src/loops/meso/index.ts'

type ClaimResult = Awaited<ReturnType<Coordinator['registry']['claim']>>
type CheckResult = ReturnType<Coordinator['registry']['check']>

const holder = (owner: string): Claim => ({ target: 'shared/store', action: 'restart', owner, hlc: '0', expiresMs: 0, state: 'acting' })

function harness (o: { claims: Array<ClaimResult | Error>, check?: (nowMs: number) => CheckResult, healthy?: (nowMs: number) => boolean, shared?: boolean, claimDelayMs?: number, quorum?: (nowMs: number) => Quorum | undefined, coordinatorFrom?: (nowMs: number) => 'ready' | 'missing' | 'throws', meshExpected?: boolean }) {
  let nowMs = 0
  const calls: Array<{ key: string, cooldownMs?: number }> = []
  const releases: Array<{ key: string, outcome: string, cooldownMs?: number }> = []
  const cancels: string[] = []
  const coord = {
    peerId: 'P1',
    registry: {
      async claim (key: string, _action: string, opts: { cooldownMs?: number }) {
        calls.push({ key, ...(opts.cooldownMs != null ? { cooldownMs: opts.cooldownMs } : {}) })
        if (o.claimDelayMs != null) await new Promise((resolve) => setTimeout(resolve, o.claimDelayMs))
        const r = o.claims.shift() ?? { granted: false, reason: 'in_progress', holder: holder('n9') }
        if (r instanceof Error) throw r
        return r
      },
      check: () => o.check?.(nowMs) ?? { free: true },
      release (key: string, outcome: string, opts: { cooldownMs?: number }) { releases.push({ key, outcome, ...(opts.cooldownMs != null ? { cooldownMs: opts.cooldownMs } : {}) }) }
    }
  } as unknown as Coordinator
  const plan: PlannedAction = { action: 'restart', target: 'store', reason: 'probes fail', requiresApproval: false, alternatives: [] }
  const inner: RecoveryPolicy = {
    plan: async () => ({ ...plan }),
    record: () => {},
    cancel: (_id, action, reason) => { cancels.push(`${action}: ${reason}`) }
  }
  const policy = withClaims(inner, {
    node: 'n1',
    coordinator: () => {
      const c = o.coordinatorFrom?.(nowMs) ?? 'ready'
      if (c === 'missing') return undefined
      // A coordinator whose start has not finished: its registry getter throws, as @homeostat/coordination's does.
      if (c === 'throws') return { peerId: 'P1', get registry (): never { throw new Error('coordinator not started') } } as unknown as Coordinator
      return coord
    },
    meshExpected: () => o.meshExpected ?? true,
    logger: pino({ level: 'silent' }),
    isShared: () => o.shared ?? true,
    healthy: async () => o.healthy?.(nowMs) ?? false,
    sharedCooldownMs: () => 5000,
    peerName: (peer) => peer === 'n3' ? 'edge-3' : undefined,
    quorum: () => o.quorum?.(nowMs),
    now: () => nowMs,
    sleep: async (ms) => { nowMs += ms }
  })
  const incident = { id: 'i1', component: 'store' } as Incident
  const run = async (): Promise<PlannedAction> => await policy.plan({ incident, diagnosis: {} as never, attempted: [], available: ['restart'] })
  return { run, policy, calls, releases, cancels, now: () => nowMs }
}

describe('agent: intervention claims (shared and node-local targets)', () => {
  it('a shared component is claimed fleet-wide (shared/NAME, the shared cooldown) and released with the outcome', async () => {
    const h = harness({ claims: [{ granted: true, claim: holder('n1') }] })
    const p = await h.run()
    assert.equal(p.action, 'restart')
    assert.match(p.reason, /claimed shared\/store for the fleet/)
    assert.deepEqual(h.calls, [{ key: 'shared/store', cooldownMs: 5000 }])
    h.policy.record({ incidentId: 'i1', node: 'n1', component: 'store', failureClass: 'unhealthy', action: 'restart', success: true, durationMs: 1, cost: {} as never, hlc: '0' })
    assert.deepEqual(h.releases, [{ key: 'shared/store', outcome: 'recovered', cooldownMs: 5000 }])
  })

  it('another node holds it: wait for its release, and stand by (no action) when the component is healthy again', async () => {
    // n3 restarts it; its release (cooling down) shows at t = 2 s; healthy from then on.
    const h = harness({
      claims: [{ granted: false, reason: 'in_progress', holder: holder('n3') }],
      check: (t) => t < 2000 ? { free: false, reason: 'in_progress', holder: holder('n3') } : { free: false, reason: 'cooling_down', untilMs: 7000 },
      healthy: (t) => t >= 2000
    })
    const p = await h.run()
    assert.equal(p.action, 'none')
    assert.match(p.reason, /another node \(edge-3\) restarted it and it is healthy again/, 'named by node name')
    assert.ok(h.now() >= 2000 && h.now() < 2000 + 2 * CLAIM_DEFAULTS.sharedPollMs, `stood by at ${h.now()} ms`)
    assert.equal(h.calls.length, 1, 'claimed once')
    assert.deepEqual(h.cancels, [`restart: ${p.reason}`], 'the policy learns its action will not run')
  })

  it('still failing after the other node\'s restart: wait out the cooldown, then claim again', async () => {
    const h = harness({
      claims: [{ granted: false, reason: 'cooling_down', untilMs: 6000 }, { granted: true, claim: holder('n1') }],
      check: (t) => t < 6000 ? { free: false, reason: 'cooling_down', untilMs: 6000 } : { free: true },
      healthy: () => false
    })
    const p = await h.run()
    assert.equal(p.action, 'restart')
    assert.ok(h.now() >= 6000, `claimed again only after the cooldown (at ${h.now()} ms)`)
    assert.equal(h.calls.length, 2)
  })

  it('never acts alone on a shared component: a registry error is retried, a claim that never comes escalates', async () => {
    const h = harness({ claims: [new Error('registry stopped')], check: () => ({ free: false, reason: 'in_progress', holder: holder('n9') }) })
    const p = await h.run()
    assert.equal(p.action, 'escalate')
    assert.match(p.reason, /stood down: no fleet claim within 120 s \(last holder n9\) and it is still unhealthy/)
    assert.ok(h.now() >= CLAIM_DEFAULTS.sharedMaxWaitMs)
    assert.ok(h.calls.length >= 2, 'tried again after the error')
    const stopped = harness({ claims: [{ granted: false, reason: 'stopped' }] })
    const q = await stopped.run()
    assert.equal(q.action, 'escalate')
    assert.match(q.reason, /the registry is stopped/)
    assert.equal(stopped.now(), 0, 'at once')
  })

  it('majority: strictly more than half of the known members, itself included', () => {
    const cases: Array<[Quorum, boolean, string]> = [
      [{ reachable: 1, members: 1 }, true, 'a fleet of one'],
      [{ reachable: 1, members: 2 }, false, 'one of two: a cut and a death look alike'],
      [{ reachable: 2, members: 2 }, true, 'both'],
      [{ reachable: 2, members: 4 }, false, 'an even split: neither side'],
      [{ reachable: 3, members: 5 }, true, 'the larger side of 5'],
      [{ reachable: 2, members: 5 }, false, 'the smaller side of 5'],
      [{ reachable: 11, members: 20 }, true, '11 of 20']
    ]
    for (const [q, want, what] of cases) assert.equal(hasMajority(q), want, what)
  })

  it('in a minority (a partition\'s smaller side) a shared component is not restarted: it waits, stands by if it recovers, claims once a majority is back', async () => {
    // The other side restarts it: healthy again after 5 s; this side never claimed.
    const healed = harness({ claims: [], quorum: () => ({ reachable: 2, members: 5 }), healthy: (t) => t >= 5000 })
    const p = await healed.run()
    assert.equal(p.action, 'none')
    assert.match(p.reason, /store is shared and healthy again \(this node reached 2 of 5 members, too few to restart it\)/)
    assert.equal(healed.calls.length, 0, 'no claim from the minority side')
    assert.ok(healed.now() >= 5000 && healed.now() <= 5000 + CLAIM_DEFAULTS.quorumPollMs)
    // The cut heals after 10 s and it is still failing: now it claims, as any node would.
    const back = harness({ claims: [{ granted: true, claim: holder('n1') }], quorum: (t) => t < 10_000 ? { reachable: 2, members: 5 } : { reachable: 5, members: 5 } })
    const q = await back.run()
    assert.equal(q.action, 'restart')
    assert.deepEqual(back.calls.map((c) => c.key), ['shared/store'])
    assert.ok(back.now() >= 10_000)
    // Never a majority and never healthy: escalate, saying why.
    const alone = harness({ claims: [], quorum: () => ({ reachable: 1, members: 2 }) })
    const r = await alone.run()
    assert.equal(r.action, 'escalate')
    assert.match(r.reason, /restart store \(shared\) stood down: this node reaches only 1 of 2 fleet members \(no majority to restart it\) and it is still unhealthy after 120 s/)
    assert.equal(alone.calls.length, 0)
    assert.deepEqual(alone.cancels.length, 1, 'the policy hears its plan was not carried out')
  })

  it('a node-local target keeps its own key (node:PEER/NAME, no cooldown) and acts alone when the registry is too slow', async () => {
    const h = harness({ shared: false, claims: [{ granted: true, claim: holder('n1') }] })
    const p = await h.run()
    assert.equal(p.action, 'restart')
    assert.deepEqual(h.calls, [{ key: 'node:P1/store', cooldownMs: CLAIM_DEFAULTS.localCooldownMs }], 'a target only this node (peer P1) may claim')
    const slow = harness({ shared: false, claims: [{ granted: true, claim: holder('n1') }], claimDelayMs: CLAIM_DEFAULTS.claimTimeoutMs + 200 })
    const q = await slow.run()
    assert.equal(q.action, 'restart', 'acts alone: its own component has no other healer')
    assert.doesNotMatch(q.reason, /claimed/)
  })

  it('a mesh still starting never drops a plan: a local target is acted on alone, a shared one waits for the claim', async () => {
    // The registry throws 'coordinator not started' (a component that fails in the agent's first seconds).
    const local = harness({ shared: false, claims: [], coordinatorFrom: () => 'throws' })
    const p = await local.run()
    assert.equal(p.action, 'restart', 'acts alone on its own component')
    assert.equal(local.cancels.length, 0)
    // No coordinator yet for 2 s, then a ready one: the shared restart waits for it and claims fleet-wide.
    const shared = harness({ claims: [{ granted: true, claim: holder('n1') }], coordinatorFrom: (t) => t < 2000 ? 'missing' : 'ready' })
    const q = await shared.run()
    assert.equal(q.action, 'restart')
    assert.deepEqual(shared.calls.map((c) => c.key), ['shared/store'])
    assert.ok(shared.now() >= 2000, 'it waited for the mesh')
    // The mesh never comes up: stand down, saying why, and the policy hears it.
    const never = harness({ claims: [], coordinatorFrom: () => 'missing' })
    const r = await never.run()
    assert.equal(r.action, 'escalate')
    assert.match(r.reason, /the mesh did not start within 120 s/)
    assert.equal(never.cancels.length, 1)
    // Without a mesh configured there is no one to wait for: act alone at once.
    const alone = harness({ claims: [], coordinatorFrom: () => 'missing', meshExpected: false })
    assert.equal((await alone.run()).action, 'restart')
    assert.equal(alone.now(), 0)
  })

  it('quorum: agents reachable of agents known; a peer that is no agent (a stock libp2p node with the key) is never a member', () => {
    const peers = [
      { peer: 'a', state: 'alive', kind: 'agent' },
      { peer: 'b', state: 'dead', kind: 'agent' }, // cut off: still a member
      { peer: 'c', state: 'dead', kind: 'agent' }, // its host refused the redial: stopped, not a member
      { peer: 'd', state: 'alive', kind: 'agent' }, // leaving gracefully
      { peer: 'tool', state: 'alive', kind: 'other' }, // a monitoring tool holding the swarm key
      { peer: 'new', state: 'alive', kind: 'unknown' } // connected a millisecond ago, not identified yet
    ]
    const q = quorumOf(peers, (p) => p === 'd', (p) => p === 'c')
    assert.deepEqual(q, { reachable: 3, members: 4 }, 'self + a + new reachable; + b known')
    assert.equal(hasMajority(q), true)
    // Without the rule, the tool's presence would change the majority.
    assert.deepEqual(quorumOf(peers.filter((p) => p.peer !== 'tool'), (p) => p === 'd', (p) => p === 'c'), q)
  })
})
