// Diagnostic: where does the time go between a partition heal and converged
// registries? Runs the meso fleet with tracing on (agents report connections,
// liveness changes, catch-up exchanges and digest changes with host-clock
// timestamps), partitions and heals a few times, and prints per-agent
// timelines relative to the heal. Each round also prints the heal time on the
// monotonic clock (µs, the clock of V8 CPU profiles), so profiles taken with
// AGENT_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' can be cut to the heal window.
// LIVENESS_JSON='{"maxParallelReconnects":1}' overrides the agents' mesh liveness tuning. Needs root + iproute2 (network namespaces).
//   npx tsc -b && flock /tmp/homeostat-bench.lock node --import tsx/esm --import @homeostat/mesh/polyfill bench/meso/heal-trace.ts [rounds] [agents]
import { execFileSync } from 'node:child_process'
import { generateSwarmKey } from '@homeostat/mesh'
import { canUseNetns, fullyConnected, partitionAndHeal, registriesConverged, replicaChanges, startFleet, svAt, type AgentEvent, type AgentProc } from './fleet.ts'
import { setTimeout as sleep } from 'node:timers/promises'

const rounds = Number(process.argv[2] ?? 3)
const N = Number(process.argv[3] ?? 20)
if (!canUseNetns()) { console.error('heal-trace needs root and iproute2'); process.exit(2) }

const fleet = await startFleet({ n: N, swarmKey: new TextDecoder().decode(generateSwarmKey()), netns: true, trace: true, ...(process.env.AGENT_NODE_ARGS != null ? { nodeArgs: process.env.AGENT_NODE_ARGS.split(' ') } : {}), ...(process.env.LIVENESS_JSON != null ? { liveness: JSON.parse(process.env.LIVENESS_JSON) as Record<string, number> } : {}), registry: { settleMs: 300, cooldownMs: 2000 } })
try {
  console.log('connected:', await fleet.waitFor(async () => await fullyConnected(fleet), 90_000, 500))
  for (const a of fleet.agents) await a.request({ cmd: 'capacity', cpuMillis: 2000, memoryMb: 4096 })
  await fleet.agents[0]!.request({ cmd: 'declare', spec: { name: 'part-w', priority: 3, cpuMillis: 300, memoryMb: 128 } })
  await fleet.waitFor(async () => await registriesConverged(fleet), 20_000, 250)
  await sleep(2000)
  const idx = new Map(fleet.agents.map((a) => [a.peerId, a.i]))
  const cuts: Array<{ cutAt: number, healAt: number }> = []
  for (let round = 0; round < rounds; round++) {
    const diag: string[] = []
    let diagTimer: ReturnType<typeof setInterval> | undefined
    if (process.env.DIAG === '1') {
      // Kernel view from one agent: neighbour (ARP) states and connects still in SYN-SENT, sampled every 500 ms.
      const t0 = Date.now()
      diagTimer = setInterval(() => {
        const ns = fleet.nsOf(0)
        try {
          const neigh = execFileSync('ip', ['netns', 'exec', ns, 'ip', 'neigh'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(' ').at(-1)).reduce<Record<string, number>>((m, st) => { m[st!] = (m[st!] ?? 0) + 1; return m }, {})
          const syn = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tnoH', 'state', 'syn-sent'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => /timer:\(([^)]*)\)/.exec(l)?.[1] ?? '?')
          diag.push(`${Date.now() - t0} neigh ${JSON.stringify(neigh)} syn-sent ${syn.length} [${syn.slice(0, 6).join(' ')}]`)
        } catch (err) { diag.push(String(err)) }
      }, 500)
    }
    const r = await partitionAndHeal(fleet, { workload: 'part-w', round, ...(process.env.PART_MS != null ? { maxPartitionMs: Number(process.env.PART_MS) } : {}) })
    if (diagTimer != null) clearInterval(diagTimer)
    const [sideA, sideB] = r.sides
    const sideOf = (i: number): string => sideB.includes(i) ? 'B' : 'A'
    const healAt = r.healAt
    cuts.push({ cutAt: healAt - r.partitionMs, healAt })
    const cutAt = healAt - r.partitionMs
    if (diag.length > 0) console.log(`agent 0 (side ${r.sides[1].includes(0) ? 'B' : 'A'}), heal at +${r.healAt - (r.healAt - r.partitionMs)} ms after cut:\n  ` + diag.join('\n  '))
    console.log(`\nround ${round}: A=${sideA.length} B=${sideB.length}; cut ${r.partitionMs} ms (both saw death: ${r.bothSidesSawDeath}); copies at heal ${r.copiesAtHeal}; merged ${String(r.conv.mergedMs)} ms (reported ${String(r.conv.mergedReportedMs)}), agreed ${String(r.conv.agreedMs)} ms, one copy ${String(r.singleCopyMs)} ms, copies after ${r.copiesAfter}`)
    console.log(`heal at monotonic ${Math.round(Number(process.hrtime.bigint() / 1000n) - (Date.now() - healAt) * 1000)} µs`)
    const evs = (a: AgentProc, ev: string): AgentEvent[] => a.events.filter((e) => e.ev === ev && (e.t as number) >= cutAt)
    const lastDigest = fleet.agents.map((a) => evs(a, 'digest').at(-1)?.d)
    const finalDigest = lastDigest[0]
    const loadRows: string[] = []
    for (let w = -1000; w < 4000; w += 250) {
      let cpu = 0; let lag = 0
      for (const a of fleet.agents) {
        for (const e of a.events) {
          if (e.ev !== 'load') continue
          const t = (e.t as number) - healAt
          if (t >= w && t < w + 250) { cpu += e.cpuMs as number; lag = Math.max(lag, e.lagMaxMs as number) }
        }
      }
      loadRows.push(`${w}:${cpu}/${lag}`)
    }
    console.log('fleet CPU ms per 250 ms window / max event-loop delay ms (window start rel. heal): ' + loadRows.join(' '))
    console.log('agent side  1stCrossConn  1stCrossAlive  crossAlive(n)  1stCrossPullData(why)  merged  lastChange')
    for (const a of fleet.agents) {
      const cross = (p: unknown): boolean => { const j = idx.get(p as string); return j != null && sideOf(j) !== sideOf(a.i) }
      const after = (e: AgentEvent): boolean => (e.t as number) >= healAt
      const conn = evs(a, 'conn').filter((e) => e.up === true && cross(e.peer) && after(e))
      const alive = evs(a, 'liveness').filter((e) => e.state === 'alive' && cross(e.peer) && after(e))
      const pulls = evs(a, 'sync').filter((e) => e.kind === 'pull' && cross(e.peer) && after(e) && (e.bytes as number) > 2)
      const ds = evs(a, 'digest').filter(after)
      const merged = r.conv.perAgentMergedMs.get(a.i)
      const rel = (e: AgentEvent | undefined): string => e == null ? '-' : String((e.t as number) - healAt)
      console.log(`${String(a.i).padStart(5)} ${sideOf(a.i).padStart(4)}  ${rel(conn[0]).padStart(12)}  ${rel(alive[0]).padStart(13)}  ${String(new Set(alive.map((e) => e.peer)).size).padStart(13)}  ${(rel(pulls[0]) + (pulls[0] != null ? `(${String(pulls[0].why)})` : '')).padStart(21)}  ${String(merged ?? '-').padStart(6)}  ${rel(ds.at(-1)).padStart(10)}`)
    }
    // Every catch-up exchange and relevant event in the first 3 s after the heal, in order.
    const all: Array<{ t: number, line: string }> = []
    for (const a of fleet.agents) {
      for (const e of a.events) {
        const t = e.t as number
        if (t < healAt - 200 || t > healAt + 4000) continue
        const peer = e.peer != null ? `${String(idx.get(e.peer as string))}${sideOf(idx.get(e.peer as string) ?? -1)}` : ''
        if (e.ev === 'sync' && String(e.kind).startsWith('relay')) all.push({ t, line: `${a.i}${sideOf(a.i)} ${String(e.kind)} ${peer} ok=${String(e.ok)} bytes=${String(e.bytes)}${e.news === true ? ' NEWS' : ''}${e.pendingMissing != null ? ` pending=${JSON.stringify(e.pendingMissing)}` : ''}` })
        else if (e.ev === 'sync' && (e.kind === 'pull' || (e.bytes as number) > 2)) all.push({ t, line: `${a.i}${sideOf(a.i)} ${String(e.kind)} ${peer} why=${String(e.why)} ok=${String(e.ok)} bytes=${String(e.bytes)} ms=${String(e.ms)}${e.news === true ? ' NEWS' : ''}${e.pendingMissing != null ? ` pending=${JSON.stringify(e.pendingMissing)}` : ''}${e.pendingDsBytes != null ? ` pendingDs=${String(e.pendingDsBytes)}` : ''}${e.error != null ? ` err=${String(e.error)}` : ''}` })
        else if (e.ev === 'liveness') all.push({ t, line: `${a.i}${sideOf(a.i)} liveness ${peer} ${String(e.state)} ${String(e.reason)}` })
        else if (e.ev === 'conn') all.push({ t, line: `${a.i}${sideOf(a.i)} conn ${peer} ${e.up === true ? 'up' : 'down'}` })
        else if (e.ev === 'start' || e.ev === 'stop' || e.ev === 'takeover') all.push({ t, line: `${a.i}${sideOf(a.i)} ${e.ev} ${String(e.name)}` })
        else if (e.ev === 'digest') all.push({ t, line: `${a.i}${sideOf(a.i)} digest ${String(e.d)}${e.d === finalDigest ? ' (final)' : ''}` })
      }
    }
    const st = await fleet.states()
    console.log('relays sent/received, pushes sent/received, push-backs, rejected: ' + st.map((x, k) => { const d = (x.coord as { doc: Record<string, unknown> }).doc; return `${k}${sideOf(k)}:${String(d.relaysSent)}/${String(d.relaysReceived)} ${String(d.pushesSent)}/${String(d.pushesReceived)} ${String(d.pushBacks)}${Object.keys(d.rejected as object).length > 0 ? JSON.stringify(d.rejected) : ''}` }).join(' '))
    // The slowest replicas: what they still lacked (by writer) 300 ms after the heal.
    const clientOf = new Map(fleet.agents.map((a) => [String(a.events.find((e) => e.ev === 'ready')?.clientId), a.i]))
    const changes = fleet.agents.map((a) => replicaChanges(a))
    const svOf = (i: number, t: number): Record<string, number> => svAt(changes[i]!, t)
    const u: Record<string, number> = {}
    for (const a of fleet.agents) for (const [c, k] of Object.entries(svOf(a.i, healAt))) u[c] = Math.max(u[c] ?? 0, k)
    // Was each side whole at the heal (every agent holding every write of its own side)?
    const sideLacks: string[] = []
    for (const a of fleet.agents) {
      const own = svOf(a.i, healAt)
      for (const b of fleet.agents) {
        if (sideOf(b.i) !== sideOf(a.i)) continue
        const c = String(b.events.find((e) => e.ev === 'ready')?.clientId)
        const need = svOf(b.i, healAt)[c] ?? 0
        if ((own[c] ?? 0) < need) sideLacks.push(`${a.i}${sideOf(a.i)} lacks ${b.i}${sideOf(b.i)}:${own[c] ?? 0}<${need}`)
      }
    }
    console.log(`same-side updates missing at the heal: ${sideLacks.length === 0 ? 'none' : sideLacks.join(', ')}`)
    for (const [i, ms] of [...r.conv.perAgentMergedMs].sort((x, y) => (y[1] ?? 1e9) - (x[1] ?? 1e9)).slice(0, 3)) {
      const a = fleet.agents[i]!
      const lacks = (t: number): string => {
        const sv = svOf(a.i, t)
        return Object.entries(u).filter(([c, k]) => (sv[c] ?? 0) < k).map(([c, k]) => `${String(clientOf.get(c) ?? '?')}${sideOf(clientOf.get(c) ?? -1)}:${sv[c] ?? 0}<${k}`).join(' ')
      }
      console.log(`agent ${i}${sideOf(i)} merged at ${String(ms)}; lacked at +0: ${lacks(healAt)} | at +500: ${lacks(healAt + 500)} | at +1000: ${lacks(healAt + 1000)}`)
    }
    if (process.env.TRACE_ALL === '1') for (const x of all.sort((p, q) => p.t - q.t)) console.log(`${String(x.t - healAt).padStart(6)} ${x.line}`)
    await fleet.waitFor(async () => await fullyConnected(fleet), 20_000, 250)
    await sleep(1000)
  }
  void idx
  if (process.env.TRACE_JSON != null) {
    const { writeFileSync } = await import('node:fs')
    writeFileSync(process.env.TRACE_JSON, JSON.stringify({ cuts, agents: fleet.agents.map((a) => ({ i: a.i, peerId: a.peerId, events: a.events })) }))
  }
  if (process.env.GRACEFUL === '1') {
    // Let agents exit by themselves (e.g. so --cpu-prof in NODE_OPTIONS writes its profiles).
    for (const a of fleet.agents) a.send({ cmd: 'exit' })
    await sleep(5000)
  }
} finally {
  await fleet.stop()
}
