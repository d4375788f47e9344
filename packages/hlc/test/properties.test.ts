// Property tests: many simulated nodes whose physical clocks drift and jump,
// exchanging messages in a random schedule. fast-check prints the seed and
// the shrunk counterexample on failure; replay with { seed, path }.
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import {
  createHlc, compare, compareClock, encode, decode, toBytes, fromBytes,
  HlcClockOffsetError, type Hlc, type HlcTimestamp
} from '@homeostat/hlc'

const MAX_OFFSET_MS = 500

interface SimNode {
  hlc: Hlc
  /** This node's physical clock reading. */
  pt: number
  /** Largest physical reading so far (physical clocks may jump back). */
  ptMax: number
  last?: HlcTimestamp
  /** Vector clock for ground-truth happened-before. */
  vc: number[]
}

type Op =
  | { kind: 'tick', node: number, advanceMs: number }
  | { kind: 'jump', node: number, deltaMs: number }
  | { kind: 'local', node: number }
  | { kind: 'send', from: number, to: number }
  | { kind: 'deliver', index: number }

const nodeCount = 6
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // drift: clocks advance at different rates
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.nat(nodeCount - 1), advanceMs: fc.integer({ min: 0, max: 40 }) }) },
  // jumps: NTP corrections, both directions, up to 2 s back and 300 ms forward
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('jump' as const), node: fc.nat(nodeCount - 1), deltaMs: fc.integer({ min: -2000, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('local' as const), node: fc.nat(nodeCount - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.nat(nodeCount - 1), to: fc.nat(nodeCount - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), index: fc.nat(1000) }) }
)

/** a happened-before b by vector clocks. */
function happenedBefore (a: number[], b: number[]): boolean {
  let strictly = false
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) return false
    if (a[i]! < b[i]!) strictly = true
  }
  return strictly
}

function runSchedule (initialSkews: number[], ops: Op[]): void {
  const base = 1_700_000_000_000
  const nodes: SimNode[] = initialSkews.map((skew, i) => {
    const node: SimNode = { pt: base + skew, ptMax: base + skew, vc: new Array(nodeCount).fill(0), hlc: undefined as unknown as Hlc }
    node.hlc = createHlc({ nodeId: `n${i}`, now: () => node.pt, maxOffsetMs: MAX_OFFSET_MS })
    return node
  })
  const inFlight: Array<{ to: number, t: HlcTimestamp, vc: number[] }> = []
  const events: Array<{ t: HlcTimestamp, vc: number[] }> = []

  const record = (n: SimNode, t: HlcTimestamp): void => {
    // monotonic per node
    if (n.last !== undefined) assert.equal(compare(n.last, t), -1, `not monotonic: ${encode(n.last)} then ${encode(t)}`)
    n.last = t
    // l never lags the physical clock, and stays within the max offset of the largest physical reading seen plus any backward jumps (none here beyond ptMax)
    assert.ok(t.wallMs >= n.pt, 'l below physical time')
    assert.ok(t.wallMs - n.ptMax <= MAX_OFFSET_MS, `|l - pt| = ${t.wallMs - n.ptMax} exceeds the max offset`)
    events.push({ t, vc: [...n.vc] })
  }

  for (const op of ops) {
    switch (op.kind) {
      case 'tick': { const n = nodes[op.node]!; n.pt += op.advanceMs; n.ptMax = Math.max(n.ptMax, n.pt); break }
      case 'jump': { const n = nodes[op.node]!; n.pt = Math.max(0, n.pt + op.deltaMs); n.ptMax = Math.max(n.ptMax, n.pt); break }
      case 'local': {
        const n = nodes[op.node]!
        n.vc[op.node]!++
        record(n, n.hlc.now())
        break
      }
      case 'send': {
        const n = nodes[op.from]!
        n.vc[op.from]!++
        const t = n.hlc.now()
        record(n, t)
        inFlight.push({ to: op.to, t, vc: [...n.vc] })
        break
      }
      case 'deliver': {
        if (inFlight.length === 0) break
        const [msg] = inFlight.splice(op.index % inFlight.length, 1)
        const n = nodes[msg!.to]!
        const before = n.hlc.peek()
        let t: HlcTimestamp
        try {
          t = n.hlc.receive(msg!.t)
        } catch (err) {
          // Only a too-far-ahead sender is refused, and the clock must not move.
          assert.ok(err instanceof HlcClockOffsetError)
          assert.ok(msg!.t.wallMs - n.pt > MAX_OFFSET_MS)
          assert.deepEqual(n.hlc.peek(), before)
          break
        }
        for (let i = 0; i < nodeCount; i++) n.vc[i] = Math.max(n.vc[i]!, msg!.vc[i]!)
        n.vc[msg!.to]!++
        record(n, t)
        // every receive is later than the message it received
        assert.equal(compareClock(msg!.t, t), -1)
        break
      }
    }
  }
  // happened-before is preserved: e → f implies hlc(e) < hlc(f)
  for (const e of events) {
    for (const f of events) {
      if (happenedBefore(e.vc, f.vc)) assert.equal(compare(e.t, f.t), -1, `hb violated: ${encode(e.t)} !< ${encode(f.t)}`)
    }
  }
}

describe('hlc: properties (drifting and jumping clocks, random schedules)', () => {
  it('monotonic, receive-after-send, happened-before preserved, bounded offset', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -400, max: 400 }), { minLength: nodeCount, maxLength: nodeCount }),
        fc.array(opArb, { minLength: 1, maxLength: 300 }),
        (skews, ops) => { runSchedule(skews, ops) }
      ),
      { numRuns: 300 }
    )
  })

  it('refuses remotes beyond the max offset without moving, and counts them', () => {
    fc.assert(fc.property(fc.integer({ min: MAX_OFFSET_MS + 1, max: 10 ** 9 }), fc.nat(1000), (ahead, logical) => {
      const clock = createHlc({ nodeId: 'a', now: () => 5_000_000, maxOffsetMs: MAX_OFFSET_MS })
      const before = clock.now()
      assert.throws(() => clock.receive({ wallMs: 5_000_000 + ahead, logical, node: 'b' }), { code: 'HLC_CLOCK_OFFSET' })
      assert.deepEqual(clock.peek(), before)
      assert.equal(clock.stats().offsetRejected, 1)
    }))
  })

  const tsArb = fc.record({
    wallMs: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    logical: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    node: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 })
  })

  it('string and byte encodings round-trip', () => {
    fc.assert(fc.property(tsArb, (t) => {
      assert.deepEqual(decode(encode(t)), { ...t })
      assert.deepEqual(fromBytes(toBytes(t)), { ...t })
    }), { numRuns: 1000 })
  })

  it('encoding order equals clock order (strings and bytes)', () => {
    fc.assert(fc.property(tsArb, tsArb, (a, b) => {
      const want = compare(a, b)
      const ea = encode(a); const eb = encode(b)
      assert.equal(Math.sign(ea < eb ? -1 : ea > eb ? 1 : 0), want)
      assert.equal(Math.sign(Buffer.compare(Buffer.from(toBytes(a)), Buffer.from(toBytes(b)))), want)
    }), { numRuns: 2000 })
  })
})

describe('hlc: limits', () => {
  it('throws instead of overflowing the logical counter', () => {
    const clock = createHlc({ nodeId: 'a', now: () => 10 })
    clock.receive({ wallMs: 10, logical: 2 ** 32 - 2, node: 'b' })
    assert.throws(() => clock.now(), { code: 'HLC_LOGICAL_OVERFLOW' })
  })

  it('rejects malformed encodings with a coded error', () => {
    for (const bad of ['', 'zz', '0'.repeat(20), 'G'.repeat(21), '0'.repeat(20) + ' x']) {
      assert.throws(() => decode(bad), { code: 'HLC_ENCODING' }, bad)
    }
  })

  it('rejects a physical clock that returns garbage', () => {
    const clock = createHlc({ nodeId: 'a', now: () => Number.NaN })
    assert.throws(() => clock.now(), { code: 'HLC_PHYSICAL_TIME' })
  })
})
