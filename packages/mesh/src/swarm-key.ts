// Private-network swarm keys in libp2p pnet's file format:
//   /key/swarm/psk/1.0.0/\n/base16/\n<64 hex chars>
import { randomBytes } from 'node:crypto'
import { SwarmKeyError } from './errors.ts'

const HEADER = '/key/swarm/psk/1.0.0/'
const encoder = new TextEncoder()

/** A fresh 256-bit swarm key as the bytes of a pnet key file (write them to `swarm.key`). */
export function generateSwarmKey (): Uint8Array {
  return encoder.encode(`${HEADER}\n/base16/\n${randomBytes(32).toString('hex')}`)
}

/**
 * Checks a swarm key file's contents and returns it normalised (no trailing
 * whitespace, lower-case hex) as pnet expects. Throws SwarmKeyError otherwise.
 */
export function parseSwarmKey (input: Uint8Array | string): Uint8Array {
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input)
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim())
  if (lines.length !== 3) throw new SwarmKeyError(`swarm key must have 3 lines, found ${lines.length}`)
  if (lines[0] !== HEADER) throw new SwarmKeyError(`swarm key must start with ${HEADER}`)
  if (lines[1] !== '/base16/') throw new SwarmKeyError('swarm key encoding must be /base16/')
  const hex = lines[2] ?? ''
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new SwarmKeyError('swarm key must be 64 hex characters (32 bytes)')
  return encoder.encode(`${HEADER}\n/base16/\n${hex.toLowerCase()}`)
}
