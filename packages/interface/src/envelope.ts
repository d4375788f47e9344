// The one message shape on the mesh: {v, type, from, hlc, body}.
import { z } from 'zod'
import { decode as decodeHlc, type HlcTimestamp } from '@homeostat/hlc'
import { LIMITS } from './limits.ts'
import { TooLargeError, ValidationError } from './errors.ts'

export const ENVELOPE_VERSION = 1

export interface Envelope<B = unknown> {
  /** Envelope format version. */
  v: typeof ENVELOPE_VERSION
  /** Dotted message type, e.g. `health.report`, `registry.update`. */
  type: string
  /** Sender's peer id. */
  from: string
  /** Sender's HLC at send time, encoded (see @homeostat/hlc `encode`). */
  hlc: string
  body: B
}

const hlcString = z.string().min(21).max(20 + LIMITS.peerIdLength).refine((s) => {
  try { decodeHlc(s); return true } catch { return false }
}, 'not a valid encoded HLC timestamp')

export const envelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  type: z.string().min(1).max(LIMITS.typeLength).regex(/^[a-z][a-z0-9_.-]*$/, 'lower-case dotted identifier'),
  from: z.string().min(1).max(LIMITS.peerIdLength),
  hlc: hlcString,
  body: z.unknown()
}).strict()

/** Formats zod issues as `path: message` lines. */
export function formatIssues (error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
}

/** Parses `schema` or throws ValidationError naming every bad field. */
export function parseWith<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success) {
    const issues = formatIssues(r.error)
    throw new ValidationError(`invalid ${what}: ${issues.join('; ')}`, issues)
  }
  return r.data
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeEnvelope (e: Envelope): Uint8Array {
  return encoder.encode(JSON.stringify(e))
}

/**
 * Decodes bytes from the network into an envelope whose body is validated by
 * `bodySchema`. Size is checked before parsing; the HLC must decode. Throws
 * TooLargeError or ValidationError; never returns a partly checked value.
 */
export function decodeEnvelope<B> (bytes: Uint8Array, bodySchema: z.ZodType<B>, limitBytes: number = LIMITS.envelopeBytes): Envelope<B> {
  if (bytes.byteLength > limitBytes) throw new TooLargeError('envelope', bytes.byteLength, limitBytes)
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new ValidationError(`envelope is not UTF-8 JSON: ${(err as Error).message}`)
  }
  const env = parseWith(envelopeSchema, json, 'envelope')
  const body = parseWith(bodySchema, env.body, `body of ${env.type}`)
  return { v: env.v, type: env.type, from: env.from, hlc: env.hlc, body }
}

export function envelopeTime (e: Envelope): HlcTimestamp {
  return decodeHlc(e.hlc)
}
