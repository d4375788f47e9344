// Test helpers: an in-process agent on a temp data dir with real loops
// (micro: real child processes; meso only when asked), port 0, its log kept
// in memory; output tails of spawned processes, printed when a test fails.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { loadConfig } from '../src/config/load.ts'
import { createAgent, type Agent } from '../src/daemon.ts'
import { defaultLoops } from '../src/loops/index.ts'
import { freeLoopbackPort } from '../src/demo/ports.ts'

export const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const INFERENCE = join(AGENT_DIR, 'demo', 'inference.mjs')

/** A TCP port free on 127.0.0.1 now, for a workload that a test starts later (below the ephemeral range: see ports.ts). */
export async function freePort (): Promise<number> { return await freeLoopbackPort() }

export function tempDir (prefix = 'homeostat-agent-'): { dir: string, cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export async function waitFor<T> (what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** The last lines something wrote (a process's stdout/stderr, an agent's log), kept to print when a test fails. */
export interface OutputTail { lines: () => string[] }

function lineRing (max: number): { push: (line: string) => void, lines: () => string[] } {
  const kept: string[] = []
  return { push: (line) => { kept.push(line); if (kept.length > max) kept.shift() }, lines: () => [...kept] }
}

/** Reads a child's stdout and stderr line by line (stderr lines marked), keeping the last `max`; `onLine` sees every line. */
export function captureOutput (p: ChildProcess, o: { max?: number, onLine?: (line: string, stream: 'stdout' | 'stderr') => void } = {}): OutputTail {
  const ring = lineRing(o.max ?? 200)
  for (const stream of ['stdout', 'stderr'] as const) {
    const input = p[stream]
    if (input === null) continue
    createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
      ring.push(stream === 'stderr' ? `stderr: ${line}` : line)
      o.onLine?.(line, stream)
    })
  }
  return { lines: ring.lines }
}

/** The agent CLI as a real process (from source, under tsx): its stdout parsed as JSON log lines, its output kept for failures. */
export interface AgentProcess { p: ChildProcess, lines: Array<Record<string, unknown>>, output: OutputTail }

export function spawnAgent (configFile: string): AgentProcess {
  const cli = join(AGENT_DIR, 'src', 'cli.ts')
  const p = spawn(process.execPath, ['--conditions=homeostat-src', '--import', 'tsx/esm', cli, 'agent', '--config', configFile], { cwd: join(AGENT_DIR, '..'), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: AgentProcess['lines'] = []
  const output = captureOutput(p, {
    onLine: (line, stream) => {
      if (stream !== 'stdout') return
      try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { lines.push({ notJson: line }) }
    }
  })
  return { p, lines, output }
}

/** For afterEach: when the test that just ran failed, prints each tail (nothing when it passed). */
export function printTailsIfFailed (ctx: Mocha.Context, tails: Record<string, OutputTail | undefined>): void {
  if (ctx.currentTest?.state !== 'failed') return
  for (const [name, tail] of Object.entries(tails)) {
    if (tail === undefined) continue
    const lines = tail.lines()
    console.error(`\n----- ${name}: last ${lines.length} lines -----\n${lines.join('\n')}\n----- end of ${name} -----`)
  }
}

/** A config with one inference workload (HTTP probe) unless `components` is given. */
export function testConfigYaml (o: { inferencePort?: number, approvalRiskThreshold?: number, extra?: string, mesh?: boolean } = {}): string {
  const comps = o.inferencePort === undefined
    ? 'components: []'
    : `components:
  - name: inference
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(INFERENCE)}]
    env: { PORT: "${o.inferencePort}" }
    probes:
      - kind: http
        url: http://127.0.0.1:${o.inferencePort}/health
        periodMs: 250
        timeoutMs: 800
        failureThreshold: 2`
  return `node:
  name: test-node
  dataDir: ./data
api:
  listen: 127.0.0.1:0
log:
  level: silent
mesh:
  enabled: ${o.mesh === true}
  listen: ["/ip4/127.0.0.1/tcp/0"]
  mdns: false
policy:
  approvalRiskThreshold: ${o.approvalRiskThreshold ?? 1}
${comps}
${o.extra ?? ''}`
}

/** A fleet member's config for a spawned agent: API and mesh on free loopback ports, the fleet's key and bootstrap list; `meshExtra` lines go under `mesh:`, `rest` (policy, components…) after it. */
export function fleetNodeYaml (name: string, o: { swarmKeyFile: string, bootstrap: string[], meshExtra?: string, rest: string }): string {
  return `node:
  name: ${name}
  dataDir: ./data-${name}
api:
  listen: 127.0.0.1:0
log:
  level: info
mesh:
  listen: ["/ip4/127.0.0.1/tcp/0"]
  mdns: false
  swarmKeyFile: ${o.swarmKeyFile}
  bootstrap: ${JSON.stringify(o.bootstrap)}
${o.meshExtra ?? ''}${o.rest}`
}

export interface TestAgent {
  agent: Agent
  url: string
  token: string
  dir: string
  configFile: string
  /** The agent's last 200 log lines (info and up), for `printTailsIfFailed`. */
  log: OutputTail
  stop: () => Promise<void>
}

/** `prepare` runs on the fresh temp dir before the agent starts (e.g. to plant a corrupt file). */
export async function startTestAgent (yaml: string, o: { prepare?: (dir: string) => void } = {}): Promise<TestAgent> {
  const t = tempDir()
  const configFile = join(t.dir, 'homeostat.yaml')
  writeFileSync(configFile, yaml)
  o.prepare?.(t.dir)
  const loaded = loadConfig(configFile)
  const log = lineRing(200)
  const logger = pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, { write: (s: string) => { log.push(s.trimEnd()) } })
  const agent = await createAgent({ config: loaded, loops: defaultLoops(), logger, listen: '127.0.0.1:0' })
  const { apiUrl } = await agent.start()
  return {
    agent,
    url: apiUrl,
    token: agent.token,
    dir: t.dir,
    configFile,
    log: { lines: log.lines },
    stop: async () => { await agent.stop(); t.cleanup() }
  }
}

export async function getJson<T = any> (url: string, init?: RequestInit): Promise<{ status: number, body: T }> {
  const r = await fetch(url, init)
  const text = await r.text()
  let body: any = text
  try { body = JSON.parse(text) } catch {}
  return { status: r.status, body }
}
