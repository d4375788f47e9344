// Seeded randomised test: random puts, dels, raw writes, appends and batches
// against an in-memory model, with reopens in between. Prints its seed;
// reproduce with STORE_SEED=<seed>.
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededRandom } from '@homeostat/interface'
import { openStore, type Store } from '../src/index.ts'

const rng = seededRandom

describe('store: seeded model test', () => {
  const seed = Number(process.env.STORE_SEED ?? Date.now() % 1_000_000)
  it(`random operations match a model across reopens (seed ${seed})`, async () => {
    const r = rng(seed)
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!
    const dir = mkdtempSync(join(tmpdir(), 'store-model-'))
    const path = join(dir, 'db')
    const subs = ['a', 'b']
    const kv = new Map<string, Map<string, unknown>>(subs.map((s) => [s, new Map()]))
    const raw = new Map<string, number[]>()
    const log: Array<{ kind: string, n: number }> = []
    let t = 1_000_000
    let store: Store = await openStore({ path, nodeId: 'm', now: () => t })
    try {
      for (let step = 0; step < 400; step++) {
        t += Math.floor(r() * 3) // often the same ms: the logical counter must order appends
        const op = r()
        const key = `k${Math.floor(r() * 20)}`
        if (op < 0.25) {
          const s = pick(subs)
          const v = { n: step, nested: [step, String(step)] }
          await store.sub(s).put(key, v)
          kv.get(s)!.set(key, v)
        } else if (op < 0.35) {
          const s = pick(subs)
          await store.sub(s).del(key)
          kv.get(s)!.delete(key)
        } else if (op < 0.45) {
          const bytes = Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * 256))
          await store.raw('r').put(key, new Uint8Array(bytes))
          raw.set(key, bytes)
        } else if (op < 0.7) {
          const kind = pick(['x', 'y', 'z'])
          await store.log.append(kind, { n: step })
          log.push({ kind, n: step })
        } else if (op < 0.95) {
          const b = store.batch()
          const pending: Array<() => void> = []
          for (let i = 0; i < 1 + Math.floor(r() * 5); i++) {
            const k = `k${Math.floor(r() * 20)}`
            const s = pick(subs)
            const w = r()
            if (w < 0.4) { const v = { n: step, i }; b.put(s, k, v); pending.push(() => kv.get(s)!.set(k, v)) }
            else if (w < 0.6) { b.del(s, k); pending.push(() => kv.get(s)!.delete(k)) }
            else { const kind = pick(['x', 'y', 'z']); b.append(kind, { n: step * 100 + i }); pending.push(() => log.push({ kind, n: step * 100 + i })) }
          }
          await b.write()
          for (const p of pending) p()
        } else {
          await store.close()
          store = await openStore({ path, nodeId: 'm', now: () => t })
        }
      }
      for (const s of subs) assert.deepEqual(new Map(await store.sub(s).entries()), kv.get(s), `sub ${s} (seed ${seed})`)
      assert.deepEqual(new Map((await store.raw('r').entries()).map(([k, v]) => [k, [...v]])), raw, `raw (seed ${seed})`)
      assert.deepEqual((await store.log.read<{ n: number }>()).map((e) => ({ kind: e.kind, n: e.record.n })), log, `log order (seed ${seed})`)
      for (const kind of ['x', 'y', 'z']) {
        assert.deepEqual((await store.log.read<{ n: number }>({ kind })).map((e) => e.record.n), log.filter((e) => e.kind === kind).map((e) => e.n), `log kind ${kind} (seed ${seed})`)
      }
    } finally { await store.close(); rmSync(dir, { recursive: true, force: true }) }
  })
})
