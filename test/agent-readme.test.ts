// The root README's "one agent of your own" quick start, run as written
// (bash, from the checkout, `npx homeostat` = this workspace's bin). It runs
// in a fresh network namespace (unshare -n, loopback only) because the
// default config listens on 0.0.0.0 and announces itself over mDNS.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AGENT_DIR, tempDir, waitFor } from '../agent/test/helpers.ts'

const ROOT = join(AGENT_DIR, '..')

export function quickStartBlock (readme: string): string {
  const m = /<!-- quickstart-agent -->\s*```sh\n([\s\S]*?)```\s*<!-- \/quickstart-agent -->/.exec(readme)
  if (m === null) throw new Error('README has no quickstart-agent block')
  return m[1]
}

describe('README quick start', function () {
  this.timeout(180_000)
  it('runs as written: init, agent, status, report, stop', async function () {
    const canNetns = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0 && spawnSync('ip', ['-V']).status === 0
    if (!canNetns) this.skip() // needs root + unshare + iproute2 (CI has them)
    const block = quickStartBlock(readFileSync(join(ROOT, 'README.md'), 'utf8'))
    const t = tempDir('homeostat-readme-')
    try {
      const script = `set -euo pipefail\nip link set lo up\n${block}\nwait\n`
      const p = spawn('unshare', ['-n', 'bash', '-c', script], { cwd: ROOT, env: { ...process.env, TMPDIR: t.dir, HOMEOSTAT_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      p.stdout.on('data', (d: Buffer) => { out += d.toString() })
      p.stderr.on('data', (d: Buffer) => { err += d.toString() })
      const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)))
      assert.equal(code, 0, `exit ${code}\nstdout:\n${out}\nstderr:\n${err}`)
      assert.match(out, /wrote .*my-node\/homeostat\.yaml/)
      assert.match(out, /node my-node \(edge\)/)
      assert.match(out, /loops: micro, meso/)
      assert.match(out, /incidents 0: 0 recovered/)
      assert.match(out, /agent \d+ stopped/)
      assert.match(out, /"msg":"agent stopped"/, 'homeostat stop stopped the agent gracefully')
      await waitFor('pid file removed', () => !existsSync(join(t.dir, 'my-node', 'homeostat-data', 'agent.pid')) || undefined, 10_000)
    } finally {
      const pidFile = join(t.dir, 'my-node', 'homeostat-data', 'agent.pid')
      if (existsSync(pidFile)) { try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL') } catch {} }
      t.cleanup()
    }
  })
})
