// `homeostat init`: a commented homeostat.yaml, a fresh swarm key (0600) and
// the data dir (0700) with its API token (0600).
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hostname } from 'node:os'
import { ensureDataDir, ensureToken, writeSecretFile } from '../datadir.ts'
import { parseConfigText } from '../config/load.ts'
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

export function configTemplate (o: { name: string, role: string, apiListen: string }): string {
  return `# homeostat agent configuration. Reload without restarting: systemctl reload homeostat
# (SIGHUP). A bad reload keeps the running config and logs why.
# Values shown are the defaults unless marked otherwise. \${NAME} is replaced by the
# environment variable NAME (use it for secrets); $$ is a literal $.

node:
  name: ${o.name}            # how this node appears to its peers (default: host name)
  role: ${o.role}               # edge: heals local workloads; cloud: also learns fleet policy and shows the fleet
  dataDir: ./homeostat-data    # state, API token and peer identity (created 0700)

api:
  listen: ${o.apiListen}   # local API + dashboard; keep it on loopback (it can approve recoveries)
  dashboard: true              # serve the dashboard at http://<listen>/

log:
  level: info                  # trace, debug, info, warn, error, fatal, silent

mesh:
  enabled: true                # false: this node heals itself alone (no peers)
  listen: ["/ip4/0.0.0.0/tcp/4001"]
  bootstrap: []                # e.g. ["/ip4/10.0.0.5/tcp/4001/p2p/12D3Koo..."] (see \`homeostat status\` on that node)
  mdns: true                   # find peers on the local network
  swarmKeyFile: swarm.key      # the fleet's pre-shared key: copy the SAME file to every node (mode 0600)
  sharedCooldownMs: 30000      # after a shared component's restart, no node restarts it again for 30 s

policy:
  budgetMode: static           # static | dynamic | adaptive safety budget
  budgetFraction: 0.15         # recovery may spend at most 15% of capacity per window
  budgetWindowMs: 3600000      # the budget's sliding window (1 h)
  approvalRiskThreshold: 0.8   # riskier actions wait for \`homeostat approve ID\`; 1 = never ask
  approvalTimeoutMs: 600000    # an unanswered approval expires after 10 min

system:
  sampleMs: 1000               # /proc and /sys sampling period
  detection:                   # anomaly detection on the sampled metrics (defaults tuned on NAB and a real host)
    scoreThreshold: 0.7        # report a metric from this anomaly score (0-1; higher: fewer, surer reports)
    warmupSamples: 300         # a new series is not scored for its first samples
    confirmSamples: 4          # ...and is reported once over the threshold in 4 of its last 5 samples
    confirmWindow: 5
    windowSamples: 250         # the detector's rolling window of "normal"
    learningSamples: 300       # samples before its likelihood is trusted
    utcOffsetMs: 0             # the workload's time zone, for daily patterns (3600000 = UTC+1)
    leakHorizonMs: 30000       # act on a leak predicted to hit its memory limit within 30 s
    diskHorizonMs: 600000      # act on a disk predicted full within 10 min

# The workloads this agent supervises. Each is a child process with probes.
components: []
# Example (uncomment and adapt):
#  - name: inference
#    command: python3
#    args: ["serve.py", "--port", "8080"]
#    env: { MODEL_TOKEN: "\${MODEL_TOKEN}" }
#    restart: on-failure        # always | on-failure | never
#    limits: { memoryMb: 512 }
#    probes:
#      - kind: http             # process | http | tcp | exec | heartbeat | systemd
#        url: http://127.0.0.1:8080/healthz
#        periodMs: 1000
#        timeoutMs: 800
#        failureThreshold: 2
#  - name: trainer              # runs on ONE node of the fleet at a time: list it on every node that may host it
#    command: python3
#    args: ["train.py"]
#    relocatable: true          # moved to a survivor when its node dies or stops
#    priority: 5                # placed first when spare capacity is scarce (default 1)
#    limits: { cpu: 1, memoryMb: 1024 }   # what a host must have free for it
#  - name: model-server         # runs elsewhere and several nodes use it: list it on each of them
#    shared: true               # probed by each; restarted by ONE node at a time (fleet-wide claim + cooldown)
#    command: /usr/local/bin/restart-model-server   # the restart hook, run to completion (exit 0 = done)
#    probes:
#      - kind: http
#        url: http://10.0.0.5:8000/health
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
