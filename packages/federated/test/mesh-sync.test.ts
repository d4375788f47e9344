// The federated state replicated by the coordination package over the
// simulated mesh (the same code runs over libp2p in the agent): key
// ownership (each peer writes and deletes only `<self>/…`), checkpoints,
// quarantine and owner-side garbage collection all pass its checks.
import { strict as assert } from 'node:assert'
import { encode } from '@homeostat/hlc'
import { createSimulatedNetwork } from '@homeostat/mesh'
import { createReplicatedDoc } from '@homeostat/coordination'
import { createContribution, createFederatedState, type FederatedState } from '@homeostat/federated'
import { vec, P } from './helpers.ts'

describe('federated: state replicated over the mesh by coordination', () => {
  it('edges contribute, the cloud compacts and quarantines, owners collect garbage; replicas converge with no rejections', async () => {
    const net = createSimulatedNetwork({ seed: 21 })
    const ids = ['edgeA', 'edgeB', 'cloud']
    const nodes = ids.map((id) => net.addNode({ id }))
    const rejects: string[] = []
    const docs = nodes.map((n) => createReplicatedDoc({
      mesh: n.mesh, name: 'federated', roots: ['contributions', 'checkpoints', 'quarantine'], timers: n.timers, now: n.now,
      onReject: (peer, reason, detail) => rejects.push(`${peer}:${reason}:${detail}`)
    }))
    const states: FederatedState[] = docs.map((d, i) => createFederatedState({ doc: d.doc, self: ids[i]!, parameterCount: P, trustCheckpointAuthor: (a) => a === 'cloud' }))
    for (const n of nodes) await n.mesh.start()
    await Promise.all([...docs.map((d) => d.start()), net.runFor(3000)])
    for (let r = 0; r < 6; r++) {
      for (const i of [0, 1]) {
        states[i]!.add(createContribution({ node: ids[i]!, round: r, baseVersion: r - 1, values: vec((k) => ((k + r + i) % 7) / 100), samples: 100, loss: 1, hlc: encode(nodes[i]!.hlc.now()), encoding: 'q8' }))
      }
      await net.runFor(500)
    }
    states[2]!.compact(3, encode(nodes[2]!.hlc.now()))
    states[2]!.quarantine(['edgeB/5'], 'test')
    await net.runFor(2000)
    for (const s of states) s.collectGarbage()
    await net.runFor(3000)
    assert.deepEqual(rejects, [])
    const hashes = states.map((s) => Buffer.from(s.model().params.buffer).toString('hex'))
    assert.ok(hashes.every((h) => h === hashes[0]), 'replicas converge')
    assert.equal(states[0]!.latestCheckpoint().version, 3)
    assert.ok(!states[0]!.model().applied.includes('edgeB/5'))
    assert.equal(docs[0]!.doc.getMap('contributions').size, 4, 'rounds 0–3 collected by their owners; 4–5 of both edges remain')
    for (const d of docs) d.stop()
  })
})
