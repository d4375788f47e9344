// Shared by the crash tests (store-crash, persistence-crash): a writer process
// (a TypeScript fixture run from source) that prints `ack N` once write N is
// durable is run until it acknowledged `target` writes, then SIGKILLed while it
// writes the next ones. Returns the last acknowledged write.
import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export async function killWriterAfterAcks (file: string, args: string[], target: number, label = 'writer'): Promise<number> {
  const child = spawn(process.execPath, ['--conditions=homeostat-src', '--import', 'tsx/esm', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('..', import.meta.url)) })
  let lastAck = -1
  let buf = ''
  let stderr = ''
  let killed = false
  child.stderr!.on('data', (d) => { stderr += String(d) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const t0 = Date.now()
  await new Promise<void>((resolve, reject) => {
    void exited.then(() => { if (!killed) reject(new Error(`${label} exited early after ack ${lastAck} (${Date.now() - t0} ms): ${stderr}`)) })
    const watchdog = setTimeout(() => { killed = true; child.kill('SIGKILL'); reject(new Error(`${label} reached only ack ${lastAck} of ${target} in ${Date.now() - t0} ms; stderr: ${stderr}`)) }, 50_000)
    void exited.then(() => clearTimeout(watchdog))
    child.stdout!.on('data', (d) => {
      buf += String(d)
      const lines = buf.split('\n')
      buf = lines.pop()!
      for (const l of lines) if (l.startsWith('ack ')) lastAck = Number(l.slice(4))
      if (lastAck >= target && !killed) { killed = true; child.kill('SIGKILL'); resolve() }
    })
  })
  await exited
  assert.ok(lastAck >= target)
  return lastAck
}
