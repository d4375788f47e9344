// Relocatable components across real agent processes over real libp2p on
// loopback: three agents list the same relocatable component; exactly one
// runs it. SIGKILL that agent together with its copy (a machine dies): exactly
// one survivor starts it; the killed agent, restarted, reloads its store and
// stays on standby. SIGTERM the new owner (a graceful stop): it stops its copy
// first and another agent takes over without waiting for a death. A component
// that crash-loops on one node only is quarantined there and moves; once the
// operator fixes that node and runs `homeostat release`, the node hosts it again.
// Copies are counted from the processes themselves (a file per live pid),
// sampled every 25 ms for the whole test: never two at once.
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSwarmKey } from '@homeostat/mesh'
import { writeSecretFile } from '../agent/src/datadir.ts'
import { main } from '../agent/src/cli.ts'
import { AGENT_DIR, fleetNodeYaml, getJson, printTailsIfFailed, spawnAgent, tempDir, waitFor, type AgentProcess } from '../agent/test/helpers.ts'

const WORKER = join(AGENT_DIR, '..', 'test', 'fixtures', 'relocatable-worker.mjs')

interface Proc extends AgentProcess { name: string }

function startAgent (name: string, config: string): Proc {
  return { name, ...spawnAgent(config) }
}

/** Running, not just present: a SIGKILLed copy whose parent died stays a zombie until something reaps it. */
const alive = (pid: number): boolean => {
  try { return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}

/** The copies running now: pid → node, from the workers' own files (a killed copy's file stays; its pid is dead). */
function copies (dir: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const f of readdirSync(dir)) {
    const pid = Number(f)
    if (!Number.isInteger(pid) || !alive(pid)) continue
    try { out.set(pid, readFileSync(join(dir, f), 'utf8')) } catch { /* removed meanwhile: stopped */ }
  }
  return out
}

/** `homeostat release NAME` against a spawned agent's API, as an operator runs it. */
async function releaseWithCli (api: string, tokenFile: string, name: string): Promise<{ code: number, out: string, err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['release', name, '--api', api, '--token', readFileSync(tokenFile, 'utf8').trim()], { out: (s) => out.push(s), err: (s) => err.push(s) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

interface Fleet {
  dir: string
  copiesDir: string
  /** Most copies seen at once since the fleet was made (sampled every 25 ms). */
  maxCopies: () => number
  configFor: (name: string, bootstrap: string[]) => string
  start: (name: string, bootstrap: string[]) => Promise<{ proc: Proc, api: string, addrs: string[] }>
}

describe('agent relocation: relocatable components across real agent processes', function () {
  this.timeout(150_000)
  const agents: Proc[] = []
  const cleanups: Array<() => void> = []
  afterEach(function () {
    printTailsIfFailed(this, Object.fromEntries(agents.map((a, i) => [`agent ${a.name} (#${i})`, a.output])))
    for (const c of cleanups.splice(0).reverse()) c()
    agents.length = 0
  })

  /** A temp dir with a swarm key, a copies dir and a sampler; agents listing the relocatable `batch` (env added to its own, extraYaml before `components:`). */
  const makeFleet = (env: Record<string, string> = {}, extraYaml = ''): Fleet => {
    const tmp = tempDir('homeostat-relocate-')
    const copiesDir = join(tmp.dir, 'copies')
    mkdirSync(copiesDir)
    const key = join(tmp.dir, 'swarm.key')
    writeSecretFile(key, new TextDecoder().decode(generateSwarmKey()) + '\n')
    let maxCopies = 0
    const sampler = setInterval(() => { maxCopies = Math.max(maxCopies, copies(copiesDir).size) }, 25)
    cleanups.push(() => {
      clearInterval(sampler)
      for (const a of agents) if (a.p.exitCode === null && a.p.signalCode === null) a.p.kill('SIGKILL')
      for (const pid of copies(copiesDir).keys()) { try { process.kill(pid, 'SIGKILL') } catch {} }
      tmp.cleanup()
    })
    const configFor = (name: string, bootstrap: string[]): string => {
      const file = join(tmp.dir, `${name}.yaml`)
      writeFileSync(file, fleetNodeYaml(name, {
        swarmKeyFile: key,
        bootstrap,
        rest: `${extraYaml}components:
  - name: batch
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(WORKER)}]
    env: ${JSON.stringify({ COPIES_DIR: copiesDir, NODE_NAME: name, ...env })}
    relocatable: true
    limits: { memoryMb: 128 }
`
      }))
      return file
    }
    const start = async (name: string, bootstrap: string[]): Promise<{ proc: Proc, api: string, addrs: string[] }> => {
      const proc = startAgent(name, configFor(name, bootstrap))
      agents.push(proc)
      const ready = await waitFor(`${name} ready`, () => proc.lines.find((l) => l.msg === 'agent ready'), 60_000)
      const api = ready.api as string
      const s = await getJson(api + '/api/status')
      return { proc, api, addrs: s.body.mesh.addrs as string[] }
    }
    return { dir: tmp.dir, copiesDir, maxCopies: () => maxCopies, configFor, start }
  }

  it('one copy at a time: placed once, taken over after a crash, handed over on a graceful stop', async () => {
    const fleet = makeFleet()
    const { copiesDir, configFor, start } = fleet
    const n1 = await start('n1', [])
    const n2 = await start('n2', n1.addrs)
    const n3 = await start('n3', [...n1.addrs, ...n2.addrs])
    const byName = new Map([n1, n2, n3].map((a) => [a.proc.name, a]))

    // Placed once: the first agent declared it and runs it; the others stand by and say where it runs.
    const first = await waitFor('one copy running', () => { const c = copies(copiesDir); return c.size === 1 ? [...c.entries()][0] : undefined }, 30_000)
    assert.equal(first[1], 'n1')
    const standby = await waitFor('n3 shows batch on standby', async () => {
      const c = (await getJson(n3.api + '/api/components')).body.components as Array<{ name: string, state: string, health: string, detail?: string }>
      return c.find((x) => x.name === 'batch' && x.state === 'standby' && x.detail === 'relocatable: runs on n1')
    }, 20_000, 200)
    assert.equal(standby.health, 'ok')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    assert.equal(copies(copiesDir).size, 1)
    assert.equal(fleet.maxCopies(), 1)

    // A machine dies: the agent and its copy are SIGKILLed together.
    const t0 = Date.now()
    n1.proc.p.kill('SIGKILL')
    process.kill(first[0], 'SIGKILL')
    await waitFor('the killed copy is gone', () => !alive(first[0]), 5000, 5)
    const second = await waitFor('a survivor runs it', () => { const c = copies(copiesDir); return c.size === 1 ? [...c.entries()][0] : undefined }, 20_000, 25)
    const takeoverMs = Date.now() - t0
    assert.ok(second[1] === 'n2' || second[1] === 'n3', `runs on ${second[1]}`)
    const owner = byName.get(second[1])!
    await waitFor('the new owner logged the takeover', () => owner.proc.lines.find((l) => l.msg === 'took over a relocatable component' && l.component === 'batch'), 5000)
    const metrics = await (await fetch(owner.api + '/metrics')).text()
    assert.match(metrics, /homeostat_meso_takeover_stat\{[^}]*stat="takeovers"[^}]*\} 1\n/)
    // Witnesses are wired in (a refused redial, as here, is a definitive death and needs no witness round;
    // one the owner's host does not refuse gets one).
    assert.match(metrics, /homeostat_meso_witness_stat\{[^}]*stat="checks"[^}]*\} \d+\n/, 'the witness counters are exported')
    assert.match(metrics, /homeostat_meso_relocatable_running\{[^}]*\} 1\n/)
    // The dead machine comes back (systemd restarts the agent): it reloads what it knew from its store,
    // where it still owns the component, catches up with the fleet, and does not start a second copy.
    const n1b = startAgent('n1', configFor('n1', [...n2.addrs, ...n3.addrs]))
    agents.push(n1b)
    const ready1 = await waitFor('n1 ready again', () => n1b.lines.find((l) => l.msg === 'agent ready'), 60_000)
    await waitFor('n1 shows batch on standby', async () => {
      const c = (await getJson((ready1.api as string) + '/api/components')).body.components as Array<{ name: string, state: string, detail?: string }>
      return c.find((x) => x.name === 'batch' && x.state === 'standby' && x.detail === `relocatable: runs on ${second[1]}`)
    }, 20_000, 200)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    assert.deepEqual([...copies(copiesDir).values()], [second[1]], 'still exactly one copy, on the same node')
    assert.equal(fleet.maxCopies(), 1)
    assert.equal(n1b.lines.filter((l) => l.msg === 'relocatable component placed here: starting it').length, 0, 'the restarted agent never started it, not even briefly')

    // A graceful stop: the owner's copy stops, the last agent takes it over without a death to wait for.
    const t1 = Date.now()
    owner.proc.p.kill('SIGTERM')
    const third = await waitFor('another agent runs it', () => { const c = copies(copiesDir); const e = [...c.entries()][0]; return c.size === 1 && e !== undefined && e[1] !== second[1] ? e : undefined }, 20_000, 25)
    const handoverMs = Date.now() - t1
    await waitFor('the stopped owner exited', () => owner.proc.p.exitCode !== null || owner.proc.p.signalCode !== null, 10_000)
    assert.equal(owner.proc.p.exitCode, 0)
    assert.ok(alive(third[0]))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(copies(copiesDir).size, 1)
    assert.equal(fleet.maxCopies(), 1, 'never two copies at once')
    console.log(`      takeover after SIGKILL ${takeoverMs} ms, hand-over on SIGTERM ${handoverMs} ms`)
  })

  for (const engine of ['planner', 'playbook'] as const) {
    it(`a node-specific fault (${engine}): the component crash-loops on its node, is quarantined there and moves to another node; released after a fix, that node hosts it again`, async () => {
      // Both engines quarantine a crash loop (several incidents of one component in a short window, each
      // restart only postponing the next). Quarantine is a risky action: unattended nodes must not wait
      // for an operator's approval.
      const fleet = makeFleet({ CRASH_ON: 'n1' }, `policy:\n  engine: ${engine}\n  approvalRiskThreshold: 1\n`)
      // n1 is healthy until both agents run, then its device breaks: the running copy dies, every restart crashes.
      writeFileSync(join(fleet.dir, 'fixed-n1'), '')
      const n1 = await fleet.start('n1', [])
      const first = await waitFor('batch runs on n1', () => { const c = copies(fleet.copiesDir); const e = [...c.entries()][0]; return c.size === 1 && e?.[1] === 'n1' ? e : undefined }, 30_000, 50)
      const n2 = await fleet.start('n2', n1.addrs)
      await waitFor('n2 shows batch on standby', async () => {
        const c = (await getJson(n2.api + '/api/components')).body.components as Array<{ name: string, state: string, detail?: string }>
        return c.find((x) => x.name === 'batch' && x.state === 'standby' && x.detail === 'relocatable: runs on n1')
      }, 20_000, 200)
      rmSync(join(fleet.dir, 'fixed-n1'))
      process.kill(first[0], 'SIGKILL')
      const moved = await waitFor('batch runs on n2', () => { const c = copies(fleet.copiesDir); const e = [...c.entries()][0]; return c.size === 1 && e?.[1] === 'n2' ? e : undefined }, 90_000, 50)
      const quarantined = await waitFor('n1 quarantined it', async () => {
        const c = (await getJson(n1.api + '/api/components')).body.components as Array<{ name: string, state: string }>
        return c.find((x) => x.name === 'batch' && x.state === 'quarantined')
      }, 10_000, 200)
      assert.ok(quarantined)
      assert.ok(n1.proc.lines.some((l) => l.msg === 'relocatable component quarantined here: handing it to another node'))
      await new Promise((resolve) => setTimeout(resolve, 2000))
      assert.deepEqual([...copies(fleet.copiesDir).entries()], [moved], 'it stays on n2')
      assert.equal(fleet.maxCopies(), 1)
      const took = await waitFor('n2 logged the takeover', () => n2.proc.lines.find((l) => l.msg === 'took over a relocatable component' && l.component === 'batch'), 5000)
      assert.equal(took.from, 'n1', 'taken over from the node that handed it back')

      // The operator fixes n1 and lifts the quarantine (`homeostat release`): n1 offers to host the
      // component again but takes nothing from n2; when n2 stops, n1 is where it goes (without the
      // release, n1 would never bid for it again and it would run nowhere).
      writeFileSync(join(fleet.dir, 'fixed-n1'), '')
      const cli = await releaseWithCli(n1.api, join(fleet.dir, 'data-n1', 'api.token'), 'batch')
      assert.equal(cli.code, 0, cli.err)
      assert.match(cli.out, /batch released: relocatable, this node hosts it again when the fleet places it here/)
      await waitFor('n1 offers to host it again', () => n1.proc.lines.find((l) => l.msg === 'relocatable component released here: offering to host it again'), 5000)
      await waitFor('n1 shows batch on standby', async () => {
        const c = (await getJson(n1.api + '/api/components')).body.components as Array<{ name: string, state: string, detail?: string }>
        return c.find((x) => x.name === 'batch' && x.state === 'standby' && x.detail === 'relocatable: runs on n2')
      }, 10_000, 200)
      await new Promise((resolve) => setTimeout(resolve, 1500))
      assert.deepEqual([...copies(fleet.copiesDir).entries()], [moved], 'releasing n1 took nothing from n2')
      n2.proc.p.kill('SIGTERM')
      const back = await waitFor('batch runs on n1 again', () => { const c = copies(fleet.copiesDir); const e = [...c.entries()][0]; return c.size === 1 && e?.[1] === 'n1' ? e : undefined }, 20_000, 50)
      await new Promise((resolve) => setTimeout(resolve, 1500))
      assert.ok(alive(back[0]), 'and stays up on the fixed node')
      assert.equal(fleet.maxCopies(), 1)
    })
  }
})

