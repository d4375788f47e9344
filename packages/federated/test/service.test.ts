import { strict as assert } from 'node:assert'
import * as Y from 'yjs'
import { createHlc, encode } from '@homeostat/hlc'
import { createFederatedService, loadMnist, splitNonIid, type FederatedEvent } from '@homeostat/federated'
import { syncAll } from './helpers.ts'

describe('federated: service', function () {
  this.timeout(60_000)
  it('edge agents train on their timer, the validator adopts versions and compacts; status is plain data', async () => {
    const split = splitNonIid(loadMnist(), { nodes: 2, seed: 9, referenceSize: 300, testSize: 300 })
    let nowMs = 1_700_000_000_000
    const pending: Array<{ at: number, fn: () => void }> = []
    const timers = {
      setTimeout: (fn: () => void, ms: number) => { const t = { at: nowMs + ms, fn }; pending.push(t); return t },
      clearTimeout: (h: unknown) => { const i = pending.indexOf(h as never); if (i >= 0) pending.splice(i, 1) }
    }
    const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
    const events: FederatedEvent[] = []
    const mk = (i: number, role: 'edge' | 'cloud') => {
      const hlc = createHlc({ nodeId: `${role}${i}`, now: () => nowMs })
      return createFederatedService({
        node: `${role}${i}`, train: role === 'edge', validate: role === 'cloud', doc: docs[i]!, stamp: () => encode(hlc.now()), seed: i,
        ...(role === 'edge' ? { data: split.nodes[i]! } : {}), reference: split.reference, test: split.test,
        timers, now: () => nowMs, options: { roundIntervalMs: 1000, compactEveryRounds: 4, retainRounds: 2, samplesPerRound: 150 },
        onEvent: (e) => events.push(e)
      })
    }
    const services = [mk(0, 'edge'), mk(1, 'edge'), mk(2, 'cloud')]
    for (const s of services) s.start()
    for (let tick = 0; tick < 10; tick++) {
      nowMs += 1000
      for (const t of pending.splice(0).filter((t) => t.at <= nowMs)) t.fn()
      await new Promise((resolve) => setImmediate(resolve))
      syncAll(docs)
    }
    for (const s of services) s.stop()
    const cloud = services[2]!.status()
    assert.equal(cloud.validating, true)
    assert.ok(cloud.modelVersion >= 7, `model version ${cloud.modelVersion}`)
    assert.ok(cloud.checkpointVersion >= 0, 'compacted at least once')
    assert.ok((cloud.accuracy ?? 0) > 0.5)
    assert.ok(events.some((e) => e.type === 'canary' && e.decision.verdict === 'adopted'))
    assert.ok(events.some((e) => e.type === 'compacted'))
    const edge = services[0]!.status()
    assert.equal(edge.training, true)
    assert.ok(edge.round >= 8)
    assert.equal(pending.length, 0, 'stop() cancels the timer')
  })
})
