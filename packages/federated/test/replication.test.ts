import { strict as assert } from 'node:assert'
import { createSimulatedNetwork } from '@homeostat/mesh'
import { createCheckpoint, createCheckpointReplicator, type CheckpointReplicator } from '@homeostat/federated'
import { vec, P } from './helpers.ts'

describe('federated: checkpoint replication over the (simulated) mesh', () => {
  it('stores each checkpoint on the k most reputable live peers, more for production, and restores after a disk loss', async () => {
    const net = createSimulatedNetwork({ seed: 5 })
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => net.addNode({ id }))
    const reputation: Record<string, number> = { a: 0.5, b: 0.9, c: 0.2, d: 0.8, e: 0.7 }
    const reps: CheckpointReplicator[] = nodes.map((n) => createCheckpointReplicator({ mesh: n.mesh, parameterCount: P, reputation: (p) => reputation[p] ?? 0 }))
    for (const n of nodes) await n.mesh.start()
    for (const r of reps) r.start()
    await net.runFor(3000)
    const cp = createCheckpoint({ version: 7, params: vec([0.25, -0.5]), hlc: 'h' })
    const p1 = reps[0]!.replicate(cp)
    await net.runFor(1000)
    const r1 = await p1; assert.deepEqual(r1.stored, ['b', 'd'], JSON.stringify(r1))
    const p2 = reps[0]!.replicate(createCheckpoint({ ...cp, version: 8 }), { production: true })
    await net.runFor(1000)
    assert.deepEqual((await p2).stored, ['b', 'd', 'e'])
    // Node a loses its disk: it restores the newest checkpoint from its peers.
    const restored = reps[0]!.restore()
    await net.runFor(2000)
    assert.equal((await restored)?.version, 8)
  })

  it('refuses to store a checkpoint on behalf of someone else or one that fails its hash', async () => {
    const net = createSimulatedNetwork({ seed: 6 })
    const [a, b] = ['a', 'b'].map((id) => net.addNode({ id }))
    const rb = createCheckpointReplicator({ mesh: b!.mesh, parameterCount: P, reputation: () => 1 })
    for (const n of [a!, b!]) await n.mesh.start()
    rb.start()
    await net.runFor(2000)
    const { REPLICATION_PROTOCOL, encodeCheckpoint } = await import('@homeostat/federated')
    const bytes = encodeCheckpoint(createCheckpoint({ version: 1, params: vec([1]), hlc: 'h' }))
    const frame = (owner: string, payload: Uint8Array): Uint8Array => {
      const id = new TextEncoder().encode(owner)
      const out = new Uint8Array(3 + id.length + payload.length)
      out[0] = 1; new DataView(out.buffer).setUint16(1, id.length); out.set(id, 3); out.set(payload, 3 + id.length)
      return out
    }
    const forged = a!.mesh.request('b', REPLICATION_PROTOCOL, frame('c', bytes))
    const corrupt = bytes.slice(); corrupt[corrupt.length - 1] ^= 1
    const bad = a!.mesh.request('b', REPLICATION_PROTOCOL, frame('a', corrupt))
    await net.runFor(1000)
    assert.equal((await forged)[0], 0)
    assert.equal((await bad)[0], 0)
    assert.deepEqual(rb.held(), {})
    assert.equal(rb.stats().rejected, 2)
  })
})
