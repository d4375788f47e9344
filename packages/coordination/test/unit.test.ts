import assert from 'node:assert/strict'
import { allocate, bid, computeReputation, pickWitnesses, decodeQuestion, decodeView, encodeView, resolveTarget, takeToken, WitnessError, type Claim, type Report } from '../src/index.ts'

const c = (owner: string, hlc: string, state: Claim['state'], extra: Partial<Claim> = {}): Claim =>
  ({ target: 't', action: 'restart', owner, hlc, expiresMs: 1000, state, ...extra })

describe('coordination: pure rules', () => {
  const ctx = { nowMs: 500, isDead: (p: string) => p === 'dead' }
  const table: Array<[string, Claim[], string | undefined, number | undefined]> = [
    ['no claims', [], undefined, undefined],
    ['earliest HLC wins', [c('b', '002', 'claimed'), c('a', '003', 'claimed')], 'b', undefined],
    ['HLC tie → lowest peer id', [c('b', '002', 'claimed'), c('a', '002', 'claimed')], 'a', undefined],
    ['acting beats an earlier fresh claim', [c('a', '001', 'claimed'), c('b', '005', 'acting')], 'b', undefined],
    ['expired lease is ignored', [c('a', '001', 'acting', { expiresMs: 400 }), c('b', '005', 'claimed')], 'b', undefined],
    ['dead owner lease is ignored', [c('dead', '001', 'acting'), c('b', '005', 'claimed')], 'b', undefined],
    ['released with cooldown', [c('a', '001', 'released', { cooldownUntilMs: 900 })], undefined, 900],
    ['released cooldown over', [c('a', '001', 'released', { cooldownUntilMs: 400 })], undefined, undefined],
    ['stood down leaves no cooldown', [c('a', '001', 'released', { outcome: 'stood_down' })], undefined, undefined]
  ]
  for (const [name, claims, holder, cooling] of table) {
    it(`resolveTarget: ${name}`, () => {
      const s = resolveTarget(claims, ctx)
      assert.equal(s.holder?.owner, holder)
      assert.equal(s.coolingUntilMs, cooling)
      // Order of claims never matters.
      assert.deepEqual(resolveTarget([...claims].reverse(), ctx), s)
    })
  }

  it('token bucket: burst, then refill at the rate', () => {
    const b = { tokens: 3, lastMs: 0 }
    assert.deepEqual([1, 2, 3, 4].map(() => takeToken(b, 0, 3, 2)), [true, true, true, false])
    assert.equal(takeToken(b, 400, 3, 2), false)
    assert.equal(takeToken(b, 500, 3, 2), true)
  })

  it('auction: highest priority first, best fit wins, scarce capacity leaves the lowest waiting', () => {
    const ws = [
      { name: 'low', priority: 1, cpuMillis: 500, memoryMb: 100 },
      { name: 'high', priority: 5, cpuMillis: 500, memoryMb: 100 }
    ]
    const bidders = [
      { peer: 'p1', freeCpuMillis: 600, freeMemoryMb: 1000, reputation: 0.9 },
      { peer: 'p2', freeCpuMillis: 100, freeMemoryMb: 1000, reputation: 1 }
    ]
    assert.deepEqual([...allocate(ws, bidders)], [['high', 'p1']])
    assert.equal(bid(ws[0]!, { ...bidders[0]!, reputation: 0.1 }), 0, 'quarantined bidders do not bid')
    const more = [...bidders, { peer: 'p3', freeCpuMillis: 4000, freeMemoryMb: 4000, reputation: 0.8 }]
    assert.deepEqual([...allocate(ws, more)].sort(), [['high', 'p3'], ['low', 'p3']])
    assert.deepEqual(allocate(ws, [...more].reverse()), allocate(ws, more), 'bidder order does not matter')
  })

  it('auction: a peer bids only for the workloads it can host', () => {
    const w = { name: 'batch', priority: 1, cpuMillis: 100, memoryMb: 64 }
    const roomy = { peer: 'p1', freeCpuMillis: 8000, freeMemoryMb: 8000, reputation: 1 }
    const cases: Array<[string, ReadonlySet<string> | undefined, boolean]> = [
      ['no list: any workload', undefined, true],
      ['listed', new Set(['batch', 'other']), true],
      ['not listed', new Set(['other']), false],
      ['empty list', new Set<string>(), false]
    ]
    for (const [what, accepts, bids] of cases) assert.equal(bid(w, { ...roomy, accepts }) > 0, bids, what)
    // The roomier peer cannot host it: the smaller one that can wins.
    const plan = allocate([w], [{ ...roomy, accepts: new Set(['other']) }, { peer: 'p2', freeCpuMillis: 200, freeMemoryMb: 100, reputation: 0.5, accepts: new Set(['batch']) }])
    assert.deepEqual([...plan], [['batch', 'p2']])
  })

  it('reputation: a liar contradicted by direct observations ends lowest; its victims stay trusted', () => {
    const reports = new Map<string, Map<string, Report>>()
    const honest = ['a', 'b', 'c', 'd']
    const victims = ['v1', 'v2']
    for (const h of honest) reports.set(h, new Map(victims.map((v) => [v, { a: 10, b: 0, atMs: 0 }])))
    for (const h of honest) for (const o of honest) if (o !== h) reports.get(h)!.set(o, { a: 5, b: 0, atMs: 0 })
    reports.set('liar', new Map([...victims, ...honest].map((v) => [v, { a: 0, b: 40, atMs: 0 }])))
    const r = computeReputation(reports, 0, { halfLifeMs: 1e9, quarantineBelow: 0.3, minEvidence: 3, disagreementGain: 2 })
    const sorted = [...r.values()].sort((x, y) => x.score - y.score)
    assert.equal(sorted[0]!.peer, 'liar')
    assert.equal(r.get('liar')!.credibility, 0)
    for (const v of [...victims, ...honest]) assert.equal(r.get(v)!.quarantined, false, v)
    assert.ok(r.get('v1')!.score > 0.8)
  })

  it('reputation: evidence decays with the half-life', () => {
    const reports = new Map([['a', new Map([['x', { a: 0, b: 8, atMs: 0 }]])]])
    const opts = { halfLifeMs: 1000, quarantineBelow: 0.3, minEvidence: 3, disagreementGain: 2 }
    assert.ok(computeReputation(reports, 0, opts).get('x')!.quarantined)
    assert.ok(Math.abs(computeReputation(reports, 2000, opts).get('x')!.evidence - 2) < 1e-9, 'evidence is 8 halved twice')
    assert.equal(computeReputation(reports, 2000, opts).get('x')!.quarantined, false)
  })

  it('witness messages: a view round-trips in one byte; a malformed answer or question is a WitnessError', () => {
    for (const v of ['alive', 'suspect', 'dead', 'unknown'] as const) assert.equal(decodeView(encodeView(v)), v)
    for (const bad of [new Uint8Array(0), Uint8Array.of(4), Uint8Array.of(1, 1)]) {
      assert.throws(() => decodeView(bad), (err: unknown) => err instanceof WitnessError && err.code === 'ERR_WITNESS')
    }
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t)
    assert.equal(decodeQuestion(enc('12D3KooWQ9zJ3xQhPx8aH1x9qJm2Uu6W4cVbXyZkLm3NoPqRsTuV')), '12D3KooWQ9zJ3xQhPx8aH1x9qJm2Uu6W4cVbXyZkLm3NoPqRsTuV')
    for (const bad of [enc(''), enc('x'.repeat(129)), enc('two words'), enc('nul\u0000'), Uint8Array.of(0xff, 0xfe)]) {
      assert.throws(() => decodeQuestion(bad), (err: unknown) => err instanceof WitnessError && err.code === 'ERR_WITNESS')
    }
  })

  describe('pickWitnesses: peers back from the dead since we lost the owner come first', () => {
    const returned = new Map([['b1', 5000], ['b2', 7000], ['old', 1000]])
    const cases: Array<{ name: string, candidates: string[], k: number, lostAt: number | undefined, first: string[], size: number }> = [
      { name: 'the two that came back after the owner was lost at 4000 lead', candidates: ['a1', 'a2', 'b1', 'a3', 'b2', 'old'], k: 3, lostAt: 4000, first: ['b1', 'b2'], size: 3 },
      { name: 'one came back after a later loss (6000): only it leads', candidates: ['a1', 'b1', 'b2', 'a2'], k: 2, lostAt: 6000, first: ['b2'], size: 2 },
      { name: 'owner never lost here: no preference', candidates: ['a1', 'b1', 'b2'], k: 3, lostAt: undefined, first: [], size: 3 },
      { name: 'fewer candidates than k', candidates: ['b1'], k: 3, lostAt: 4000, first: ['b1'], size: 1 },
      { name: 'k = 0 asks nobody', candidates: ['a1', 'b1'], k: 0, lostAt: 4000, first: [], size: 0 }
    ]
    for (const c of cases) {
      it(c.name, () => {
        for (let seed = 1; seed <= 20; seed++) {
          let x = seed
          const random = (): number => { x = (x * 16807) % 2147483647; return x / 2147483647 }
          const got = pickWitnesses(c.candidates, c.k, c.lostAt, returned, random)
          assert.equal(got.length, c.size)
          assert.equal(new Set(got).size, got.length, 'no witness twice')
          assert.ok(got.every((p) => c.candidates.includes(p)))
          assert.deepEqual(new Set(got.slice(0, c.first.length)), new Set(c.first), `seed ${seed}: ${got.join(',')}`)
        }
      })
    }
  })
})
