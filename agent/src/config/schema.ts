// The agent's configuration schema. Every field carries its description
// (`.describe(...)`: read at run time, unlike a comment) and its default;
// agent/CONFIG.md is generated from them (`npm run config-reference`) and
// `homeostat init` shows the same defaults. Unknown keys are errors: a typo
// must not silently fall back to a default on a machine that runs unattended
// for months.
import { z } from 'zod'
import { componentSchema, probeSchema, DETECTOR_DEFAULTS, WATCH_DEFAULTS, type ComponentSpec, type ProbeSpec } from '@homeostat/monitor'
import { componentRecoveryConfigSchema } from '@homeostat/recovery'

const ms = (what: string) => z.number({ error: `expected ${what} in milliseconds (a whole number)` }).int({ error: `expected ${what} in milliseconds (a whole number)` })

const hostPort = z.string({ error: 'expected "host:port", e.g. "127.0.0.1:9464"' })
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected "host:port", e.g. "127.0.0.1:9464"' })

// Components and their probes are the monitor's schema, unchanged: the micro
// loop receives exactly what was validated here.
export { componentSchema, probeSchema }

const wholeIn = (lo: number, hi: number) => z.number({ error: `expected a whole number from ${lo} to ${hi}` }).int({ error: `expected a whole number from ${lo} to ${hi}` }).min(lo, { error: `expected a whole number from ${lo} to ${hi}` }).max(hi, { error: `expected a whole number from ${lo} to ${hi}` })

/** `system.detection`: the knobs an operator may need on a noisy or unusual host; each default is the monitor's. */
export const DETECTION_DEFAULTS = {
  scoreThreshold: WATCH_DEFAULTS.metricScoreThreshold,
  warmupSamples: WATCH_DEFAULTS.detectorWarmupSamples,
  confirmSamples: WATCH_DEFAULTS.detectorConfirmSamples,
  confirmWindow: WATCH_DEFAULTS.detectorConfirmWindow,
  rearmSamples: WATCH_DEFAULTS.detectorRearmSamples,
  windowSamples: DETECTOR_DEFAULTS.windowSamples,
  learningSamples: DETECTOR_DEFAULTS.learningSamples,
  utcOffsetMs: DETECTOR_DEFAULTS.utcOffsetMs,
  leakHorizonMs: WATCH_DEFAULTS.leakHorizonMs,
  diskHorizonMs: WATCH_DEFAULTS.diskHorizonMs
}

const detectionSchema = z.object({
  scoreThreshold: z.number({ error: 'expected a score between 0 and 1' }).gt(0, { error: 'expected a score between 0 and 1' }).max(1, { error: 'expected a score between 0 and 1' }).default(DETECTION_DEFAULTS.scoreThreshold).describe('A metric\'s anomaly score from which it is reported (0–1; higher: fewer, surer reports).'),
  warmupSamples: wholeIn(0, 100_000).default(DETECTION_DEFAULTS.warmupSamples).describe('A new series is not scored for its first samples (it reaches new extremes all the time).'),
  confirmSamples: wholeIn(1, 30).default(DETECTION_DEFAULTS.confirmSamples).describe('Reported once the score reached the threshold in this many of the last `confirmWindow` samples (1 of 1: at once; the detector already averages its scores, and a metric anomaly alone never acts).'),
  confirmWindow: wholeIn(1, 30).default(DETECTION_DEFAULTS.confirmWindow).describe('The number of recent samples `confirmSamples` is counted in.'),
  rearmSamples: wholeIn(1, 1_000_000).default(DETECTION_DEFAULTS.rearmSamples).describe('A metric anomaly ends after this many unconfirmed samples in a row; only then may the series report again (one report per event).'),
  windowSamples: wholeIn(10, 100_000).default(DETECTION_DEFAULTS.windowSamples).describe('The detector\'s rolling window of "normal".'),
  learningSamples: wholeIn(10, 1_000_000).default(DETECTION_DEFAULTS.learningSamples).describe('Samples before the detector\'s likelihood is trusted.'),
  utcOffsetMs: ms('utcOffsetMs').min(-14 * 3_600_000, { error: 'expected utcOffsetMs between -14 h and +14 h' }).max(14 * 3_600_000, { error: 'expected utcOffsetMs between -14 h and +14 h' }).default(DETECTION_DEFAULTS.utcOffsetMs).describe('The workload\'s time zone, for its daily pattern (e.g. 3600000 for UTC+1).'),
  leakHorizonMs: ms('leakHorizonMs').positive({ error: 'expected leakHorizonMs > 0' }).default(DETECTION_DEFAULTS.leakHorizonMs).describe('A memory leak is acted on when the limit is predicted within this time.'),
  diskHorizonMs: ms('diskHorizonMs').positive({ error: 'expected diskHorizonMs > 0' }).default(DETECTION_DEFAULTS.diskHorizonMs).describe('A filling disk is acted on when full is predicted within this time.')
}).strict().refine((d) => d.confirmSamples <= d.confirmWindow, { error: 'expected confirmSamples ≤ confirmWindow', path: ['confirmSamples'] })

export const configSchema = z.object({
  node: z.object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected a name of letters, digits, "_", "." or "-" (at most 64)' }).optional().describe('Human name of this node, as its peers show it; default: the host name.'),
    role: z.enum(['edge', 'cloud'], { error: 'expected edge or cloud' }).default('edge').describe('edge: supervises local workloads; cloud: also runs the macro loop and shows the fleet.'),
    dataDir: z.string({ error: 'expected a directory path' }).default('./homeostat-data').describe('Where state lives (LevelDB, API token, peer key). Relative paths are relative to the config file.')
  }).strict().default({ role: 'edge', dataDir: './homeostat-data' }).describe('This node: its name, role and where its state lives.'),
  api: z.object({
    listen: hostPort.default('127.0.0.1:9464').describe('host:port of the local API and dashboard. Loopback by default: the API can approve recoveries, keep it off the network.'),
    dashboard: z.boolean({ error: 'expected true or false' }).default(true).describe('Serve the dashboard at / (static files, no CDN).')
  }).strict().default({ listen: '127.0.0.1:9464', dashboard: true }).describe('The local HTTP API (status, incidents, approvals) and the dashboard.'),
  log: z.object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: 'expected one of trace, debug, info, warn, error, fatal, silent' }).default('info').describe('Lowest level written to the JSON log on stdout.')
  }).strict().default({ level: 'info' }).describe('The agent\'s log: JSON lines on stdout.'),
  mesh: z.object({
    enabled: z.boolean({ error: 'expected true or false' }).default(true).describe('false: the agent heals itself alone (micro loop only).'),
    listen: z.array(z.string({ error: 'expected a multiaddr string' }), { error: 'expected a list of multiaddrs' }).default(['/ip4/0.0.0.0/tcp/4001']).describe('Multiaddrs the mesh listens on.'),
    bootstrap: z.array(z.string({ error: 'expected a multiaddr string' }), { error: 'expected a list of multiaddrs' }).default([]).describe('Multiaddrs (with /p2p/<id>) of peers to dial first.'),
    mdns: z.boolean({ error: 'expected true or false' }).default(true).describe('LAN discovery. Off in the demo (loopback fleet uses bootstrap).'),
    swarmKeyFile: z.string().default('swarm.key').describe('The fleet\'s pre-shared key (libp2p pnet). Relative to the config file.'),
    sharedCooldownMs: ms('sharedCooldownMs').min(0, { error: 'expected sharedCooldownMs in milliseconds (0 or more)' }).default(30_000).describe('After one node\'s restart of a shared component is verified (or fails), no node restarts it again this soon (hysteresis: no flapping).')
  }).strict().default({ enabled: true, listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [], mdns: true, swarmKeyFile: 'swarm.key', sharedCooldownMs: 30_000 }).describe('The private libp2p mesh to the fleet\'s other agents.'),
  policy: z.object({
    engine: z.enum(['planner', 'playbook'], { error: 'expected planner or playbook' }).default('planner').describe('planner: the constrained policy (learned outcomes, safety budget, audit log); playbook: the fixed, readable playbook.'),
    budgetMode: z.enum(['static', 'dynamic', 'adaptive'], { error: 'expected one of static, dynamic, adaptive' }).default('static').describe('static: β = fraction × capacity; dynamic: blends current and historical capacity; adaptive: learned within bounds.'),
    budgetFraction: z.number({ error: 'expected a fraction between 0 and 1' }).gt(0, { error: 'expected a fraction between 0 and 1' }).max(1, { error: 'expected a fraction between 0 and 1' }).default(0.15).describe('β, the share of available capacity that recovery may spend per window (the default is the mission-critical setting).'),
    budgetWindowMs: ms('budgetWindowMs').positive().default(3_600_000).describe('Sliding window the budget is spent over.'),
    approvalRiskThreshold: z.number({ error: 'expected a number between 0 and 1' }).min(0, { error: 'expected a number between 0 and 1' }).max(1, { error: 'expected a number between 0 and 1' }).default(0.8).describe('Actions whose risk is above this wait for `homeostat approve`. 1 = never ask.'),
    approvalTimeoutMs: ms('approvalTimeoutMs').positive().default(600_000).describe('An approval nobody answers expires (the planner then picks a safer action or escalates).')
  }).strict().default({ engine: 'planner', budgetMode: 'static', budgetFraction: 0.15, budgetWindowMs: 3_600_000, approvalRiskThreshold: 0.8, approvalTimeoutMs: 600_000 }).describe('How a recovery is chosen: the planning engine, the safety budget β and the approval gate.'),
  federated: z.object({
    enabled: z.boolean({ error: 'expected true or false' }).default(false).describe('Train a model across the fleet (MNIST softmax workload): edges train, the cloud validates.'),
    shard: z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' }).min(0, { error: 'expected a whole number ≥ 0' }).default(0).describe('This node\'s shard of the non-IID split, 0 … shards−1 (edges train on it; the cloud validates).'),
    shards: z.number({ error: 'expected a whole number' }).int().min(1).max(64).default(3).describe('Number of shards the training data is split into (non-IID); shard is one of them.'),
    seed: z.number({ error: 'expected a whole number' }).int().default(1).describe('Seed of the data split (use the same on every node) and of local training.'),
    roundIntervalMs: ms('roundIntervalMs').min(200, { error: 'expected roundIntervalMs ≥ 200' }).default(10_000).describe('Time between local training rounds (a Pi trains a round in well under a second).')
  }).strict().default({ enabled: false, shard: 0, shards: 3, seed: 1, roundIntervalMs: 10_000 }).describe('Federated training continuity: edges keep training through network outages, the cloud validates.'),
  system: z.object({
    sampleMs: ms('sampleMs').min(100, { error: 'expected sampleMs ≥ 100' }).default(1000).describe('/proc and /sys sampling period (the default is cheap on a Pi and sees a leak trend in seconds).'),
    detection: detectionSchema.default(DETECTION_DEFAULTS).describe('Anomaly detection on the sampled metrics (the monitor\'s watch and detector; defaults chosen by leave-one-category-out on NAB; `npm run bench -- nab` scores exactly these).')
  }).strict().default({ sampleMs: 1000, detection: DETECTION_DEFAULTS }).describe('Host metrics sampled from /proc and /sys, and the anomaly detection on them.'),
  components: z.array(componentSchema, { error: 'expected a list of components' }).max(256, { error: 'at most 256 components' }).default([]).describe('The workloads this agent supervises: child processes (or, when shared, services elsewhere) with probes.'),
  recovery: z.record(z.string(), componentRecoveryConfigSchema, { error: 'expected a map of component name → recovery settings' }).default({}).describe('Per-component recovery settings: artifact rollback, degrade fallback, freeDisk patterns, throttle, reloadable, graceMs.')
}).strict().superRefine((c, ctx) => {
  const names = new Set<string>()
  c.components.forEach((comp, i) => {
    if (names.has(comp.name)) ctx.addIssue({ code: 'custom', path: ['components', i, 'name'], message: `duplicate component name "${comp.name}"` })
    names.add(comp.name)
  })
  if (c.federated.enabled && c.federated.shard >= c.federated.shards) ctx.addIssue({ code: 'custom', path: ['federated', 'shard'], message: `expected a shard below federated.shards (${c.federated.shards})` })
  for (const name of Object.keys(c.recovery)) {
    if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['recovery', name], message: `unknown component "${name}" (declared: ${[...names].join(', ') || 'none'})` })
  }
  const relocatable = new Set(c.components.filter((comp) => comp.relocatable).map((comp) => comp.name))
  c.components.forEach((comp, i) => {
    comp.dependsOn.forEach((d, j) => {
      if (!names.has(d)) ctx.addIssue({ code: 'custom', path: ['components', i, 'dependsOn', j], message: `unknown component "${d}" (declared: ${[...names].join(', ') || 'none'})` })
      // A relocatable component may run on another node: nothing can count on it being here.
      else if (relocatable.has(d)) ctx.addIssue({ code: 'custom', path: ['components', i, 'dependsOn', j], message: `"${d}" is relocatable (it may run on another node), so no component can depend on it` })
    })
    if (comp.shared) {
      // Only its probes can say a shared component is down (no process of ours), and nothing of ours runs it.
      if (comp.relocatable) ctx.addIssue({ code: 'custom', path: ['components', i, 'shared'], message: 'a component is either shared (runs elsewhere, used by several nodes) or relocatable (runs on one of our nodes), not both' })
      if (comp.probes.length === 0) ctx.addIssue({ code: 'custom', path: ['components', i, 'probes'], message: 'a shared component needs at least one probe (http, tcp or exec): nothing else can tell that it is down' })
      comp.probes.forEach((p, j) => {
        if (p.kind === 'process' || p.kind === 'heartbeat') ctx.addIssue({ code: 'custom', path: ['components', i, 'probes', j], message: `a shared component runs elsewhere: a ${p.kind} probe cannot see it (use http, tcp or exec)` })
      })
      for (const f of ['artifact', 'fallback'] as const) if (comp[f] !== undefined) ctx.addIssue({ code: 'custom', path: ['components', i, f], message: `a shared component runs elsewhere: ${f} cannot apply to it` })
      if (Object.keys(comp.limits).length > 0) ctx.addIssue({ code: 'custom', path: ['components', i, 'limits'], message: 'a shared component runs elsewhere: limits cannot apply to it' })
    }
  })
})

export type AgentConfig = z.output<typeof configSchema>
export type ComponentConfig = ComponentSpec
export type ProbeConfig = ProbeSpec
