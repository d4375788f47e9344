// The agent's configuration schema. Every field has a documented default (the
// `.default(...)` values below; `homeostat init` writes the same values with a
// comment each). Unknown keys are errors: a typo must not silently fall back
// to a default on a machine that runs unattended for months.
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
  windowSamples: DETECTOR_DEFAULTS.windowSamples,
  learningSamples: DETECTOR_DEFAULTS.learningSamples,
  utcOffsetMs: DETECTOR_DEFAULTS.utcOffsetMs,
  leakHorizonMs: WATCH_DEFAULTS.leakHorizonMs,
  diskHorizonMs: WATCH_DEFAULTS.diskHorizonMs
}

const detectionSchema = z.object({
  /** A metric's anomaly score from which it is reported (0–1; higher: fewer, surer reports). */
  scoreThreshold: z.number({ error: 'expected a score between 0 and 1' }).gt(0, { error: 'expected a score between 0 and 1' }).max(1, { error: 'expected a score between 0 and 1' }).default(DETECTION_DEFAULTS.scoreThreshold),
  /** A new series is not scored for its first samples (it reaches new extremes all the time). */
  warmupSamples: wholeIn(0, 100_000).default(DETECTION_DEFAULTS.warmupSamples),
  /** Reported once the score reached the threshold in this many of the last `confirmWindow` samples (a lone spike is noise). */
  confirmSamples: wholeIn(1, 30).default(DETECTION_DEFAULTS.confirmSamples),
  confirmWindow: wholeIn(1, 30).default(DETECTION_DEFAULTS.confirmWindow),
  /** The detector's rolling window of "normal". */
  windowSamples: wholeIn(10, 100_000).default(DETECTION_DEFAULTS.windowSamples),
  /** Samples before the detector's likelihood is trusted. */
  learningSamples: wholeIn(10, 1_000_000).default(DETECTION_DEFAULTS.learningSamples),
  /** The workload's time zone, for its daily pattern (e.g. 3600000 for UTC+1). */
  utcOffsetMs: ms('utcOffsetMs').min(-14 * 3_600_000, { error: 'expected utcOffsetMs between -14 h and +14 h' }).max(14 * 3_600_000, { error: 'expected utcOffsetMs between -14 h and +14 h' }).default(DETECTION_DEFAULTS.utcOffsetMs),
  /** A memory leak is acted on when the limit is predicted within this time. */
  leakHorizonMs: ms('leakHorizonMs').positive({ error: 'expected leakHorizonMs > 0' }).default(DETECTION_DEFAULTS.leakHorizonMs),
  /** A filling disk is acted on when full is predicted within this time. */
  diskHorizonMs: ms('diskHorizonMs').positive({ error: 'expected diskHorizonMs > 0' }).default(DETECTION_DEFAULTS.diskHorizonMs)
}).strict().refine((d) => d.confirmSamples <= d.confirmWindow, { error: 'expected confirmSamples ≤ confirmWindow', path: ['confirmSamples'] })

export const configSchema = z.object({
  node: z.object({
    /** Human name of this node; default: the host name. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected a name of letters, digits, "_", "." or "-" (at most 64)' }).optional(),
    /** edge: supervises local workloads; cloud: also runs the macro loop and shows the fleet. */
    role: z.enum(['edge', 'cloud'], { error: 'expected edge or cloud' }).default('edge'),
    /** Where state lives (LevelDB, API token, peer key). Relative paths are relative to the config file. */
    dataDir: z.string({ error: 'expected a directory path' }).default('./homeostat-data')
  }).strict().default({ role: 'edge', dataDir: './homeostat-data' }),
  api: z.object({
    /** Loopback by default: the API can approve recoveries, keep it off the network. */
    listen: hostPort.default('127.0.0.1:9464'),
    /** Serve the dashboard at / (static files, no CDN). */
    dashboard: z.boolean({ error: 'expected true or false' }).default(true)
  }).strict().default({ listen: '127.0.0.1:9464', dashboard: true }),
  log: z.object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: 'expected one of trace, debug, info, warn, error, fatal, silent' }).default('info')
  }).strict().default({ level: 'info' }),
  mesh: z.object({
    /** false: the agent heals itself alone (micro loop only). */
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    listen: z.array(z.string({ error: 'expected a multiaddr string' }), { error: 'expected a list of multiaddrs' }).default(['/ip4/0.0.0.0/tcp/4001']),
    /** Multiaddrs (with /p2p/<id>) of peers to dial first. */
    bootstrap: z.array(z.string({ error: 'expected a multiaddr string' }), { error: 'expected a list of multiaddrs' }).default([]),
    /** LAN discovery. Off in the demo (loopback fleet uses bootstrap). */
    mdns: z.boolean({ error: 'expected true or false' }).default(true),
    /** The fleet's pre-shared key (libp2p pnet). Relative to the config file. */
    swarmKeyFile: z.string().default('swarm.key'),
    /** After one node's restart of a shared component is verified (or fails), no node restarts it again this soon (hysteresis: no flapping). */
    sharedCooldownMs: ms('sharedCooldownMs').min(0, { error: 'expected sharedCooldownMs in milliseconds (0 or more)' }).default(30_000)
  }).strict().default({ enabled: true, listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [], mdns: true, swarmKeyFile: 'swarm.key', sharedCooldownMs: 30_000 }),
  policy: z.object({
    /** planner: the constrained policy (learned outcomes, safety budget, audit log); playbook: the fixed, readable playbook. */
    engine: z.enum(['planner', 'playbook'], { error: 'expected planner or playbook' }).default('planner'),
    /** static: β = fraction × capacity; dynamic: blends current and historical capacity; adaptive: learned within bounds. */
    budgetMode: z.enum(['static', 'dynamic', 'adaptive'], { error: 'expected one of static, dynamic, adaptive' }).default('static'),
    /** β as a fraction of available capacity (0.15 is the mission-critical default). */
    budgetFraction: z.number({ error: 'expected a fraction between 0 and 1' }).gt(0, { error: 'expected a fraction between 0 and 1' }).max(1, { error: 'expected a fraction between 0 and 1' }).default(0.15),
    /** Sliding window the budget is spent over. */
    budgetWindowMs: ms('budgetWindowMs').positive().default(3_600_000),
    /** Actions whose risk is above this wait for `homeostat approve`. 1 = never ask. */
    approvalRiskThreshold: z.number({ error: 'expected a number between 0 and 1' }).min(0, { error: 'expected a number between 0 and 1' }).max(1, { error: 'expected a number between 0 and 1' }).default(0.8),
    /** An approval nobody answers expires (the planner then picks a safer action or escalates). */
    approvalTimeoutMs: ms('approvalTimeoutMs').positive().default(600_000)
  }).strict().default({ engine: 'planner', budgetMode: 'static', budgetFraction: 0.15, budgetWindowMs: 3_600_000, approvalRiskThreshold: 0.8, approvalTimeoutMs: 600_000 }),
  federated: z.object({
    /** Federated training continuity (MNIST softmax workload): edges train, the cloud validates. */
    enabled: z.boolean({ error: 'expected true or false' }).default(false),
    /** This node's shard of the non-IID split, 0 … shards−1 (edges train on it; the cloud validates). */
    shard: z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' }).min(0, { error: 'expected a whole number ≥ 0' }).default(0),
    shards: z.number({ error: 'expected a whole number' }).int().min(1).max(64).default(3),
    seed: z.number({ error: 'expected a whole number' }).int().default(1),
    /** A local round every 10 s: a Pi trains a round in well under a second. */
    roundIntervalMs: ms('roundIntervalMs').min(200, { error: 'expected roundIntervalMs ≥ 200' }).default(10_000)
  }).strict().default({ enabled: false, shard: 0, shards: 3, seed: 1, roundIntervalMs: 10_000 }),
  system: z.object({
    /** /proc and /sys sampling period. 1 s is cheap on a Pi and sees a leak trend in seconds. */
    sampleMs: ms('sampleMs').min(100, { error: 'expected sampleMs ≥ 100' }).default(1000),
    /** Anomaly detection on the sampled metrics (the monitor's watch and detector; defaults tuned on NAB and a real host). */
    detection: detectionSchema.default(DETECTION_DEFAULTS)
  }).strict().default({ sampleMs: 1000, detection: DETECTION_DEFAULTS }),
  components: z.array(componentSchema, { error: 'expected a list of components' }).max(256, { error: 'at most 256 components' }).default([]),
  /** Per-component recovery settings: artifact rollback, degrade fallback, freeDisk patterns, throttle, reloadable, graceMs. */
  recovery: z.record(z.string(), componentRecoveryConfigSchema, { error: 'expected a map of component name → recovery settings' }).default({})
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
