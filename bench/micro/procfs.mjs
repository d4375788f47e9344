// /proc helpers for bench/micro's supervisor comparison: who owns a listening
// TCP port (the process that serves it), processes by a marker in their argv,
// and one HTTP GET with a hard timeout. Nothing here asks a supervisor anything:
// the harness identifies the serving process from the kernel's own tables.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { request } from 'node:http'

/** The inode of the socket LISTENing on 127.0.0.1:port (or any address), from /proc/net/tcp and tcp6; undefined if none. */
export function listenerInode (port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || f[3] !== '0A') continue // 0A = LISTEN
      if (!f[1].endsWith(`:${hex}`)) continue
      const inode = Number(f[9])
      if (inode > 0) return inode
    }
  }
  return undefined
}

function stateOf (pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3)
  } catch { return undefined }
}

/** 'R', 'S', 'T' (stopped), 'Z' (zombie)…, or undefined when the pid is gone. */
export function processState (pid) { return stateOf(pid) }
export function alive (pid) { const s = stateOf(pid); return s !== undefined && s !== 'Z' && s !== 'X' }

function holds (pid, target) {
  let fds
  try { fds = readdirSync(`/proc/${pid}/fd`) } catch { return false }
  for (const fd of fds) {
    try { if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return true } catch {}
  }
  return false
}

/**
 * The pid that holds the listening socket of `port` (the process that accepts
 * and answers its connections), by scanning /proc/PID/fd for `socket:[inode]`.
 * `hint` pids are checked first (cheap when the owner is known). undefined: nobody listens.
 */
export function listenerPid (port, hint = []) {
  const inode = listenerInode(port)
  if (inode === undefined) return undefined
  const target = `socket:[${inode}]`
  for (const pid of hint) if (pid !== undefined && holds(pid, target)) return pid
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue
    const pid = Number(d)
    if (pid === process.pid) continue
    if (holds(pid, target)) return pid
  }
  return undefined
}

/** Live (non-zombie) processes whose argv contains `marker`, excluding this process. */
export function pidsWithMarker (marker) {
  const out = []
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue
    const pid = Number(d)
    if (pid === process.pid) continue
    let cmd
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { continue }
    if (cmd.length === 0 || !cmd.replaceAll('\0', ' ').includes(marker)) continue
    if (!alive(pid)) continue
    out.push(pid)
  }
  return out
}

/** SIGCONT then SIGKILL (a stopped process is killed too); ignores pids already gone. */
export function killHard (pid) {
  for (const sig of ['SIGCONT', 'SIGKILL']) { try { process.kill(pid, sig) } catch {} }
}

/**
 * One GET on a fresh connection. Resolves { status, bytes, ms } or { error, ms }
 * within timeoutMs (the connection is destroyed then).
 */
export function httpGet (port, { path = '/', timeoutMs = 150, host = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    let done = false
    const finish = (r) => { if (done) return; done = true; clearTimeout(timer); resolve({ ...r, ms: performance.now() - t0 }) }
    const req = request({ host, port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let bytes = 0
      res.on('data', (d) => { bytes += d.length })
      res.on('end', () => finish({ status: res.statusCode, bytes, at: performance.now() }))
      res.on('error', (err) => finish({ error: err.code ?? err.message }))
    })
    const timer = setTimeout(() => { finish({ error: 'timeout' }); req.destroy() }, timeoutMs)
    req.on('error', (err) => finish({ error: err.code ?? err.message }))
    req.end()
  })
}
