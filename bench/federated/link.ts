// The bench's stand-in for the mesh's Yjs replication: live updates go to
// every connected replica (gossip); a replica that reconnects exchanges
// state vectors with each connected peer and receives only what it missed
// (the catch-up the coordination package does over a direct stream).
import * as Y from 'yjs'

export interface Link {
  connect: (i: number) => void
  disconnect: (i: number) => void
  connected: (i: number) => boolean
  /** Bytes moved (gossip + catch-up). */
  bytes: () => number
  /** Queues gossip instead of delivering it (messages in flight during a training round)… */
  hold: () => void
  /** …and delivers what was queued, to replicas still connected. */
  release: () => void
}

export function linkDocs (docs: Y.Doc[]): Link {
  const REMOTE = Symbol('remote')
  const online = docs.map(() => true)
  let bytes = 0
  let held: Array<{ from: number, update: Uint8Array }> | undefined
  const deliver = (i: number, update: Uint8Array): void => {
    docs.forEach((other, j) => {
      if (j === i || !online[j]) return
      bytes += update.byteLength
      Y.applyUpdate(other, update, REMOTE)
    })
  }
  docs.forEach((doc, i) => {
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE || !online[i]) return
      if (held !== undefined) held.push({ from: i, update })
      else deliver(i, update)
    })
  })
  return {
    connect (i) {
      if (online[i]) return
      online[i] = true
      docs.forEach((other, j) => {
        if (j === i || !online[j]) return
        const toI = Y.encodeStateAsUpdate(other, Y.encodeStateVector(docs[i]!))
        const toOther = Y.encodeStateAsUpdate(docs[i]!, Y.encodeStateVector(other))
        bytes += toI.byteLength + toOther.byteLength
        Y.applyUpdate(docs[i]!, toI, REMOTE)
        Y.applyUpdate(other, toOther, REMOTE)
      })
    },
    disconnect (i) { online[i] = false },
    hold () { held ??= [] },
    release () {
      const queued = held ?? []
      held = undefined
      for (const { from, update } of queued) if (online[from]) deliver(from, update)
    },
    connected: (i) => online[i]!,
    bytes: () => bytes
  }
}
