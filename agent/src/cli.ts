#!/usr/bin/env node
// `homeostat` — the CLI. Exit codes: 0 ok, 1 failure, 2 usage, 3 agent
// unreachable, 4 config error, 5 not found / conflict.
import '@homeostat/mesh/polyfill'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { Incident } from '@homeostat/interface'
import { createClient, defaultConfigPath, type Client } from './cli/client.ts'
import { table, ms, ago, clock } from './cli/format.ts'
import type { Io } from './cli/io.ts'
import { ConfigError, UsageError, AgentUnreachableError, ApiError, DataDirError } from './errors.ts'
import { VERSION } from './version.ts'
import type { Approval } from './state/approvals.ts'
import type { PeerView, InterventionView, PolicyView, BudgetView, ComponentView, ObservationView } from './state/providers.ts'
import type { Report } from './state/report.ts'
import { incidentTimes } from './state/report.ts'

import { EXIT } from './exit-codes.ts'
export { EXIT }

type Options = NonNullable<ParseArgsConfig['options']>

const common: Options = {
  config: { type: 'string', short: 'c' },
  api: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
}

interface Verb {
  summary: string
  usage: string
  options: Options
  details?: string
  run: (values: Record<string, unknown>, positionals: string[], io: Io) => Promise<number>
}

export type { Io }

const CLIENT_HELP = `  -c, --config FILE   the agent's config (default $HOMEOSTAT_CONFIG or ./homeostat.yaml);
                      the API address and token are read from it
      --api URL       talk to this API instead (or $HOMEOSTAT_API)
      --token TOKEN   API token for state-changing calls (or $HOMEOSTAT_TOKEN)
      --json          print JSON instead of a table
  -h, --help          this help`

function client (v: Record<string, unknown>): Client {
  return createClient({ config: v.config as string | undefined, api: v.api as string | undefined, token: v.token as string | undefined })
}

const health = (h: number | undefined) => h === undefined ? '-' : `${Math.round(h * 100)}%`

function printIncident (inc: Incident, io: Io, verbose: boolean): void {
  const t = incidentTimes(inc)
  io.out(`${inc.id}  ${inc.node}/${inc.component}  ${inc.failureClass}  ${inc.status}  detect ${ms(t.detectMs)}  mttr ${ms(t.mttrMs)}  ${t.action ?? ''}`.trimEnd())
  if (verbose) {
    for (const s of inc.steps) io.out(`    ${clock(s.atMs)}  ${s.kind.padEnd(11)} ${s.summary}`)
  }
}

const verbs: Record<string, Verb> = {
  init: {
    summary: 'write a commented homeostat.yaml, a fresh swarm key and the data dir',
    usage: 'homeostat init [--dir DIR] [--name NAME] [--role edge|cloud] [--swarm-key FILE] [--force]',
    options: {
      dir: { type: 'string', default: '.' },
      name: { type: 'string' },
      role: { type: 'string', default: 'edge' },
      'swarm-key': { type: 'string' },
      listen: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    details: `  --dir DIR          where to write homeostat.yaml and swarm.key (default .)
  --name NAME        node name (default: host name)
  --role ROLE        edge (default) or cloud
  --swarm-key FILE   join an existing fleet: copy its swarm key instead of generating one
  --listen HOST:PORT API address (default 127.0.0.1:9464)
  --force            overwrite existing files
Files: homeostat.yaml (0600), swarm.key (0600), homeostat-data/ (0700) with api.token (0600).`,
    async run (v, _p, io) {
      const role = v.role as string
      if (role !== 'edge' && role !== 'cloud') throw new UsageError(`--role must be edge or cloud, got "${role}"`)
      let swarmKey: string | undefined
      if (typeof v['swarm-key'] === 'string') {
        const { readFileSync } = await import('node:fs')
        const { parseSwarmKey } = await import('@homeostat/mesh')
        try {
          swarmKey = new TextDecoder().decode(parseSwarmKey(readFileSync(v['swarm-key']))) + '\n'
        } catch (err) { throw new UsageError(`--swarm-key ${v['swarm-key'] as string}: ${(err as Error).message}`) }
      }
      const { runInit } = await import('./cli/init.ts')
      const r = await runInit({ dir: v.dir as string, name: v.name as string | undefined, role, force: v.force === true, swarmKey, apiListen: v.listen as string | undefined })
      io.out(`wrote ${r.configFile}\nwrote ${r.swarmKeyFile} (mode 600; copy this same file to every node of the fleet)\ncreated ${r.dataDir} (mode 700) with ${r.tokenFile}\nnext: homeostat agent --config ${r.configFile}`)
      return EXIT.ok
    }
  },
  agent: {
    summary: 'run the agent daemon',
    usage: 'homeostat agent --config FILE [--role edge|cloud] [--listen HOST:PORT]',
    options: { config: { type: 'string', short: 'c' }, role: { type: 'string' }, listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    details: `  -c, --config FILE   config file (default $HOMEOSTAT_CONFIG or ./homeostat.yaml)
      --role ROLE     override node.role (edge or cloud)
      --listen H:P    override api.listen (port 0 picks a free port)
Signals: SIGHUP reloads the config (a bad one is refused and logged); SIGTERM/SIGINT stop
gracefully within 5 s. Logs are JSON lines on stdout.`,
    async run (v) {
      const role = v.role as string | undefined
      if (role !== undefined && role !== 'edge' && role !== 'cloud') throw new UsageError(`--role must be edge or cloud, got "${role}"`)
      const { runAgent } = await import('./run-agent.ts')
      return await runAgent({ configFile: (v.config as string | undefined) ?? defaultConfigPath(), role, listen: v.listen as string | undefined })
    }
  },
  stop: {
    summary: 'stop the local agent gracefully (SIGTERM to the pid in its data dir) and wait',
    usage: 'homeostat stop [--config FILE] [--timeout S]',
    options: { config: { type: 'string', short: 'c' }, timeout: { type: 'string', default: '10' }, help: { type: 'boolean', short: 'h' } },
    details: `  -c, --config FILE   the agent's config (default $HOMEOSTAT_CONFIG or ./homeostat.yaml)
      --timeout S     wait this long for it to exit (default 10)`,
    async run (v, _p, io) {
      const { loadConfig } = await import('./config/load.ts')
      const { readFileSync } = await import('node:fs')
      const { join } = await import('node:path')
      const c = loadConfig((v.config as string | undefined) ?? defaultConfigPath())
      let pid: number
      try { pid = Number.parseInt(readFileSync(join(c.dataDir, 'agent.pid'), 'utf8'), 10) } catch { io.out('no agent running (no pid file)'); return EXIT.ok }
      try { process.kill(pid, 'SIGTERM') } catch { io.out(`no agent running (pid ${pid} is gone)`); return EXIT.ok }
      const deadline = Date.now() + Number(v.timeout) * 1000
      for (;;) {
        try { process.kill(pid, 0) } catch { io.out(`agent ${pid} stopped`); return EXIT.ok }
        if (Date.now() > deadline) { io.err(`homeostat stop: agent ${pid} still running after ${String(v.timeout)} s`); return EXIT.failure }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  },
  dashboard: {
    summary: 'print the dashboard URL (with the API token in its #fragment, so the page can approve)',
    usage: 'homeostat dashboard [--config FILE]',
    options: common,
    async run (v, _p, io) {
      const cl = client(v)
      const { loadConfig } = await import('./config/load.ts')
      const { readToken } = await import('./datadir.ts')
      const token = (v.token as string | undefined) ?? process.env.HOMEOSTAT_TOKEN ?? readToken(loadConfig((v.config as string | undefined) ?? defaultConfigPath()).dataDir)
      io.out(`${cl.url}/#token=${token}`)
      return EXIT.ok
    }
  },
  status: {
    summary: 'this node: loops, components, health, peers',
    usage: 'homeostat status [--wait S] [--json]',
    options: { ...common, wait: { type: 'string' } },
    details: '      --wait S        wait up to S seconds for the agent to be up and ready (scripts, ExecStartPost)',
    async run (v, _p, io) {
      const cl = client(v)
      if (typeof v.wait === 'string') {
        const waitS = Number(v.wait)
        if (!Number.isFinite(waitS) || waitS < 0) throw new UsageError(`--wait must be a number of seconds, got "${v.wait}"`)
        const deadline = Date.now() + waitS * 1000
        for (;;) {
          const ok = await fetch(cl.url + '/readyz', { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
          if (ok) break
          if (Date.now() > deadline) throw new AgentUnreachableError(`the agent at ${cl.url} was not ready within ${waitS} s`)
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
      const s = await cl.get<Record<string, unknown> & { components: ComponentView[], loops: Array<{ name: string, running: boolean, ready: boolean }> }>('/api/status')
      if (v.json === true) { io.out(JSON.stringify(s, null, 2)); return EXIT.ok }
      io.out(`node ${String(s.node)} (${String(s.role)}) v${String(s.version)}  pid ${String(s.pid)}  up ${ms(Number(s.uptimeS) * 1000)}  health ${health(s.health as number)}`)
      io.out(`api ${String(s.apiUrl)}  config ${String(s.configFile)}`)
      io.out(`loops: ${s.loops.map((l) => `${l.name}${l.running ? (l.ready ? '' : ' (starting)') : ' (stopped)'}`).join(', ') || 'none'}`)
      const inc = s.incidents as { open: number, total: number }
      io.out(`incidents: ${inc.open} open, ${inc.total} total   approvals pending: ${String(s.approvalsPending)}   peers: ${String(s.peers)}`)
      const mesh = s.mesh as { peerId: string, addrs: string[] } | undefined
      if (mesh !== undefined) io.out(`mesh ${mesh.peerId}${mesh.addrs.length > 0 ? `  (bootstrap address for other nodes: ${mesh.addrs[0]})` : ''}`)
      const fp = s.fleetPolicy as { version: number, from: string, entries: number } | undefined
      if (fp !== undefined) io.out(`fleet priors v${fp.version} from ${fp.from} (${fp.entries} entries)`)
      const sys = s.system as Record<string, number> | undefined
      if (sys !== undefined && Object.keys(sys).length > 0) {
        const pick = ['cpu.util_pct', 'mem.used_pct', 'load.1', 'disk.root.used_pct', 'thermal.max_c'].filter((k) => sys[k] !== undefined)
        io.out(`system: ${pick.map((k) => `${k} ${sys[k]}`).join('  ')}`)
      }
      if (s.components.length > 0) {
        io.out('')
        io.out(table(['COMPONENT', 'STATE', 'HEALTH', 'PID', 'RESTARTS', 'DETAIL'], s.components.map((c) => [c.name, c.state, c.health, c.pid, c.restarts, c.detail])))
      }
      return EXIT.ok
    }
  },
  peers: {
    summary: 'mesh peers, their liveness, health and reputation',
    usage: 'homeostat peers [--json]',
    options: common,
    async run (v, _p, io) {
      const { peers } = await client(v).get<{ peers: PeerView[] }>('/api/peers')
      if (v.json === true) { io.out(JSON.stringify(peers, null, 2)); return EXIT.ok }
      io.out(table(['PEER', 'NAME', 'ROLE', 'STATE', 'HEALTH', 'REPUTATION', 'RTT', 'OPEN', 'SEEN'],
        peers.map((p) => [p.peer.length > 20 ? p.peer.slice(0, 8) + '…' + p.peer.slice(-8) : p.peer, p.name, p.role, p.state, health(p.health), p.reputation?.toFixed(2), p.rttMs === undefined ? undefined : ms(p.rttMs), p.incidentsOpen, p.state === 'self' ? 'now' : ago(p.lastSeenMs)])))
      return EXIT.ok
    }
  },
  incidents: {
    summary: 'incidents, most recently detected first; --follow streams them live',
    usage: 'homeostat incidents [--follow] [--status S] [--limit N] [--steps] [--json]',
    options: { ...common, follow: { type: 'boolean', short: 'f' }, status: { type: 'string' }, limit: { type: 'string', default: '20' }, steps: { type: 'boolean' }, id: { type: 'string' } },
    details: `  -f, --follow        keep printing incident updates as they happen (Ctrl-C to stop); when the
                      agent goes away, reconnects and prints what it missed
      --status S      open, recovering, recovered, escalated, quarantined
      --limit N       at most N (default 20)
      --steps         print every step of each incident with its reason
      --id ID         one incident with all its steps`,
    async run (v, _p, io) {
      const c = client(v)
      if (typeof v.id === 'string') {
        const inc = await c.get<Incident>(`/api/incidents/${encodeURIComponent(v.id)}`)
        if (v.json === true) io.out(JSON.stringify(inc, null, 2))
        else printIncident(inc, io, true)
        return EXIT.ok
      }
      const limit = Number.parseInt(v.limit as string, 10)
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive whole number, got "${v.limit as string}"`)
      const q = new URLSearchParams({ limit: String(limit) })
      if (typeof v.status === 'string') q.set('status', v.status)
      const { incidents } = await c.get<{ incidents: Incident[] }>(`/api/incidents?${q.toString()}`)
      if (v.follow !== true) {
        if (v.json === true) { io.out(JSON.stringify(incidents, null, 2)); return EXIT.ok }
        if (v.steps === true) { for (const i of incidents) printIncident(i, io, true); return EXIT.ok }
        const { detectedAtMs } = await import('./state/incidents.ts')
        io.out(table(['ID', 'NODE', 'COMPONENT', 'CLASS', 'STATUS', 'DETECTED', 'DETECT', 'MTTR', 'ACTION'], incidents.map((i) => {
          const t = incidentTimes(i)
          return [i.id, i.node, i.component, i.failureClass, i.status, ago(detectedAtMs(i)), ms(t.detectMs), ms(t.mttrMs), t.action]
        })))
        return EXIT.ok
      }
      // Steps printed per incident, so that an update (live, or from the list fetched again after a
      // reconnection) prints only the steps not printed yet.
      const printed = new Map<string, number>()
      const key = (i: Incident) => `${i.node}\u0000${i.id}`
      for (const i of [...incidents].reverse()) {
        if (v.json === true) io.out(JSON.stringify(i)); else printIncident(i, io, false)
        printed.set(key(i), i.steps.length)
      }
      const update = (inc: Incident, live: boolean) => {
        const seen = printed.get(key(inc))
        if (v.json === true) { if (live || seen === undefined || inc.steps.length > seen) io.out(JSON.stringify(inc)) } else {
          for (const s of inc.steps.slice(seen ?? 0)) io.out(`${clock(s.atMs)}  ${inc.id}  ${inc.node}/${inc.component}  ${s.kind.padEnd(11)} ${s.summary}`)
        }
        printed.set(key(inc), Math.max(seen ?? 0, inc.steps.length))
      }
      const ac = new AbortController()
      const stop = () => ac.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        await c.stream((type, data) => { if (type === 'incident') update((data as { incident: Incident }).incident, true) }, ac.signal, {
          reconnect: {
            onGone: (why) => io.err(`agent at ${c.url} went away (${why}); reconnecting…`),
            onBack: async () => {
              const again = await c.get<{ incidents: Incident[] }>(`/api/incidents?${q.toString()}`)
              io.err(`reconnected to the agent at ${c.url}`)
              for (const i of [...again.incidents].reverse()) update(i, false)
            }
          }
        })
      } finally {
        process.removeListener('SIGINT', stop)
        process.removeListener('SIGTERM', stop)
      }
      return EXIT.ok
    }
  },
  interventions: {
    summary: 'recoveries in flight (claims in the mesh registry)',
    usage: 'homeostat interventions [--json]',
    options: common,
    async run (v, _p, io) {
      const { interventions } = await client(v).get<{ interventions: InterventionView[] }>('/api/interventions')
      if (v.json === true) { io.out(JSON.stringify(interventions, null, 2)); return EXIT.ok }
      if (interventions.length === 0) { io.out('no interventions in flight'); return EXIT.ok }
      io.out(table(['TARGET', 'ACTION', 'OWNER', 'STATE', 'SINCE', 'EXPIRES', 'INCIDENT'], interventions.map((i) => [i.target, i.action, i.owner, i.state, ago(i.sinceMs), i.expiresMs === undefined ? undefined : clock(i.expiresMs), i.incidentId])))
      return EXIT.ok
    }
  },
  approvals: {
    summary: 'recoveries waiting for an operator (and recent decisions)',
    usage: 'homeostat approvals [--all] [--json]',
    options: { ...common, all: { type: 'boolean' } },
    async run (v, _p, io) {
      const { approvals } = await client(v).get<{ approvals: Approval[] }>(v.all === true ? '/api/approvals' : '/api/approvals?state=pending')
      if (v.json === true) { io.out(JSON.stringify(approvals, null, 2)); return EXIT.ok }
      if (approvals.length === 0) { io.out(v.all === true ? 'no approvals' : 'no approvals pending'); return EXIT.ok }
      io.out(table(['ID', 'STATE', 'COMPONENT', 'ACTION', 'RISK', 'INCIDENT', 'REQUESTED', 'REASON'], approvals.map((a) => [a.id, a.state, a.component, a.action, a.risk?.toFixed(2), a.incidentId, ago(a.requestedAtMs), a.reason])))
      return EXIT.ok
    }
  },
  approve: {
    summary: 'let a recovery that waits for approval go ahead',
    usage: 'homeostat approve ID [--note TEXT]',
    options: { ...common, note: { type: 'string' } },
    async run (v, p, io) { return await decide(v, p, io, 'approve') }
  },
  deny: {
    summary: 'refuse a recovery that waits for approval',
    usage: 'homeostat deny ID [--note TEXT]',
    options: { ...common, note: { type: 'string' } },
    async run (v, p, io) { return await decide(v, p, io, 'deny') }
  },
  release: {
    summary: 'lift a component\'s quarantine once its cause is fixed (it starts again, or rejoins the fleet\'s placement)',
    usage: 'homeostat release COMPONENT',
    options: common,
    async run (v, p, io) {
      if (p.length !== 1) throw new UsageError('homeostat release takes one component name (see `homeostat status`)')
      const r = await client(v).post<{ component: string, state: string, started: boolean, placedByFleet: boolean }>(`/api/components/${encodeURIComponent(p[0])}/release`, { by: `cli:${process.env.USER ?? 'unknown'}` })
      if (v.json === true) { io.out(JSON.stringify(r, null, 2)); return EXIT.ok }
      io.out(r.placedByFleet
        ? `${r.component} released: relocatable, this node hosts it again when the fleet places it here`
        : `${r.component} released: ${r.started ? 'started again' : `now ${r.state}`}`)
      return EXIT.ok
    }
  },
  start: {
    summary: 'start a component that is not running (exited, stopped, or quarantined) and end its retry back-off',
    usage: 'homeostat start COMPONENT',
    options: common,
    async run (v, p, io) { return await componentVerb(v, p, io, 'start') }
  },
  restart: {
    summary: 'restart a component (or start it if it is not running) and end its retry back-off',
    usage: 'homeostat restart COMPONENT',
    options: common,
    async run (v, p, io) { return await componentVerb(v, p, io, 'restart') }
  },
  observations: {
    summary: 'signals that opened no incident on their own (metric anomalies, node-wide readings), newest first',
    usage: 'homeostat observations [--limit N] [--json]',
    options: { ...common, limit: { type: 'string', default: '20' } },
    async run (v, _p, io) {
      const limit = Number.parseInt(v.limit as string, 10)
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive whole number, got "${v.limit as string}"`)
      const { observations } = await client(v).get<{ observations: ObservationView[] }>(`/api/observations?limit=${limit}`)
      if (v.json === true) { io.out(JSON.stringify(observations, null, 2)); return EXIT.ok }
      if (observations.length === 0) { io.out('no observations'); return EXIT.ok }
      io.out(table(['TIME', 'COMPONENT', 'CLASS', 'METRIC', 'VALUE', 'SCORE', 'WHY NO ACTION'], observations.map((o) => [clock(o.atMs), o.component, o.failureClass, o.metric, Number(o.value.toFixed(3)), o.score.toFixed(2), o.why])))
      return EXIT.ok
    }
  },
  policy: {
    summary: 'the recovery policy in force and the safety-budget ledger',
    usage: 'homeostat policy [--json]',
    options: common,
    async run (v, _p, io) {
      const c = client(v)
      const [policy, budget] = await Promise.all([c.get<PolicyView>('/api/policy'), c.get<BudgetView>('/api/budget')])
      if (v.json === true) { io.out(JSON.stringify({ policy, budget }, null, 2)); return EXIT.ok }
      io.out(`policy: ${policy.kind}${policy.version === undefined ? '' : ' v' + policy.version}${policy.source === undefined ? '' : ' (' + policy.source + ')'}`)
      io.out(`budget: ${policy.budgetMode}, β = ${policy.budgetFraction} of capacity; approval above risk ${policy.approvalRiskThreshold}`)
      if (budget.available) io.out(`ledger: spent ${budget.spentUnits?.toFixed(3) ?? '-'} of ${budget.betaUnits?.toFixed(3) ?? '-'} in the last ${ms(budget.windowMs)}`)
      else io.out('ledger: not available (no budgeted policy running)')
      if (policy.actions !== undefined && policy.actions.length > 0) {
        io.out('')
        io.out(table(['CLASS', 'ACTION', 'SUCCESS', 'TRIALS', 'MEAN COST'], policy.actions.map((a) => [a.failureClass, a.action, a.successRate === undefined ? undefined : `${Math.round(a.successRate * 100)}%`, a.trials, a.meanCost?.toFixed(3)])))
      }
      if (budget.entries !== undefined && budget.entries.length > 0) {
        io.out('')
        io.out(table(['TIME', 'ACTION', 'COST', 'ADMITTED', 'INCIDENT', 'REASON'], budget.entries.slice(-20).map((e) => [clock(e.atMs), e.action, e.costUnits.toFixed(3), e.admitted ? 'yes' : 'no', e.incidentId, e.reason])))
      }
      return EXIT.ok
    }
  },
  report: {
    summary: 'MTTR, detection latency, overhead and ROR from the incident records',
    usage: 'homeostat report [--json]',
    options: common,
    async run (v, _p, io) {
      const r = await client(v).get<Report>('/api/report')
      if (v.json === true) { io.out(JSON.stringify(r, null, 2)); return EXIT.ok }
      io.out(`${r.scope === 'fleet' ? 'fleet ' : ''}incidents ${r.incidents}: ${r.recovered} recovered, ${r.escalated} escalated, ${r.open} open; heal rate ${r.healRate === undefined ? '-' : Math.round(r.healRate * 100) + '%'}`)
      io.out(`MTTR p50 ${ms(r.mttrP50Ms)}  p95 ${ms(r.mttrP95Ms)}  mean ${ms(r.mttrMeanMs)}`)
      io.out(`detection p50 ${ms(r.detectP50Ms)}  p95 ${ms(r.detectP95Ms)}`)
      io.out(`overhead: agent CPU ${r.overhead.agentCpuPct.toFixed(2)}% of a core (${((r.overheadFraction ?? 0) * 100).toFixed(2)}% of the machine), RSS ${r.overhead.agentRssMb} MB`)
      io.out(r.ror === undefined
        ? 'ROR -: no healed incident the baseline (Kubernetes default timing) would heal too'
        : `ROR ${r.ror.toFixed(1)}: MTTR ${ms(r.mttrComparedMeanMs)} vs ${ms(r.mttrBaselineMeanMs)} for a Kubernetes-timed supervisor (modelled, ${r.mttrCompared} incidents), reduction ${Math.round((r.mttrReduction ?? 0) * 100)}%, ÷ overhead`)
      if (r.byClass.length > 0) {
        io.out('')
        io.out(table(['CLASS', 'COUNT', 'RECOVERED', 'MTTR P50', 'DETECT P50'], r.byClass.map((c) => [c.failureClass, c.count, c.recovered, ms(c.mttrP50Ms), ms(c.detectP50Ms)])))
      }
      return EXIT.ok
    }
  },
  demo: {
    summary: 'a local fleet (1 cloud + 3 edge agents) that heals scripted faults',
    usage: 'homeostat demo [--duration S] [--seed N] [--keep] [--federated]',
    options: { duration: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean' }, federated: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    details: `  --duration S   length of the fault schedule in seconds (default 60)
  --seed N       seed of the fault schedule (default 1)
  --keep         leave the fleet running afterwards (dashboard stays up) until Ctrl-C
  --federated    also run federated training (MNIST shards on the edges; accuracy per node on the dashboard)
The last line printed is one JSON object: faultsInjected, faultsHealed, mttrP50Ms, detectP50Ms.`,
    async run (v, _p, io) {
      const duration = Number(v.duration)
      const seed = Number(v.seed)
      if (!Number.isFinite(duration) || duration < 20) throw new UsageError(`--duration must be a number of seconds ≥ 20, got "${v.duration as string}"`)
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, got "${v.seed as string}"`)
      const { runDemo } = await import('./demo/run.ts')
      return await runDemo({ durationS: duration, seed, keep: v.keep === true, federated: v.federated === true, io })
    }
  }
}

async function componentVerb (v: Record<string, unknown>, p: string[], io: Io, verb: 'start' | 'restart'): Promise<number> {
  if (p.length !== 1) throw new UsageError(`homeostat ${verb} takes one component name (see \`homeostat status\`)`)
  const r = await client(v).post<{ component: string, state: string, started: boolean }>(`/api/components/${encodeURIComponent(p[0])}/${verb}`, { by: `cli:${process.env.USER ?? 'unknown'}` })
  if (v.json === true) { io.out(JSON.stringify(r, null, 2)); return EXIT.ok }
  io.out(r.started ? `${r.component} ${verb}ed: now ${r.state}` : `${r.component} did not start: now ${r.state} (see \`homeostat incidents\` and the agent's log)`)
  return r.started ? EXIT.ok : EXIT.failure
}

async function decide (v: Record<string, unknown>, p: string[], io: Io, what: 'approve' | 'deny'): Promise<number> {
  if (p.length !== 1) throw new UsageError(`homeostat ${what} takes one approval ID (see \`homeostat approvals\`)`)
  const a = await client(v).post<Approval>(`/api/approvals/${encodeURIComponent(p[0])}/${what}`, { note: v.note, by: `cli:${process.env.USER ?? 'unknown'}` })
  if (v.json === true) io.out(JSON.stringify(a, null, 2))
  else io.out(`${a.id} ${a.state}: ${a.action} on ${a.component} (incident ${a.incidentId})`)
  return EXIT.ok
}

function mainHelp (): string {
  const w = Math.max(...Object.keys(verbs).map((k) => k.length))
  return `homeostat ${VERSION} — self-healing agent for AI fleets

Usage: homeostat <command> [options]     (homeostat <command> --help for its options)

Commands:
${Object.entries(verbs).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`).join('\n')}

Exit codes: 0 ok, 1 failure, 2 usage error, 3 agent unreachable, 4 config error, 5 not found or already decided.`
}

function verbHelp (name: string, verb: Verb): string {
  const uses = verb.options === common || verb.options.api !== undefined
  return `${verb.summary}\n\nUsage: ${verb.usage}\n\n${verb.details ?? ''}${verb.details !== undefined && uses ? '\n' : ''}${uses ? CLIENT_HELP : ''}`.trimEnd()
}

export async function main (argv: string[], io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && verbs[rest[0]] !== undefined) { io.out(verbHelp(rest[0], verbs[rest[0]])); return EXIT.ok }
    io.out(mainHelp())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '--version' || name === '-V' || name === 'version') { io.out(VERSION); return EXIT.ok }
  const verb = Object.hasOwn(verbs, name) ? verbs[name] : undefined
  if (verb === undefined) {
    io.err(`homeostat: unknown command "${name}"\n\n${mainHelp()}`)
    return EXIT.usage
  }
  try {
    let parsed
    try {
      parsed = parseArgs({ args: rest, options: verb.options, allowPositionals: true, strict: true })
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''))
    }
    if (parsed.values.help === true) { io.out(verbHelp(name, verb)); return EXIT.ok }
    const takesPositionals = name === 'approve' || name === 'deny' || name === 'release' || name === 'start' || name === 'restart'
    if (!takesPositionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`)
    return await verb.run(parsed.values, parsed.positionals, io)
  } catch (err) {
    if (err instanceof UsageError) { io.err(`homeostat ${name}: ${err.message}\nusage: ${verb.usage}`); return EXIT.usage }
    if (err instanceof ConfigError) { io.err(`homeostat ${name}: invalid config:\n${err.message}`); return EXIT.config }
    if (err instanceof AgentUnreachableError) { io.err(`homeostat ${name}: ${err.message}`); return EXIT.unreachable }
    if (err instanceof DataDirError) { io.err(`homeostat ${name}: ${err.message}`); return EXIT.failure }
    if (err instanceof ApiError) {
      io.err(`homeostat ${name}: ${err.message} (${err.code})`)
      return err.status === 404 || err.status === 409 ? EXIT.notFound : EXIT.failure
    }
    io.err(`homeostat ${name}: ${(err as Error).stack ?? String(err)}`)
    return EXIT.failure
  }
}

// `homeostat incidents | head`: a closed pipe ends the command quietly, like any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); else throw err })

// Run when executed directly (bin/homeostat.js imports main instead).
if (process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
