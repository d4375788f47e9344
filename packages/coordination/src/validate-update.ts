// Authorisation of remote Yjs updates. Every top-level type is a Y.Map whose
// keys start with the owning peer id (`<owner>/<rest>`); a peer may only write
// its own keys. Gossiped updates are signed by the mesh, so the sender must own
// every key it touches and every item it deletes. Catch-up responses relay
// other peers' items; there each Yjs client id is bound to the owner of the
// first key it wrote and must never write another owner's key.
import * as Y from 'yjs'
import type { RejectReason } from './errors.ts'

export type CheckResult = { ok: true, bind: Map<number, string> } | { ok: false, reason: RejectReason, detail: string } | { ok: 'pending' }

/** Owner of a key `<owner>/<rest>`, or undefined when the key has no owner prefix. */
export function keyOwner (key: string): string | undefined {
  const i = key.indexOf('/')
  return i > 0 ? key.slice(0, i) : undefined
}

interface KeyInfo { root: string, key: string }

function rootNameOf (doc: Y.Doc, type: unknown): string | undefined {
  for (const [name, t] of doc.share) if (t === type) return name
  return undefined
}

/** Key of an integrated item in the local store, if we have it. */
function storedKey (doc: Y.Doc, id: Y.ID): KeyInfo | undefined | 'missing' {
  if (Y.getState(doc.store, id.client) <= id.clock) return 'missing'
  const s = Y.getItem(doc.store, id) as unknown
  if (!(s instanceof Y.Item)) return undefined
  const parent = s.parent as unknown
  if (s.parentSub == null || parent == null) return undefined
  const root = rootNameOf(doc, parent)
  if (root == null) return undefined
  return { root, key: s.parentSub }
}

const allowedContent = (c: unknown): boolean =>
  c instanceof Y.ContentAny || c instanceof Y.ContentDeleted || c instanceof Y.ContentBinary

/**
 * Checks `update` against the ownership rules. `sender` is the gossip sender
 * (strict mode) or null for a relayed catch-up response. `bindings` maps Yjs
 * client ids to peers; the result lists new bindings to commit after applying.
 */
export function checkUpdate (doc: Y.Doc, update: Uint8Array, sender: string | null, roots: ReadonlySet<string>, bindings: { get: (client: number) => string | undefined }): CheckResult {
  let decoded: { structs: Array<Y.Item | Y.GC | Y.Skip>, ds: { clients: Map<number, Array<{ clock: number, len: number }>> } }
  try {
    decoded = Y.decodeUpdate(update) as unknown as typeof decoded
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not a Yjs update: ${(err as Error).message}` }
  }
  const local = new Map<string, Y.Item>()
  for (const s of decoded.structs) if (s instanceof Y.Item) local.set(`${s.id.client}:${s.id.clock}`, s)
  const memo = new Map<Y.Item, KeyInfo | undefined | 'missing'>()
  const keyOf = (item: Y.Item, depth: number): KeyInfo | undefined | 'missing' => {
    if (memo.has(item)) return memo.get(item)
    let out: KeyInfo | undefined | 'missing'
    const parent = item.parent as unknown
    if (item.parentSub != null && typeof parent === 'string') out = { root: parent, key: item.parentSub }
    else if (item.parentSub != null || (parent != null && typeof parent !== 'string')) out = undefined // nested type
    else if (depth > 64) out = undefined
    else {
      const via = item.origin ?? item.rightOrigin
      if (via == null) out = undefined // an array insertion into a root: not our shape
      else {
        const l = local.get(`${via.client}:${via.clock}`)
        out = l != null ? keyOf(l, depth + 1) : storedKey(doc, via)
      }
    }
    memo.set(item, out)
    return out
  }
  const bind = new Map<number, string>()
  let pending = false
  for (const s of decoded.structs) {
    if (!(s instanceof Y.Item)) continue
    if (!allowedContent(s.content)) return { ok: false, reason: 'shape', detail: `content ${s.content.constructor.name} is not allowed` }
    const k = keyOf(s, 0)
    if (k === 'missing') { pending = true; continue }
    if (k == null) return { ok: false, reason: 'shape', detail: 'item is not a key of a top-level map' }
    if (!roots.has(k.root)) return { ok: false, reason: 'shape', detail: `unknown top-level map ${k.root}` }
    const owner = keyOwner(k.key)
    if (owner == null) return { ok: false, reason: 'shape', detail: `key ${k.key} has no owner prefix` }
    const client = s.id.client
    const bound = bindings.get(client) ?? bind.get(client)
    if (sender != null && owner !== sender) return { ok: false, reason: 'unauthorized', detail: `${sender} wrote ${k.root}/${k.key} owned by ${owner}` }
    if (bound != null && bound !== owner) return { ok: false, reason: 'forged', detail: `client ${client} of ${bound} wrote a key of ${owner}` }
    if (bound == null) bind.set(client, owner)
  }
  if (sender != null) {
    // A peer only deletes what it overwrote: items under its own keys.
    for (const [client, ranges] of decoded.ds.clients) {
      for (const r of ranges) {
        for (let clock = r.clock; clock < r.clock + Math.min(r.len, 1024); clock++) {
          const l = local.get(`${client}:${clock}`)
          const k = l != null ? keyOf(l, 0) : storedKey(doc, Y.createID(client, clock))
          if (k === 'missing') { pending = true; break }
          if (k == null) continue // a GC'd or already-deleted struct
          if (keyOwner(k.key) !== sender) return { ok: false, reason: 'unauthorized', detail: `${sender} deleted ${k.root}/${k.key}` }
        }
      }
    }
  }
  if (pending && sender != null) return { ok: 'pending' }
  return { ok: true, bind }
}

/** Rebuilds client → owner bindings from what a replica already holds (after loading persistence). */
export function bindingsFromDoc (doc: Y.Doc, into: Map<number, string>): void {
  for (const [client, structs] of doc.store.clients) {
    if (into.has(client)) continue
    for (const s of structs) {
      if (!(s instanceof Y.Item) || s.parentSub == null) continue
      const o = keyOwner(s.parentSub)
      if (o != null) { into.set(client, o); break }
    }
  }
}
