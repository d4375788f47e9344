// `homeostat init`: a commented homeostat.yaml, a fresh swarm key (0600) and
// the data dir (0700) with its API token (0600).
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hostname } from 'node:os'
import { ensureDataDir, ensureToken, writeSecretFile } from '../datadir.ts'
import { parseConfigText } from '../config/load.ts'
import { configFields, duration, fieldDefault } from '../config/reference.ts'
import { UsageError } from '../errors.ts'

export interface InitOptions {
  dir: string
  name?: string
  role: 'edge' | 'cloud'
  force: boolean
  /** Use this swarm key file content instead of generating one (join an existing fleet). */
  swarmKey?: string
  apiListen?: string
}

/** A default as YAML: the schema's, so the template cannot drift from it (a missing default throws). */
function yamlOf (value: unknown): string {
  if (typeof value === 'string' && /^[A-Za-z0-9_./:-]+$/.test(value) && !/^[0-9.:-]+$/.test(value)) return value
  return JSON.stringify(value)
}

/**
 * The commented homeostat.yaml. Every value written is the schema's default (read from it, so they
 * cannot drift apart) except node.name, node.role and api.listen; commented-out examples (lines of
 * `#` and indented YAML) show the sections that have no default content, their comments saying which
 * numbers are defaults. Tests check both.
 */
export function configTemplate (o: { name: string, role: string, apiListen: string }): string {
  const fields = configFields()
  const d = (path: string): unknown => fieldDefault(path, fields)
  const v = (path: string): string => yamlOf(d(path))
  const num = (path: string): number => d(path) as number
  const dur = (path: string): string => duration(num(path))
  const probe = (key: string): string => v(`components[].probes[] (kind: http).${key}`)
  const unset = (path: string): string => {
    const f = fields.find((x) => x.path === path)
    if (f?.whenUnset === undefined) throw new Error(`config field ${path} has no run-time default`)
    const value = f.whenUnset.value
    return typeof value === 'number' && path.endsWith('Ms') ? duration(value) : yamlOf(value)
  }
  return `# homeostat agent configuration. Reload without restarting: systemctl reload homeostat
# (SIGHUP). A bad reload keeps the running config and logs why.
# Values shown are the defaults, except node.name, node.role and api.listen; the commented
# examples say which of their values are defaults. Every key is described in agent/CONFIG.md
# of the homeostat repository. \${NAME} is replaced by the environment variable NAME (use
# it for secrets); $$ is a literal $.

node:
  name: ${o.name}            # how this node appears to its peers (unset: the host name)
  role: ${o.role}               # edge: heals local workloads; cloud: also learns fleet policy and shows the fleet
  dataDir: ${v('node.dataDir')}    # state, API token and peer identity (created 0700)

api:
  listen: ${o.apiListen}   # local API + dashboard; keep it on loopback (it can approve recoveries)
  dashboard: ${v('api.dashboard')}              # serve the dashboard at http://<listen>/

log:
  level: ${v('log.level')}                  # trace, debug, info, warn, error, fatal, silent

mesh:
  enabled: ${v('mesh.enabled')}                # false: this node heals itself alone (no peers)
  listen: ${v('mesh.listen')}
  bootstrap: ${v('mesh.bootstrap')}                # e.g. ["/ip4/10.0.0.5/tcp/4001/p2p/12D3Koo..."] (see \`homeostat status\` on that node)
  mdns: ${v('mesh.mdns')}                   # find peers on the local network
  swarmKeyFile: ${v('mesh.swarmKeyFile')}      # the fleet's pre-shared key: copy the SAME file to every node (mode 0600)
  sharedCooldownMs: ${v('mesh.sharedCooldownMs')}      # after a shared component's restart, no node restarts it again for ${dur('mesh.sharedCooldownMs')}

policy:
  engine: ${v('policy.engine')}              # planner: learned outcomes under the safety budget, audit log | playbook: fixed rules
  budgetMode: ${v('policy.budgetMode')}           # static | dynamic | adaptive safety budget
  budgetFraction: ${v('policy.budgetFraction')}         # recovery may spend at most ${Math.round(num('policy.budgetFraction') * 100)}% of capacity per window
  budgetWindowMs: ${v('policy.budgetWindowMs')}      # the budget's sliding window (${dur('policy.budgetWindowMs')})
  approvalRiskThreshold: ${v('policy.approvalRiskThreshold')}   # riskier actions wait for \`homeostat approve ID\`; 1 = never ask
  approvalTimeoutMs: ${v('policy.approvalTimeoutMs')}    # an unanswered approval expires after ${dur('policy.approvalTimeoutMs')}

federated:                     # federated training across the fleet (MNIST softmax workload)
  enabled: ${v('federated.enabled')}               # true: edges train on their shard, the cloud validates the merged model
  shard: ${v('federated.shard')}                     # this node's shard of the data, 0 … shards-1
  shards: ${v('federated.shards')}                    # how many shards the data is split into
  seed: ${v('federated.seed')}                      # the split's seed: the same on every node
  roundIntervalMs: ${v('federated.roundIntervalMs')}       # a local training round every ${dur('federated.roundIntervalMs')}

system:
  sampleMs: ${v('system.sampleMs')}               # /proc and /sys sampling period
  detection:                   # anomaly detection on the sampled metrics (defaults tuned on NAB and a real host)
    scoreThreshold: ${v('system.detection.scoreThreshold')}        # report a metric from this anomaly score (0-1; higher: fewer, surer reports)
    warmupSamples: ${v('system.detection.warmupSamples')}         # a new series is not scored for its first samples
    confirmSamples: ${v('system.detection.confirmSamples')}          # ...and is reported once over the threshold in ${v('system.detection.confirmSamples')} of its last ${v('system.detection.confirmWindow')} samples
    confirmWindow: ${v('system.detection.confirmWindow')}
    windowSamples: ${v('system.detection.windowSamples')}         # the detector's rolling window of "normal"
    learningSamples: ${v('system.detection.learningSamples')}       # samples before its likelihood is trusted
    utcOffsetMs: ${v('system.detection.utcOffsetMs')}             # the workload's time zone, for daily patterns (3600000 = UTC+1)
    leakHorizonMs: ${v('system.detection.leakHorizonMs')}       # act on a leak predicted to hit its memory limit within ${dur('system.detection.leakHorizonMs')}
    diskHorizonMs: ${v('system.detection.diskHorizonMs')}      # act on a disk predicted full within ${dur('system.detection.diskHorizonMs')}

# The workloads this agent supervises. Each is a child process with probes.
components: ${v('components')}
# Example (uncomment and adapt; values are examples unless a comment says "default"):
#  - name: inference
#    command: python3
#    args: ["serve.py", "--port", "8080"]
#    env: { MODEL_TOKEN: "\${MODEL_TOKEN}" }
#    cwd: /opt/inference        # working directory (unset: the agent's)
#    restart: ${v('components[].restart')}        # always | on-failure | never (default ${v('components[].restart')})
#    dependsOn: [model-server]  # started after these, stopped before them; diagnosis follows these edges
#    targetKind: ${v('components[].targetKind')}        # process | service | device | training | node (default ${v('components[].targetKind')})
#    artifact:                  # a versioned model: rollback goes to the version before \`version\`
#      path: /models/{version}/model.onnx
#      versions: [v6, v7]       # oldest → newest
#      version: v7              # the one in use (unset: the newest)
#    fallback: { env: { MODEL: tiny } }   # degrade: these fields replace the component's own
#    limits:                    # ceilings the monitor predicts and enforces
#      memoryMb: 512            # RSS ceiling: killed (reason "oom") above it, acted on before it when leaking
#      cpu: 1.5                 # CPU ceiling in cores (0.5 = half a core)
#      disk: { path: /var/log/inference, limitMb: 2048 }   # a directory it writes and its size ceiling
#    probes:
#      - kind: http             # process | http | tcp | exec | heartbeat | systemd
#        url: http://127.0.0.1:8080/healthz
#        periodMs: ${probe('periodMs')}         # default
#        timeoutMs: ${probe('timeoutMs')}        # default; a hung server fails by timeout
#        failureThreshold: ${probe('failureThreshold')}    # default; consecutive failures before it is unhealthy
#  - name: trainer              # runs on ONE node of the fleet at a time: list it on every node that may host it
#    command: python3
#    args: ["train.py"]
#    relocatable: true          # moved to a survivor when its node dies or stops (default ${v('components[].relocatable')})
#    priority: 5                # placed first when spare capacity is scarce (default ${v('components[].priority')})
#    limits: { cpu: 1, memoryMb: 1024 }   # what a host must have free for it
#  - name: model-server         # runs elsewhere and several nodes use it: list it on each of them
#    shared: true               # probed by each; restarted by ONE node at a time (fleet-wide claim + cooldown)
#    command: /usr/local/bin/restart-model-server   # the restart hook, run to completion (exit 0 = done)
#    probes:
#      - kind: http
#        url: http://10.0.0.5:8000/health

# How each component may be repaired, by component name (components without an entry get
# the defaults of each action).
recovery: ${v('recovery')}
# Example (uncomment and adapt; values are examples unless a comment says "default"):
#  inference:
#    freeDisk:                  # free_disk may delete files here, oldest first, and nothing outside
#      paths: [/var/log/inference]
#      patterns: ['\\.log\\.[0-9]+$']   # only files whose name matches (unset: any file)
#      keepRecentMs: 60000      # never a file written in the last minute (unset: ${unset('recovery.<component>.freeDisk.keepRecentMs')})
#    throttle: { cpuFraction: 0.5 }   # CPU share when throttled, in cores (unset: limits.cpu, else ${unset('recovery.<component>.throttle.cpuFraction')})
#    artifact: { path: /models/current }   # rollback: a symlink re-pointed at the previous version
#    fallback:                  # degrade: this patch applied to the component
#      patch: { env: { MODEL: tiny } }
#      description: switch to the tiny model
#    reloadable: true           # SIGHUP makes it reload its configuration
#    graceMs: 5000              # SIGTERM → SIGKILL grace of its restarts (unset: ${unset('recovery.<component>.graceMs')})
`
}

export interface InitResult { configFile: string, swarmKeyFile: string, dataDir: string, tokenFile: string }

export async function runInit (o: InitOptions): Promise<InitResult> {
  // Loaded on demand: the mesh package pulls in libp2p, which the other verbs do not need.
  const { generateSwarmKey } = await import('@homeostat/mesh')
  const dir = resolve(o.dir)
  mkdirSync(dir, { recursive: true })
  const configFile = join(dir, 'homeostat.yaml')
  const swarmKeyFile = join(dir, 'swarm.key')
  if (!o.force) {
    for (const f of [configFile, swarmKeyFile]) {
      if (existsSync(f)) throw new UsageError(`${f} already exists; pass --force to overwrite it (a new swarm key cuts this node off the fleet)`)
    }
  }
  const name = o.name ?? hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64)
  const text = configTemplate({ name, role: o.role, apiListen: o.apiListen ?? '127.0.0.1:9464' })
  parseConfigText(text, configFile, { env: {} }) // the template must itself be valid
  writeFileSync(configFile, text, { mode: 0o600 })
  chmodSync(configFile, 0o600)
  writeSecretFile(swarmKeyFile, o.swarmKey ?? new TextDecoder().decode(generateSwarmKey()) + '\n')
  const dataDir = join(dir, 'homeostat-data')
  ensureDataDir(dataDir)
  ensureToken(dataDir)
  return { configFile, swarmKeyFile, dataDir, tokenFile: join(dataDir, 'api.token') }
}
