// Test helpers: an in-process agent on a temp data dir with real loops
// (micro: real child processes; meso only when asked), port 0, silent logs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { loadConfig } from '../src/config/load.ts'
import { createAgent, type Agent } from '../src/daemon.ts'
import { defaultLoops } from '../src/loops/index.ts'

export const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const INFERENCE = join(AGENT_DIR, 'demo', 'inference.mjs')

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) })
  })
}

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

export interface TestAgent {
  agent: Agent
  url: string
  token: string
  dir: string
  configFile: string
  stop: () => Promise<void>
}

export async function startTestAgent (yaml: string): Promise<TestAgent> {
  const t = tempDir()
  const configFile = join(t.dir, 'homeostat.yaml')
  writeFileSync(configFile, yaml)
  const loaded = loadConfig(configFile)
  const agent = await createAgent({ config: loaded, loops: defaultLoops(), logger: pino({ level: 'silent' }), listen: '127.0.0.1:0' })
  const { apiUrl } = await agent.start()
  return {
    agent,
    url: apiUrl,
    token: agent.token,
    dir: t.dir,
    configFile,
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
