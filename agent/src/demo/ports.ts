// Loopback ports handed to processes that bind them later (the demo's agents
// and workloads, tests' workloads). A port from listen(0) that is closed again
// can be handed to the next listen(0) or outgoing connection before its new
// owner binds it (another agent's API, a mesh dial), and that process then
// fails with EADDRINUSE. So ports are picked below the kernel's ephemeral
// range, where only an explicit bind can take them.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export const PORT_DEFAULTS = {
  /** Lowest port picked: above the well-known and most registered service ports. */
  floor: 10_000,
  /** Random picks tried before giving up (each is a bind test). */
  tries: 50
}

/** The first port the kernel hands out for port 0 and outgoing connections (Linux: ip_local_port_range; elsewhere the IANA 49152). */
export function ephemeralPortsFrom (): number {
  try { return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) } catch { return 49_152 }
}

async function canListen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)))
  })
}

async function anyFreePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) })
  })
}

/** A port free on 127.0.0.1 now and not in `taken` (which it joins), below the ephemeral range. */
export async function freeLoopbackPort (taken: Set<number> = new Set(), random: () => number = Math.random): Promise<number> {
  const floor = PORT_DEFAULTS.floor
  const ceiling = ephemeralPortsFrom()
  for (let tries = 0; tries < PORT_DEFAULTS.tries; tries++) {
    // An unusual range (nothing below it worth using): fall back to the kernel's pick.
    const port = ceiling - floor >= 1000 ? floor + Math.floor(random() * (ceiling - floor)) : await anyFreePort()
    if (!taken.has(port) && await canListen(port)) { taken.add(port); return port }
  }
  throw new Error(`no free loopback port in ${floor}-${ceiling - 1} after ${PORT_DEFAULTS.tries} tries`)
}
