// Planner benchmark: the constrained planner (each budget mode) against a
// fixed restart-first playbook, the project's recovery playbook, an
// unconstrained greedy learner and an (unconstrained) oracle, on the same
// seeded stream of incidents with common random numbers.
//   npm run bench -- planner [--quick] [--seed N] [--hours H]
import type { ActionKind, CostVector, Incident, Outcome, PlanRequest, PlannedAction, RecoveryPolicy } from '@homeostat/interface'
import { createRng, seedFromString } from '@homeostat/learning'
import {
  DEFAULT_CATALOGUE, REWARD_DEFAULTS, createManualClock, createMemoryAuditStore, createPlanner, expectedReward,
  staticBeta, verifyChain, type AuditStore, type ManualClock, type Planner
} from '@homeostat/planner'
import { createPlaybook } from '@homeostat/recovery'
import {
  CLASSES, COST_SPREAD, CRASH_LOOP, DETECTION_MS, HARM_SHARE, HUMAN_RESPONSE_MS, MAX_ATTEMPTS, TTR_SPREAD, WINDOW_MS,
  type FailureClassTruth, capacityAt
} from './world.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const argOf = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const seed = Number(argOf('--seed') ?? 42)
const hours = Number(argOf('--hours') ?? (quick ? 300 : 2400))
const durationMs = hours * 3600_000
const started = Date.now()

const DIMS = ['cpuSeconds', 'memoryMb', 'bandwidthKb', 'disruptionSeconds'] as const
const components = [...new Set(CLASSES.flatMap((c) => c.components))]
const classByName = new Map(CLASSES.map((c) => [c.name, c]))
const continuity = new Map(DEFAULT_CATALOGUE.map((a) => [a.kind, a.continuityLoss]))

interface SimIncident { idx: number, atMs: number, cls: FailureClassTruth, component: string, collateral: boolean }

// ---- the incident stream (same for every policy) ----
function generate (): SimIncident[] {
  const rng = createRng(seedFromString(`arrivals:${seed}`))
  const out: SimIncident[] = []
  const exp = (ratePerHour: number): number => -Math.log(1 - rng.next()) / ratePerHour * 3600_000
  for (const cls of CLASSES) {
    for (let t = exp(cls.ratePerHour); t < durationMs; t += exp(cls.ratePerHour)) {
      out.push({ idx: 0, atMs: t, cls, component: cls.components[rng.int(cls.components.length)]!, collateral: false })
    }
  }
  const crash = classByName.get('crash')!
  for (let t = exp(CRASH_LOOP.ratePerHour); t < durationMs; t += exp(CRASH_LOOP.ratePerHour)) {
    const comp = crash.components[rng.int(crash.components.length)]!
    for (let k = 0; k < CRASH_LOOP.loopLength; k++) out.push({ idx: 0, atMs: t + k * CRASH_LOOP.loopGapMs, cls: crash, component: comp, collateral: false })
  }
  out.sort((a, b) => a.atMs - b.atMs)
  out.forEach((x, i) => { x.idx = i })
  return out
}

// ---- truth helpers (the oracle) ----
const trueQ = (cls: FailureClassTruth, a: ActionKind): number => {
  if (a === 'escalate' || a === 'quarantine' || a === 'none') return -HUMAN_RESPONSE_MS / 1000
  const t = cls.actions[a]
  if (t === undefined) return -HUMAN_RESPONSE_MS / 1000
  return expectedReward(t.p, t.ttrMs, continuity.get(a) ?? 0, REWARD_DEFAULTS)
}
const worstCost = (cls: FailureClassTruth, a: ActionKind): CostVector => {
  const m = cls.actions[a]!.cost
  return { cpuSeconds: m.cpuSeconds * (1 + COST_SPREAD), memoryMb: m.memoryMb * (1 + COST_SPREAD), bandwidthKb: m.bandwidthKb * (1 + COST_SPREAD), disruptionSeconds: m.disruptionSeconds * (1 + COST_SPREAD) }
}
const fitsIn = (used: CostVector, add: CostVector, beta: CostVector): boolean => DIMS.every((d) => used[d] + add[d] <= beta[d] + 1e-9)
const availableFor = (cls: FailureClassTruth): ActionKind[] => [...Object.keys(cls.actions) as ActionKind[], 'quarantine']

/** The truly best first action: max true Q_R among actions whose true worst-case cost fits the budget (or all, unconstrained). */
function oracleBest (cls: FailureClassTruth, budget?: { used: CostVector, beta: CostVector }): ActionKind {
  let best: ActionKind = 'escalate'
  let bestQ = -Infinity
  for (const a of Object.keys(cls.actions) as ActionKind[]) {
    if (budget !== undefined && !fitsIn(budget.used, worstCost(cls, a), budget.beta)) continue
    const q = trueQ(cls, a)
    if (q > bestQ) { bestQ = q; best = a }
  }
  return best
}

// ---- comparison policies ----
function fixedRestartFirst (): RecoveryPolicy {
  const order: ActionKind[] = ['restart', 'kill', 'rollback', 'relocate']
  return {
    plan: async (r) => {
      const a = order.find((x) => r.available.includes(x) && !r.attempted.includes(x)) ?? 'escalate'
      return { action: a, target: r.incident.component, reason: 'fixed list', requiresApproval: false, alternatives: [] }
    },
    record: () => {}
  }
}

/** Unconstrained greedy learner: tries every action once, then always the best observed success rate; ignores time, cost and budget. */
function greedy (): RecoveryPolicy {
  const stats = new Map<string, { s: number, n: number }>()
  return {
    plan: async (r) => {
      let best: ActionKind = 'escalate'
      let bestV = -1
      for (const a of r.available) {
        if (a === 'quarantine' || r.attempted.includes(a)) continue
        const st = stats.get(`${r.incident.failureClass}/${a}`)
        const v = st === undefined ? 2 : (st.s + 1) / (st.n + 2)
        if (v > bestV) { bestV = v; best = a }
      }
      return { action: best, target: r.incident.component, reason: 'greedy', requiresApproval: false, alternatives: [] }
    },
    record: (o) => {
      const k = `${o.failureClass}/${o.action}`
      const st = stats.get(k) ?? { s: 0, n: 0 }
      st.n++
      if (o.success) st.s++
      stats.set(k, st)
    }
  }
}

function oraclePolicy (): RecoveryPolicy {
  return {
    plan: async (r) => {
      const cls = classByName.get(r.incident.failureClass)!
      const cands = (Object.keys(cls.actions) as ActionKind[]).filter((a) => r.available.includes(a) && !r.attempted.includes(a))
      cands.sort((a, b) => trueQ(cls, b) - trueQ(cls, a))
      return { action: cands[0] ?? 'escalate', target: r.incident.component, reason: 'oracle', requiresApproval: false, alternatives: [] }
    },
    record: () => {}
  }
}

// ---- one policy over the whole stream ----
interface RunResult {
  name: string
  incidents: number
  collateral: number
  attempts: number
  escalations: number
  quarantines: number
  downtimeMs: number
  availability: number
  violationWindows: number
  windows: number
  firstDecisions: number
  regretSum: number
  after50: number
  after50Best: number
  auditRecords?: number
  auditOk?: boolean
  lambda?: number
  shieldEscalations?: number
  approvals?: number
}

async function run (name: string, make: (clock: ManualClock) => { policy: RecoveryPolicy, planner?: Planner }): Promise<RunResult> {
  const clock = createManualClock(0)
  const { policy, planner } = make(clock)
  const queue = generate()
  const rng = createRng(seedFromString(`collateral:${seed}:${name}`))
  const charges: Array<{ atMs: number, cost: CostVector }> = []
  const violated = new Set<number>()
  const perClass = new Map<string, number>()
  const r: RunResult = { name, incidents: 0, collateral: 0, attempts: 0, escalations: 0, quarantines: 0, downtimeMs: 0, availability: 0, violationWindows: 0, windows: Math.ceil(durationMs / WINDOW_MS), firstDecisions: 0, regretSum: 0, after50: 0, after50Best: 0 }
  const windowSpend = (t: number): CostVector => {
    const s = { cpuSeconds: 0, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 }
    for (let i = charges.length - 1; i >= 0 && charges[i]!.atMs > t - WINDOW_MS; i--) for (const d of DIMS) s[d] += charges[i]!.cost[d]
    // Memory is a level, held only while an action runs (actions run one at a time here): only the latest action's, at its start.
    s.memoryMb = charges.length > 0 && charges[charges.length - 1]!.atMs === t ? charges[charges.length - 1]!.cost.memoryMb : 0
    return s
  }
  const betaNow = (t: number): CostVector => planner !== undefined ? planner.budget().beta : staticBeta(capacityAt(t))
  const check = (t: number): void => {
    const spent = windowSpend(t)
    const beta = betaNow(t)
    if (DIMS.some((d) => spent[d] > beta[d] + 1e-9)) violated.add(Math.floor(t / WINDOW_MS))
  }

  for (let qi = 0; qi < queue.length; qi++) {
    const inc = queue[qi]!
    if (inc.atMs >= durationMs) break
    r.incidents++
    if (inc.collateral) r.collateral++
    let t = Math.max(clock.now(), inc.atMs + DETECTION_MS)
    clock.set(t)
    let downtime = DETECTION_MS
    const seen = (perClass.get(inc.cls.name) ?? 0) + 1
    perClass.set(inc.cls.name, seen)
    const incident: Incident = { id: `i${inc.idx}`, node: 'sim', component: inc.component, targetKind: inc.cls.targetKind, failureClass: inc.cls.name, status: 'open', openedAtMs: inc.atMs, steps: [], anomalies: [] }
    const attempted: ActionKind[] = []
    const available = availableFor(inc.cls)
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_ATTEMPTS) { r.escalations++; downtime += HUMAN_RESPONSE_MS; break }
      check(t)
      const budgetBefore = planner?.budget()
      const req: PlanRequest = { incident, attempted: [...attempted], available }
      const plan: PlannedAction = await policy.plan(req)
      t = Math.max(t, clock.now())
      if (attempt === 0) {
        r.firstDecisions++
        const best = budgetBefore !== undefined
          ? oracleBest(inc.cls, { used: addV(budgetBefore.spent, budgetBefore.reserved), beta: budgetBefore.beta })
          : oracleBest(inc.cls)
        r.regretSum += trueQ(inc.cls, best) - trueQ(inc.cls, plan.action)
        if (seen > 50) { r.after50++; if (plan.action === best) r.after50Best++ }
      }
      if (plan.action === 'escalate' || plan.action === 'none') { r.escalations++; downtime += HUMAN_RESPONSE_MS; break }
      if (plan.action === 'quarantine') { r.quarantines++; downtime += HUMAN_RESPONSE_MS; break }
      const truth = inc.cls.actions[plan.action]
      r.attempts++
      const u = createRng(seedFromString(`outcome:${seed}:${inc.idx}:${plan.action}:${attempt}`))
      const success = truth !== undefined && u.next() < truth.p
      const ttrMs = (truth?.ttrMs ?? 30_000) * (1 + TTR_SPREAD * (2 * u.next() - 1))
      const mean = truth?.cost ?? { cpuSeconds: 10, memoryMb: 100, bandwidthKb: 1000, disruptionSeconds: 30 }
      const cost = { cpuSeconds: 0, memoryMb: 0, bandwidthKb: 0, disruptionSeconds: 0 }
      for (const d of DIMS) cost[d] = mean[d] * (1 + COST_SPREAD * (2 * u.next() - 1))
      charges.push({ atMs: t, cost })
      check(t)
      // Over-spending starves co-located workloads.
      const cap = capacityAt(t)
      const spent = windowSpend(t)
      if ((['cpuSeconds', 'memoryMb', 'bandwidthKb'] as const).some((d) => spent[d] > HARM_SHARE * cap[d]) && rng.next() < 0.5) {
        const crash = classByName.get('crash')!
        const victim: SimIncident = { idx: queue.length, atMs: t + 30_000, cls: crash, component: components[rng.int(components.length)]!, collateral: true }
        let pos = qi + 1
        while (pos < queue.length && queue[pos]!.atMs <= victim.atMs) pos++
        queue.splice(pos, 0, victim)
      }
      t += ttrMs
      clock.set(t)
      downtime += ttrMs
      attempted.push(plan.action)
      const outcome: Outcome = { incidentId: incident.id, node: 'sim', component: inc.component, failureClass: inc.cls.name, action: plan.action, success, durationMs: ttrMs, cost, hlc: `${String(Math.floor(t)).padStart(15, '0')}-000000-sim` }
      policy.record(outcome)
      if (success) break
    }
    r.downtimeMs += downtime
  }
  r.violationWindows = violated.size
  r.availability = 1 - r.downtimeMs / (durationMs * components.length)
  if (planner !== undefined) {
    await planner.stop()
    const lines = await auditStores.get(planner)!.readAll()
    // The in-memory log keeps a bounded tail; the store has every record.
    const records = lines.map((l) => JSON.parse(l) as ReturnType<Planner['audit']['records']>[number])
    r.auditRecords = planner.audit.stats().records
    r.auditOk = verifyChain(lines, { expectedHead: planner.audit.head() }).ok && planner.audit.verify().ok
    r.lambda = planner.lambda()
    r.shieldEscalations = records.filter((x) => x.kind === 'decision' && x.data.action === 'escalate' && String(x.data.reason).includes('shield')).length
    if (process.env.PLANNER_BENCH_DEBUG !== undefined) {
      const esc = records.filter((x) => x.kind === 'decision' && x.data.action === 'escalate')
      const hist = new Map<string, number>()
      for (const e of esc) {
        const alts = e.data.alternatives as Array<{ action: string, why: string }>
        const k = `${e.data.failureClass}: ${String(e.data.reason).slice(0, 60)} | ${alts.filter((a) => a.why.startsWith('shield')).map((a) => `${a.action}(${a.why.replace(/.*budget in /, '')})`).join(' ')}`
        hist.set(k, (hist.get(k) ?? 0) + 1)
      }
      console.error(name, [...hist].sort((a, b) => b[1] - a[1]).slice(0, 12))
    }
    r.approvals = planner.stats().approvals.approved
  }
  return r
}

const addV = (a: CostVector, b: CostVector): CostVector => ({ cpuSeconds: a.cpuSeconds + b.cpuSeconds, memoryMb: a.memoryMb + b.memoryMb, bandwidthKb: a.bandwidthKb + b.bandwidthKb, disruptionSeconds: a.disruptionSeconds + b.disruptionSeconds })

const auditStores = new Map<Planner, AuditStore>()
const homeostat = (mode: 'static' | 'dynamic' | 'adaptive') => (clock: ManualClock) => {
  const holder: { p?: Planner } = {}
  const auditStore = createMemoryAuditStore()
  const planner = createPlanner({
    mode,
    clock,
    seed,
    nodeId: 'sim',
    capacity: capacityAt,
    windowMs: WINDOW_MS,
    auditStore,
    // The simulated operator approves every risky action at once.
    approval: { onRequest: (p) => { holder.p?.approve(p.id, 'bench-operator') } }
  })
  holder.p = planner
  auditStores.set(planner, auditStore)
  return { policy: planner, planner }
}

const results: RunResult[] = []
for (const mode of ['static', 'dynamic', 'adaptive'] as const) results.push(await run(`homeostat-${mode}`, homeostat(mode)))
results.push(await run('fixed-restart-first', () => ({ policy: fixedRestartFirst() })))
results.push(await run('recovery-playbook', (clock) => ({ policy: createPlaybook({ now: clock.now }) })))
results.push(await run('greedy-unconstrained', () => ({ policy: greedy() })))
results.push(await run('oracle-unconstrained', () => ({ policy: oraclePolicy() })))

// ---- report ----
const pct = (x: number, d = 2): string => `${(x * 100).toFixed(d)}%`
const rows = results.map((r) => [
  r.name, (r.availability * 100).toFixed(4) + '%', (r.downtimeMs / 3600_000).toFixed(1), String(r.incidents), String(r.collateral),
  String(r.escalations), String(r.quarantines), `${r.violationWindows}/${r.windows}`,
  r.after50 > 0 ? pct(r.after50Best / r.after50, 1) : '-', (r.regretSum / Math.max(1, r.firstDecisions)).toFixed(2)
])
const head = ['policy', 'availability', 'down h', 'incidents', 'collateral', 'escalated', 'quarantined', 'β-violating windows', 'best@>50', 'regret s/inc']
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
console.log(`planner benchmark: seed ${seed}, ${hours} simulated hours, ${components.length} components, window ${WINDOW_MS / 60_000} min${quick ? ' (quick)' : ''}`)
console.log(line(head))
for (const row of rows) console.log(line(row))
const hs = results.filter((r) => r.name.startsWith('homeostat-'))
for (const r of hs) console.log(`${r.name}: audit records ${r.auditRecords}, chain verified ${r.auditOk}, λ ${r.lambda?.toFixed(1)}, shield escalations ${r.shieldEscalations}, approvals ${r.approvals}`)
console.log('baselines (fixed, playbook, greedy, oracle) are not budget-aware: their β-violating windows are counted against the static β for reference.')

const byName = Object.fromEntries(results.map((r) => [r.name, r]))
const modeKey = (r: RunResult): string => r.name.replace('homeostat-', '')
const budgetViolations = Object.fromEntries(results.map((r) => [r.name.startsWith('homeostat-') ? modeKey(r) : r.name, r.violationWindows]))
const budgetViolationRate = Object.fromEntries(results.map((r) => [r.name.startsWith('homeostat-') ? modeKey(r) : r.name, Number((r.violationWindows / r.windows).toFixed(5))]))
const bestActionRateAfter50 = Object.fromEntries(hs.map((r) => [modeKey(r), Number((r.after50Best / Math.max(1, r.after50)).toFixed(4))]))
const availability = Object.fromEntries(results.map((r) => [r.name, Number(r.availability.toFixed(6))]))
const regretVsOracle = Object.fromEntries(results.map((r) => [r.name, Number((r.regretSum / Math.max(1, r.firstDecisions)).toFixed(3))]))
const comparisons = ['fixed-restart-first', 'recovery-playbook', 'greedy-unconstrained'].map((n) => byName[n]!.availability)
const targets = {
  staticDynamicZeroViolations: byName['homeostat-static']!.violationWindows === 0 && byName['homeostat-dynamic']!.violationWindows === 0,
  adaptiveViolationsAtMost1pct: byName['homeostat-adaptive']!.violationWindows <= 0.01 * byName['homeostat-adaptive']!.windows,
  bestActionRateAfter50AtLeast0_9: Object.values(bestActionRateAfter50).every((x) => x >= 0.9),
  availabilityAboveComparisons: hs.every((r) => comparisons.every((c) => r.availability > c))
}
console.log(JSON.stringify({
  bench: 'planner',
  seed,
  hours,
  quick,
  windows: byName['homeostat-static']!.windows,
  budgetViolations,
  budgetViolationRate,
  bestActionRateAfter50,
  availability,
  regretVsOracle,
  auditChainVerified: hs.every((r) => r.auditOk === true),
  targets,
  definitions: {
    availability: '1 − Σ incident downtime / (simulated time × components); downtime = detection (10 s) + time of every attempt + 30 min human response when escalated/quarantined',
    regretVsOracle: 'mean over incidents of trueQ_R(oracle best first action) − trueQ_R(chosen first action), seconds of expected downtime; the oracle knows true success rates/times/costs and, for homeostat, only counts actions whose true worst-case cost fits the planner\'s remaining β at that moment',
    budgetViolations: `10-minute tumbling windows in which, at an action start or a decision point, the true cost spent in the preceding ${WINDOW_MS / 60_000} minutes exceeded β(t) in some dimension (baselines: against static β)`,
    bestActionRateAfter50: 'share of incidents after the 50th of their class whose first chosen action equals the truly best admissible action (same objective, true parameters, true worst-case cost within remaining β)'
  },
  elapsedMs: Date.now() - started
}))
