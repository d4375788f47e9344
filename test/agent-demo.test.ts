// `homeostat demo --duration 60 --seed 1` (what `npm start` runs): a local
// fleet of 4 agent processes heals every fault it injects, and its last line
// is the JSON summary. Runs the compiled CLI (npm run build first; CI does).
import assert from 'node:assert/strict'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AGENT_DIR, captureOutput, printTailsIfFailed, type OutputTail } from '../agent/test/helpers.ts'

const BIN = join(AGENT_DIR, 'bin', 'homeostat.js')

/** Runs `homeostat demo ARGS`; `out()` is its stdout so far, `exited` resolves with its exit code once its output is read. */
function startDemo (args: string[]): { p: ChildProcess, out: () => string, output: OutputTail, exited: Promise<number | null> } {
  const p = spawn(process.execPath, [BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const output = captureOutput(p, { onLine: (line, stream) => { if (stream === 'stdout') out += line + '\n' } })
  const exited = new Promise<number | null>((resolve) => p.once('close', (c) => resolve(c)))
  return { p, out: () => out, output, exited }
}

describe('homeostat demo', function () {
  this.timeout(420_000)
  let demo: ReturnType<typeof startDemo> | undefined
  afterEach(function () { printTailsIfFailed(this, { 'demo stdout/stderr': demo?.output }) })
  before(function () {
    if (!existsSync(join(AGENT_DIR, 'dist', 'cli.js'))) execFileSync(process.execPath, [join(AGENT_DIR, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-b', AGENT_DIR], { stdio: 'inherit' })
  })

  it('--duration 60 --seed 1 heals every fault it injects', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('homeostat-demo-')))
    demo = startDemo(['--duration', '60', '--seed', '1'])
    const code = await demo.exited
    const out = demo.out()
    // The exit code first: a demo that failed prints why on stderr (shown
    // below the failure), and its last stdout line is then not the summary.
    assert.equal(code, 0, 'exit code')
    const lines = out.trim().split('\n')
    const last = JSON.parse(lines[lines.length - 1]) as { faultsInjected: number, faultsHealed: number, faultsExternal: number, externalRecovered: number, leakRestartedBeforeLimit: number, leakFaults: number, mttrP50Ms: number, detectP50Ms: number, faults: Array<{ kind: string, external?: boolean }> }
    console.log(`      ${lines[lines.length - 1].slice(0, 160)}…`)
    assert.ok(last.faultsInjected >= 5, 'at least five faults')
    assert.equal(last.faultsHealed, last.faultsInjected - last.faultsExternal, 'every fault an agent must heal, healed')
    assert.equal(last.faultsExternal, last.faults.filter((f) => f.kind === 'agent-kill').length, 'the agent-kill (repaired by the harness) is external, and only it')
    assert.ok(last.faults.filter((f) => f.kind === 'agent-kill').every((f) => f.external === true))
    assert.equal(last.externalRecovered, last.faultsExternal, 'a restarted agent comes back with healthy workloads')
    assert.equal(last.leakRestartedBeforeLimit, last.leakFaults, 'each leak restarted from its forecast, before the limit')
    for (const k of ['crash', 'hang', 'leak', 'batch-kill', 'agent-kill', 'shared-fail']) assert.ok(last.faults.some((f) => f.kind === k), `fault ${k} injected`)
    assert.ok(last.mttrP50Ms > 0 && last.detectP50Ms >= 0)
    assert.match(out, /dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}/)
    assert.match(out, /injected[\s\S]*detected[\s\S]*diagnosed[\s\S]*action[\s\S]*verified/)
    // It removed its temp dirs and left no agent behind.
    const after = readdirSync(tmpdir()).filter((d) => d.startsWith('homeostat-demo-') && !before.has(d))
    assert.deepEqual(after, [])
  })

  it('Ctrl-C stops everything it started and removes its temp dir', async () => {
    demo = startDemo(['--duration', '60', '--seed', '2'])
    const { p, out } = demo
    const deadline = Date.now() + 120_000
    while (!/starting… edge-1/.test(out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const dir = /temp dir (\S+)/.exec(out())?.[1]
    assert.ok(dir !== undefined && existsSync(dir), 'the demo made its temp dir')
    await new Promise((r) => setTimeout(r, 1000)) // edges mid-start: the hardest moment to clean up
    p.kill('SIGINT')
    const code = await demo.exited
    assert.equal(code, 130)
    assert.ok(!existsSync(dir), 'temp dir removed')
    // No process of the fleet (agents run with a config inside that dir) is left.
    await new Promise((r) => setTimeout(r, 500))
    const left: string[] = []
    for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
        if (cmd.includes(dir)) left.push(`${pid}: ${cmd}`)
      } catch {}
    }
    assert.deepEqual(left, [])
  })
})
