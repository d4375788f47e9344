// Writes docs/protocol.md, the wire protocol's reference, from the definitions
// the code speaks: @homeostat/interface's wire module (topics, body schemas,
// caps, protocol ids), its envelope schema and LIMITS, and the mesh's and the
// HLC's defaults. `npm run protocol-doc` rewrites it; `--check` (and a test)
// fails when the file is stale.
//   node --conditions=homeostat-src --import tsx/esm scripts/protocol-doc.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { z } from 'zod'
import {
  DOCUMENTS, ENVELOPE_VERSION, LIMITS, PING_PROTOCOL, PROBE_PROTOCOL, PROTOCOL_DOCS, TOPIC_DOCS, WIRE_LIMITS,
  envelopeSchema, type ProtocolDoc, type Topic, type TopicDoc
} from '@homeostat/interface'
import { HLC_DEFAULTS } from '@homeostat/hlc'
import { LIVENESS_DEFAULTS, REQUEST_DEFAULTS } from '@homeostat/mesh'

export const PROTOCOL_MD = fileURLToPath(new URL('../docs/protocol.md', import.meta.url))

type JsonSchema = {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  enum?: unknown[]
  const?: unknown
  description?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  maxItems?: number
  pattern?: string
  additionalProperties?: unknown
}

const ENVELOPE_FIELDS: Readonly<Record<string, string>> = {
  v: 'Envelope format version.',
  type: 'Message type: a lower-case dotted name (see each topic).',
  from: 'The sender\'s peer id: must be the gossipsub message\'s signer.',
  hlc: 'The sender\'s HLC at send time, encoded (below); its node must be `from`.',
  body: 'The message, checked against the topic\'s schema.'
}

const jsonSchema = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema

const kib = (n: number): string => n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`

/** One cell: the field's type with its bounds, e.g. `string ≤ 128`, `integer ≥ 0`, `array ≤ 32 of object`. */
function typeOf (s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``
  if (s.enum !== undefined) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ')
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(' or ')
  const t = Array.isArray(s.type) ? s.type.join('\\|') : s.type ?? 'any JSON'
  const bounds: string[] = []
  if (s.minLength !== undefined && s.minLength > 0) bounds.push(`≥ ${s.minLength}`)
  if (s.maxLength !== undefined) bounds.push(`≤ ${s.maxLength} chars`)
  if (s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER) bounds.push(`≥ ${s.minimum}`)
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) bounds.push(`≤ ${s.maximum}`)
  if (s.maxItems !== undefined) bounds.push(`≤ ${s.maxItems} items`)
  if (s.pattern !== undefined) bounds.push(`\`${s.pattern}\``)
  const base = t === 'array' && s.items !== undefined ? `array of ${typeOf(s.items)}` : t
  return bounds.length > 0 ? `${base} (${bounds.join(', ')})` : base
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** A table of an object schema's fields, then one per nested object (`steps[]`, `cost`), named by its path. */
function fieldTable (s: JsonSchema, path = '', descriptions: Readonly<Record<string, string>> = {}): string[] {
  if (s.properties === undefined) return [`Body: ${typeOf(s)}.`]
  const out = path === '' ? [] : [`\`${path}\`:`, '']
  out.push('| field | type | required | meaning |', '|---|---|---|---|')
  const nested: Array<[string, JsonSchema]> = []
  const prefix = path === '' ? '' : `${path}.`
  for (const [name, p] of Object.entries(s.properties)) {
    out.push(`| \`${name}\` | ${typeOf(p)} | ${s.required?.includes(name) === true ? 'yes' : ''} | ${cell(p.description ?? descriptions[name] ?? '')} |`)
    if (p.properties !== undefined) nested.push([`${prefix}${name}`, p])
    else if (p.items?.properties !== undefined) nested.push([`${prefix}${name}[]`, p.items])
  }
  out.push('', s.additionalProperties === false ? 'Strict: no other field is accepted.' : 'Other fields are accepted.')
  for (const [at, n] of nested) out.push('', ...fieldTable(n, at))
  return out
}

const topicOf = (t: TopicDoc): Topic<unknown> => typeof t.topic === 'function' ? t.topic('<name>') : t.topic
const protocolId = (p: ProtocolDoc): string => typeof p.id === 'function' ? p.id('<name>') : p.id

function topicSection (t: TopicDoc): string[] {
  const topic = topicOf(t)
  const schema = jsonSchema(topic.body)
  const out = [
    `### \`${topic.name}\``, '',
    `- **types**: ${t.types.map((x) => `\`${x}\``).join(', ')}`,
    `- **sent by**: ${t.sentBy}`,
    `- **envelope cap**: ${kib(topic.maxBytes ?? LIMITS.envelopeBytes)}`,
    `- **receivers**: ${t.summary}`, ''
  ]
  if (schema.anyOf !== undefined) {
    out.push('The body is exactly one of:', '')
    for (const variant of schema.anyOf) out.push(...fieldTable(variant), '')
  } else {
    out.push(...fieldTable(schema), '')
  }
  out.push('<details><summary>JSON Schema of the body</summary>', '', '```json', JSON.stringify(schema, null, 2), '```', '', '</details>', '')
  return out
}

export function protocolDoc (): string {
  const L = LIVENESS_DEFAULTS
  const out: string[] = [
    '# The homeostat wire protocol',
    '',
    '<!-- Generated by `npm run protocol-doc` (scripts/protocol-doc.ts) from packages/interface/src/wire.ts,',
    '     envelope.ts and limits.ts and the mesh\'s defaults. Do not edit by hand: a test fails when this file is stale. -->',
    '',
    'Everything an agent puts on the network, enough to write a peer in another language or with a stock',
    'js-libp2p node. A peer that holds the swarm key and speaks section 1 is a mesh peer; one that also',
    'serves the agent probe (section 4) and publishes `agent.status` (section 3) is a fleet member.',
    '',
    '## 1. Connecting',
    '',
    '- **Transport**: TCP (listen addresses from `mesh.listen`; mDNS and a LAN kad-dht optional).',
    '- **Private network**: libp2p pnet, PSK v1: every connection is XSalsa20-encrypted with the 32-byte',
    '  swarm key before anything else. Key file: three lines `/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex',
    '  digits (`homeostat init` writes one; every fleet member needs the same file). A peer without the key',
    '  fails the dial within the dial timeout and is never seen.',
    '- **Security and multiplexing**: Noise XX (Ed25519 peer identities), then Yamux.',
    `- **Standard protocols served**: identify \`/ipfs/id/1.0.0\`, ping \`${PING_PROTOCOL}\`, gossipsub`,
    '  `/meshsub/1.0.0`–`/meshsub/1.2.0` with **StrictSign** (every message signed by its author; unsigned',
    '  messages are rejected), kad-dht `/ipfs/lan/kad/1.0.0` when enabled.',
    '',
    '## 2. The gossip envelope',
    '',
    `Every gossipsub message on every topic is one UTF-8 JSON envelope (version ${ENVELOPE_VERSION}):`,
    '',
    '```json',
    '{"v": 1, "type": "agent.status", "from": "12D3KooWExample", "hlc": "0193a1b2c3d40000000012D3KooWExample", "body": {}}',
    '```',
    '',
    ...fieldTable(jsonSchema(envelopeSchema), '', ENVELOPE_FIELDS),
    '',
    '`hlc` is the sender\'s hybrid logical clock at send time: 12 lower-case hex digits of wall-clock',
    'milliseconds, 8 of the logical counter, then the sender\'s peer id (fixed width, so string order is',
    'time order). A receiver checks, in this order, and rejects on the first failure:',
    '',
    '| check | reject reason |',
    '|---|---|',
    '| the gossipsub message is signed | `unsigned` |',
    `| the envelope is at most the topic's cap (${kib(LIMITS.envelopeBytes)} unless the topic says more) | \`size\` |`,
    '| it is UTF-8 JSON | `json` |',
    '| envelope and body match their schemas (below) | `schema` |',
    '| `from` and the HLC\'s node are the message\'s signer | `forged` |',
    `| the HLC's wall clock is at most ${HLC_DEFAULTS.maxOffsetMs} ms ahead of the receiver's clock | \`clock\` |`,
    '',
    'A rejected message is never delivered and never forwarded; gossipsub lowers its sender\'s score',
    '(a handful of rejects graylists it) and the receiver counts it by reason and by sender',
    '(`homeostat status --json`: `mesh.stats.rejected`, `mesh.stats.rejectedBySender`; metric',
    '`homeostat_meso_gossip_rejected`). Receivers act on the body, which the topic\'s schema decides; `type`',
    'names the message for logs and tools. Bodies are strict: a new field needs a new topic version.',
    '',
    '## 3. Topics',
    '',
    '| topic | types | cap | sent by |',
    '|---|---|---|---|',
    ...TOPIC_DOCS.map((t) => `| \`${topicOf(t).name}\` | ${t.types.map((x) => `\`${x}\``).join(', ')} | ${kib(topicOf(t).maxBytes ?? LIMITS.envelopeBytes)} | ${cell(t.sentBy)} |`),
    '',
    ...TOPIC_DOCS.flatMap(topicSection),
    '## 4. Stream protocols',
    '',
    `**Request/response framing** (every protocol below marked so): one stream per exchange. The request is`,
    'one frame `[length u32 BE][payload]`; the response one frame whose payload is `[status u8: 0 ok, 1 error][body]`,',
    `an error's body being UTF-8 text of at most ${WIRE_LIMITS.errorTextChars} characters. Both frames are bounded by the`,
    `protocol's cap (${kib(REQUEST_DEFAULTS.maxBytes)} unless it says more), the exchange by ${REQUEST_DEFAULTS.timeoutMs} ms; a server`,
    `serves at most ${REQUEST_DEFAULTS.maxInboundStreams} requests per protocol at once and refuses more.`,
    '',
    '| protocol | framing | cap | request | response |',
    '|---|---|---|---|---|',
    ...PROTOCOL_DOCS.map((p) => `| \`${protocolId(p)}\` | ${p.framing} | ${kib(p.maxBytes)} | ${cell(p.request)} | ${cell(p.response)} |`),
    '',
    '## 5. Liveness and peer kinds',
    '',
    `A peer is an **agent** when it speaks \`${PROBE_PROTOCOL}\` (identify lists it, a probe stream is`,
    'negotiated, or probe frames arrive); **other** when identify lists its protocols without the probe (a',
    'monitoring tool, a stock libp2p node holding the key); **unknown** until one of these is known (an',
    `agent negotiates one probe stream ${L.classifyAfterMs} ms after connecting if identify has not settled it).`,
    '',
    `- **Agents** probe each other over \`${PROBE_PROTOCOL}\`. For each pair one side pings (fixed by FNV-1a of`,
    '  the two peer ids, lower first, joined by `|`), the other hears the pings as heartbeats. A ping goes',
    `  at most every ${L.pingIntervalMs} ms per peer and ${L.maxPingsPerSecond} per second in total; its timeout adapts to the peer's RTTs`,
    `  (phi-accrual, threshold ${L.phiThreshold}, clamped to ${L.minPingTimeoutMs}–${L.maxPingTimeoutMs} ms). A late answer makes the peer **suspect**; no`,
    `  answer for ${L.suspicionTimeoutMs} ms more makes it **dead**, as does a closed connection whose redial is refused.`,
    '  Timeouts stretch by the local-health byte of the frames (a starved peer asks for up to 3× the time).',
    `  Dead peers are redialled (${L.reconnectBaseMs} ms doubling to ${L.reconnectMaxDelayMs} ms) and forgotten after ${L.forgetAfterMs / 60_000} minutes.`,
    `- **Other peers** are pinged with the standard \`${PING_PROTOCOL}\` (32 random bytes echoed on a new stream)`,
    `  every ${L.otherPingIntervalMs} ms, with the same adaptive timeouts, so a stock node that answers libp2p ping stays`,
    '  alive for as long as it is connected. They are never fleet members: not in the meso loop\'s quorum,',
    '  never a replicated document\'s sync or witness partner, never a federated replica holder.',
    '- An agent leaving gracefully publishes `agent.status` with `leaving: true` first; peers drop it from',
    '  their quorum at once instead of waiting for the failure detector.',
    '',
    '## 6. Replicated documents',
    '',
    'Fleet state (the intervention registry, reputation, placement, federated contributions) lives in Yjs',
    'documents, each replicated over its `homeostat/coord/<name>/1` topic and caught up over',
    '`/homeostat/coord/<name>/sync/1`. Every root is a `Y.Map` whose keys start with their owner\'s peer id',
    '(`<owner>/<rest>`): a peer may write only its own keys, and an update that touches another owner\'s',
    'key, an unknown root, or content other than JSON values and bytes is rejected as a whole and counted.',
    '',
    '| document | roots |',
    '|---|---|',
    ...Object.entries(DOCUMENTS).map(([name, roots]) => `| \`${name}\` | ${roots.map((r) => `\`${r}\``).join(', ')} |`),
    '',
    '## 7. Limits',
    '',
    'Every limit is hard: input over it is refused before it is parsed, and counted.',
    '',
    '| limit | value |',
    '|---|---|',
    ...Object.entries(LIMITS).map(([k, v]) => `| \`LIMITS.${k}\` | ${/Bytes$/.test(k) ? kib(v) : String(v)} |`),
    ...Object.entries(WIRE_LIMITS).map(([k, v]) => `| \`WIRE_LIMITS.${k}\` | ${/Bytes$/.test(k) ? kib(v) : String(v)} |`),
    ''
  ]
  return out.join('\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = protocolDoc()
  if (process.argv.includes('--check')) {
    let current = ''
    try { current = readFileSync(PROTOCOL_MD, 'utf8') } catch {}
    if (current !== text) { console.error(`${PROTOCOL_MD} is out of date: run npm run protocol-doc`); process.exitCode = 1 }
  } else {
    writeFileSync(PROTOCOL_MD, text)
    console.log(`wrote ${PROTOCOL_MD}`)
  }
}
