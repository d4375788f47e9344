// Config errors: a table of bad configs, each with the exact message it must
// produce (file:line:col: field: what is expected). Plus defaults, ${ENV}
// interpolation, and the init template being valid.
import assert from 'node:assert/strict'
import { writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfigText, loadConfig, interpolate } from '../src/config/load.ts'
import { configTemplate } from '../src/cli/init.ts'
import { DETECTION_DEFAULTS } from '../src/config/schema.ts'
import { watchOptionsOf } from '../src/loops/micro/index.ts'
import { WATCH_DEFAULTS, DETECTOR_DEFAULTS } from '@homeostat/monitor'
import { ConfigError } from '../src/errors.ts'
import { tempDir } from './helpers.ts'

const BAD: Array<{ what: string, yaml: string, env?: Record<string, string>, message: string }> = [
  { what: 'api.listen not host:port', yaml: 'api:\n  listen: nope\n', message: 'h.yaml:2:11: api.listen: expected "host:port", e.g. "127.0.0.1:9464", got "nope"' },
  { what: 'unknown key (typo)', yaml: 'node:\n  rol: edge\n', message: 'h.yaml:2:3: node.rol: unknown key (expected one of: name, role, dataDir)' },
  { what: 'unknown top-level key', yaml: 'nodes: {}\n', message: 'h.yaml:1:1: nodes: unknown key (expected one of: node, api, log, mesh, policy, federated, system, components, recovery)' },
  { what: 'role not edge/cloud', yaml: 'node:\n  role: fog\n', message: 'h.yaml:2:9: node.role: expected edge or cloud, got "fog"' },
  { what: 'log level', yaml: 'log:\n  level: loud\n', message: 'h.yaml:2:10: log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"' },
  { what: 'budget fraction > 1', yaml: 'policy:\n  budgetFraction: 2\n', message: 'h.yaml:2:19: policy.budgetFraction: expected a fraction between 0 and 1, got 2' },
  { what: 'budget mode', yaml: 'policy:\n  budgetMode: yolo\n', message: 'h.yaml:2:15: policy.budgetMode: expected one of static, dynamic, adaptive, got "yolo"' },
  { what: 'sampleMs too small', yaml: 'system:\n  sampleMs: 10\n', message: 'h.yaml:2:13: system.sampleMs: expected sampleMs ≥ 100, got 10' },
  { what: 'detection score above 1', yaml: 'system:\n  detection:\n    scoreThreshold: 2\n', message: 'h.yaml:3:21: system.detection.scoreThreshold: expected a score between 0 and 1, got 2' },
  { what: 'detection confirmation larger than its window', yaml: 'system:\n  detection:\n    confirmSamples: 6\n', message: 'h.yaml:3:21: system.detection.confirmSamples: expected confirmSamples ≤ confirmWindow' },
  { what: 'detection typo', yaml: 'system:\n  detection:\n    windowSmples: 6\n', message: 'h.yaml:3:5: system.detection.windowSmples: unknown key (expected one of: scoreThreshold, warmupSamples, confirmSamples, confirmWindow, rearmSamples, windowSamples, learningSamples, utcOffsetMs, leakHorizonMs, diskHorizonMs)' },
  { what: 'detection time zone out of range', yaml: 'system:\n  detection:\n    utcOffsetMs: 86400000\n', message: 'h.yaml:3:18: system.detection.utcOffsetMs: expected utcOffsetMs between -14 h and +14 h, got 86400000' },
  { what: 'mesh.enabled not boolean', yaml: 'mesh:\n  enabled: "yes"\n', message: 'h.yaml:2:12: mesh.enabled: expected true or false, got "yes"' },
  { what: 'component without command', yaml: 'components:\n  - name: web\n', message: 'h.yaml:2:5: components[0].command: missing; expected a command' },
  { what: 'probe periodMs not a number', yaml: 'components:\n  - name: web\n    command: node\n    probes:\n      - kind: http\n        url: http://127.0.0.1:1/\n        periodMs: fast\n', message: 'h.yaml:7:19: components[0].probes[0].periodMs: expected a positive number, got "fast"' },
  { what: 'unknown probe kind', yaml: 'components:\n  - name: web\n    command: node\n    probes:\n      - kind: carrier-pigeon\n', message: 'h.yaml:5:15: components[0].probes[0].kind: expected a probe kind: process, http, tcp, exec, heartbeat or systemd' },
  { what: 'http probe without url', yaml: 'components:\n  - name: web\n    command: node\n    probes:\n      - kind: http\n', message: 'h.yaml:5:9: components[0].probes[0].url: missing; expected an http(s) URL' },
  { what: 'unknown key in a probe', yaml: 'components:\n  - name: web\n    command: node\n    probes:\n      - kind: tcp\n        port: 80\n        colour: red\n', message: 'h.yaml:7:9: components[0].probes[0].colour: unknown key (expected one of: kind, name, periodMs, timeoutMs, failureThreshold, successThreshold, initialDelayMs, host, port)' },
  { what: 'restart policy', yaml: 'components:\n  - name: a\n    command: x\n    restart: sometimes\n', message: 'h.yaml:4:14: components[0].restart: expected "always", "on-failure" or "never", got "sometimes"' },
  { what: 'dependency on an unknown component', yaml: 'components:\n  - name: a\n    command: x\n    dependsOn: [b]\n', message: 'h.yaml:4:17: components[0].dependsOn[0]: unknown component "b" (declared: a)' },
  { what: 'dependency on a relocatable component', yaml: 'components:\n  - name: a\n    command: x\n    relocatable: true\n  - name: b\n    command: y\n    dependsOn: [a]\n', message: 'h.yaml:7:17: components[1].dependsOn[0]: "a" is relocatable (it may run on another node), so no component can depend on it' },
  { what: 'relocation priority', yaml: 'components:\n  - name: a\n    command: x\n    relocatable: true\n    priority: high\n', message: 'h.yaml:5:15: components[0].priority: expected a whole number from 0 to 1000, got "high"' },
  { what: 'duplicate component names', yaml: 'components:\n  - name: a\n    command: x\n  - name: a\n    command: y\n', message: 'h.yaml:4:11: components[1].name: duplicate component name "a"' },
  { what: 'recovery for an unknown component', yaml: 'components:\n  - name: a\n    command: x\nrecovery:\n  b: { reloadable: true }\n', message: 'h.yaml:5:6: recovery.b: unknown component "b" (declared: a)' },
  { what: 'missing environment variable', yaml: 'mesh:\n  swarmKeyFile: ${SWARM_KEY_PATH}\n', message: 'h.yaml:2:17: mesh.swarmKeyFile: environment variable SWARM_KEY_PATH is not set (the value is "${SWARM_KEY_PATH}")' },
  { what: 'missing env var inside a component env', yaml: 'components:\n  - name: a\n    command: x\n    env: { TOKEN: "${MODEL_TOKEN}" }\n', message: 'h.yaml:4:19: components[0].env.TOKEN: environment variable MODEL_TOKEN is not set (the value is "${MODEL_TOKEN}")' },
  { what: 'shared and relocatable', yaml: 'components:\n  - name: a\n    command: x\n    shared: true\n    relocatable: true\n    probes:\n      - kind: tcp\n        port: 80\n', message: 'h.yaml:4:13: components[0].shared: a component is either shared (runs elsewhere, used by several nodes) or relocatable (runs on one of our nodes), not both' },
  { what: 'shared without probes', yaml: 'components:\n  - name: a\n    command: x\n    shared: true\n', message: 'h.yaml:2:5: components[0].probes: a shared component needs at least one probe (http, tcp or exec): nothing else can tell that it is down' },
  { what: 'shared with a process probe', yaml: 'components:\n  - name: a\n    command: x\n    shared: true\n    probes:\n      - kind: process\n', message: 'h.yaml:6:9: components[0].probes[0]: a shared component runs elsewhere: a process probe cannot see it (use http, tcp or exec)' },
  { what: 'shared with limits', yaml: 'components:\n  - name: a\n    command: x\n    shared: true\n    limits: { memoryMb: 10 }\n    probes:\n      - kind: tcp\n        port: 80\n', message: 'h.yaml:5:13: components[0].limits: a shared component runs elsewhere: limits cannot apply to it' },
  { what: 'negative shared cooldown', yaml: 'mesh:\n  sharedCooldownMs: -1\n', message: 'h.yaml:2:21: mesh.sharedCooldownMs: expected sharedCooldownMs in milliseconds (0 or more), got -1' },
  { what: 'duplicate key', yaml: 'log:\n  level: info\nlog:\n  level: warn\n', message: 'h.yaml:3:1: duplicate key (each key may appear once)' },
  { what: 'YAML syntax error', yaml: 'node: [\n', message: 'h.yaml:2:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]' },
  { what: 'top level is a list', yaml: '- a\n', message: 'h.yaml:1:1: expected a map of settings at the top level' }
]

describe('agent config', () => {
  for (const c of BAD) {
    it(`rejects: ${c.what}`, () => {
      let err: unknown
      try { parseConfigText(c.yaml, 'h.yaml', { env: c.env ?? {} }) } catch (e) { err = e }
      assert.ok(err instanceof ConfigError, 'throws ConfigError')
      assert.equal(err.code, 'ERR_CONFIG')
      assert.equal(err.message, c.message)
    })
  }

  it('reports every problem at once, in line order', () => {
    let err: ConfigError | undefined
    try { parseConfigText('log:\n  level: loud\napi:\n  listen: x\n', 'h.yaml', { env: {} }) } catch (e) { err = e as ConfigError }
    assert.equal(err?.problems.length, 2)
    assert.deepEqual(err?.problems.map((p) => p.field), ['log.level', 'api.listen'])
  })

  it('fills documented defaults', () => {
    const c = parseConfigText('', 'h.yaml', { env: {} })
    assert.equal(c.node.role, 'edge')
    assert.equal(c.api.listen, '127.0.0.1:9464')
    assert.equal(c.policy.budgetFraction, 0.15)
    assert.equal(c.policy.budgetMode, 'static')
    assert.equal(c.mesh.enabled, true)
    assert.deepEqual(c.components, [])
  })

  it('interpolates ${ENV} and keeps $$ literal', () => {
    assert.deepEqual(interpolate('a ${X} b $${Y}', { X: '1' }), { value: 'a 1 b ${Y}', missing: [] })
    const c = parseConfigText('components:\n  - name: a\n    command: x\n    env: { TOKEN: "${T}" }\n', 'h.yaml', { env: { T: 's3cret' } })
    assert.equal(c.components[0].env.TOKEN, 's3cret')
  })

  it('the init template is valid and commented', () => {
    const text = configTemplate({ name: 'pi-7', role: 'edge', apiListen: '127.0.0.1:9464' })
    const c = parseConfigText(text, 'homeostat.yaml', { env: {} })
    assert.equal(c.node.name, 'pi-7')
    assert.deepEqual(c.system.detection, DETECTION_DEFAULTS, 'the template writes the defaults')
    assert.deepEqual(parseConfigText('{}\n', 'h.yaml', { env: {} }).system.detection, DETECTION_DEFAULTS)
    assert.ok(text.split('\n').filter((l) => l.includes('#')).length > 20)
  })

  it('system.detection reaches the monitor under its option names; the defaults are the monitor\'s own', () => {
    const d = parseConfigText('system:\n  detection:\n    scoreThreshold: 0.9\n    confirmSamples: 2\n    confirmWindow: 3\n    windowSamples: 500\n    utcOffsetMs: 3600000\n', 'h.yaml', { env: {} }).system.detection
    assert.deepEqual(watchOptionsOf(d), {
      metricScoreThreshold: 0.9, detectorWarmupSamples: 300, detectorConfirmSamples: 2, detectorConfirmWindow: 3, detectorRearmSamples: WATCH_DEFAULTS.detectorRearmSamples, leakHorizonMs: 30_000, diskHorizonMs: 600_000,
      detectorOptions: { windowSamples: 500, learningSamples: 300, utcOffsetMs: 3_600_000 }
    })
    const def = watchOptionsOf(DETECTION_DEFAULTS)
    for (const k of ['metricScoreThreshold', 'detectorWarmupSamples', 'detectorConfirmSamples', 'detectorConfirmWindow', 'detectorRearmSamples', 'leakHorizonMs', 'diskHorizonMs'] as const) assert.equal(def[k], WATCH_DEFAULTS[k], k)
    for (const k of ['windowSamples', 'learningSamples', 'utcOffsetMs'] as const) assert.equal(def.detectorOptions[k], DETECTOR_DEFAULTS[k], k)
  })

  it('loadConfig resolves paths against the file and names a missing file', () => {
    const t = tempDir()
    try {
      const f = join(t.dir, 'homeostat.yaml')
      writeFileSync(f, 'node:\n  dataDir: ./d\nmesh:\n  swarmKeyFile: k/swarm.key\n')
      const l = loadConfig(f)
      assert.equal(l.dataDir, join(t.dir, 'd'))
      assert.equal(l.swarmKeyFile, join(t.dir, 'k', 'swarm.key'))
      assert.throws(() => loadConfig(join(t.dir, 'nope.yaml')), (e: ConfigError) => e.code === 'ERR_CONFIG' && e.message === `${join(t.dir, 'nope.yaml')}: cannot read config: no such file (create one with \`homeostat init\`)`)
      assert.ok(statSync(f).isFile())
    } finally { t.cleanup() }
  })
})
