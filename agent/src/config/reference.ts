// The config reference (agent/CONFIG.md), generated from the zod schema itself:
// every field path, type, default and allowed value is read from the schema
// (zod v4's `_zod.def`), so the reference cannot drift from what the loader
// accepts. Descriptions come from the schema's `.describe()`; the monitor's and
// recovery's schemas (other packages, documented with comments there) get
// theirs from DESCRIPTIONS below, and a test fails when any field has none.
//
// `npm run config-reference` rewrites agent/CONFIG.md; `--check` only compares.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { z } from 'zod'
import { RECOVERY_DEFAULTS } from '@homeostat/recovery'
import { configSchema } from './schema.ts'

export interface FieldDoc {
  /** `node.role`, `components[].probes[] (kind: http).timeoutMs`, `recovery.<component>.graceMs`. */
  path: string
  /** The row this field belongs to (its map, list or map of maps); absent for a top-level section. */
  parent?: string
  /** The top-level section: `node`, `components`, … */
  section: string
  /** `whole number`, `string`, `list of string`, `map of string → string`, `map`, … */
  type: string
  /** The schema's default; absent when the schema has none. */
  default?: { value: unknown }
  /** What applies when an optional field with no schema default is left out (another package's run-time default). */
  whenUnset?: { value: unknown, note?: string }
  /** Must be given whenever its parent is. */
  required: boolean
  /** `0 < x ≤ 1`, `` one of `edge`, `cloud` ``, a pattern, list bounds… */
  allowed?: string
  /** One line: the schema's description, else DESCRIPTIONS[path]. */
  description?: string
  /** A map, a list of maps or a map of maps: its fields are rows of their own. */
  container: boolean
}

/**
 * Descriptions of the fields whose schemas live in other packages (the monitor's
 * components and probes, recovery's per-component settings), keyed by field path
 * with any `(kind: …)` left out. A description given in the schema itself wins.
 */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'components[].name': 'Unique name of the component on this node (also its name in incidents and the fleet view).',
  'components[].command': 'Executable (looked up in PATH) or absolute path; for a shared component, its restart hook, run to completion.',
  'components[].args': 'Arguments of `command`; may contain `{artifact}` and `{version}`.',
  'components[].env': 'Added to the agent\'s environment for this component; values may contain `{artifact}` and `{version}`.',
  'components[].cwd': 'Working directory of the process (unset: the agent\'s).',
  'components[].restart': 'always: restart on any exit; on-failure: only on a non-zero exit or a signal; never.',
  'components[].dependsOn': 'Components that must be started first (and are stopped last); the root-cause ranking follows these edges.',
  'components[].targetKind': 'What the component is, as incidents and the planner see it.',
  'components[].artifact': 'A versioned artifact (model, binary) the component loads; rollback picks the version before `version`.',
  'components[].artifact.path': 'Its path; `{version}` is replaced by the version in use.',
  'components[].artifact.versions': 'The known versions, oldest → newest.',
  'components[].artifact.version': 'The version in use (unset: the newest).',
  'components[].fallback': 'The degraded variant (e.g. a smaller model): these fields replace the component\'s own on degrade.',
  'components[].fallback.command': 'Command of the degraded variant.',
  'components[].fallback.args': 'Arguments of the degraded variant.',
  'components[].fallback.env': 'Environment of the degraded variant.',
  'components[].fallback.artifactVersion': 'Artifact version of the degraded variant (one of `artifact.versions`).',
  'components[].limits': 'Resource ceilings the monitor enforces and predicts; for a relocatable component, what a host must have free.',
  'components[].limits.memoryMb': 'RSS ceiling, MB; the monitor predicts and enforces it (SIGKILL, reason "oom").',
  'components[].limits.cpu': 'CPU ceiling in cores (0.5 = half a core).',
  'components[].limits.disk': 'A directory the component writes and its size ceiling: being predicted to reach it within `system.detection.diskHorizonMs` is a disk_fill incident.',
  'components[].limits.disk.path': 'The directory.',
  'components[].limits.disk.limitMb': 'Its size ceiling, MB.',
  'components[].relocatable': 'Runs on one node of the fleet at a time: list it under the same name on every node that may host it; one survivor starts it when its node dies or stops.',
  'components[].shared': 'Runs elsewhere and several nodes use it (e.g. a model server on the LAN): each probes it, one at a time restarts it (fleet-wide claim, then `mesh.sharedCooldownMs`).',
  'components[].priority': 'Placement priority of a relocatable component: when spare capacity is scarce, higher goes first.',
  'components[].probes': 'Health checks; the component is unhealthy after `failureThreshold` consecutive failures of one probe.',
  'components[].probes[].kind': 'The kind of probe; it decides which other fields apply.',
  'components[].probes[].name': 'Label in incidents and metrics (unset: `<kind>#<index>`).',
  'components[].probes[].periodMs': 'How often the probe runs.',
  'components[].probes[].timeoutMs': 'One run longer than this is a failure (a hung server fails by timeout).',
  'components[].probes[].failureThreshold': 'Consecutive failures before the component is reported unhealthy.',
  'components[].probes[].successThreshold': 'Consecutive successes before an unhealthy component is healthy again.',
  'components[].probes[].initialDelayMs': 'Wait this long after a (re)start before the first run.',
  'components[].probes[].url': 'The URL requested.',
  'components[].probes[].method': 'The HTTP method.',
  'components[].probes[].expectStatus': 'Accepted status, or an inclusive [min, max] range (unset: 200–399).',
  'components[].probes[].bodyMatch': 'A regular expression the body must match.',
  'components[].probes[].maxLatencyMs': 'A response slower than this is a failure even if it arrives.',
  'components[].probes[].host': 'Host to connect to.',
  'components[].probes[].port': 'TCP port to connect to.',
  'components[].probes[].command': 'Executable run as the probe (no shell).',
  'components[].probes[].args': 'Its arguments.',
  'components[].probes[].expectExitCode': 'The exit code that means healthy.',
  'components[].probes[].path': 'A file the component touches while it is alive.',
  'components[].probes[].maxAgeMs': 'The file\'s mtime must be younger than this.',
  'components[].probes[].unit': 'The systemd unit.',
  'components[].probes[].expectState': 'The expected ActiveState.',
  'recovery.<component>.artifact': 'Rollback: the file the component loads.',
  'recovery.<component>.artifact.path': 'A symlink is re-pointed at the previous sibling version (natural sort of names); a regular file is swapped with `<path>.prev`.',
  'recovery.<component>.fallback': 'Degrade: what changes in the component\'s spec.',
  'recovery.<component>.fallback.patch': 'Spec patch applied on degrade, e.g. `{ env: { MODEL: tiny } }` or other args.',
  'recovery.<component>.fallback.description': 'One line for the incident record, e.g. "switch to the 8-bit model".',
  'recovery.<component>.freeDisk': 'free_disk: which files may be deleted to make room, oldest first.',
  'recovery.<component>.freeDisk.paths': 'Directories whose files may be deleted, oldest first; nothing outside them is touched.',
  'recovery.<component>.freeDisk.patterns': 'Only files whose base name matches one of these regular expressions (unset: any file).',
  'recovery.<component>.freeDisk.targetMb': 'Stop after freeing this much, MB.',
  'recovery.<component>.freeDisk.maxFiles': 'Never delete more than this many files in one action.',
  'recovery.<component>.freeDisk.keepRecentMs': 'Keep files modified within this time (a log being written now).',
  'recovery.<component>.throttle': 'throttle: how a CPU hog is limited (a cgroup CPU quota, else a SIGSTOP/SIGCONT duty cycle).',
  'recovery.<component>.throttle.cpuFraction': 'CPU share allowed when throttled, in cores (0.5 = half a core; above 1 for a multi-threaded job).',
  'recovery.<component>.throttle.cgroupRoot': 'A writable, delegated cgroup v2 directory under which a per-component group is made; when it is not usable, throttle tries cgroup v1, then the duty cycle.',
  'recovery.<component>.throttle.nice': 'Also renice every thread of the throttled group to this (restored on undo); only in addition to the limit, which nice cannot hold by itself.',
  'recovery.<component>.reloadable': 'SIGHUP makes this component reload its configuration (the reload action applies).',
  'recovery.<component>.graceMs': 'SIGTERM → SIGKILL grace of this component\'s restarts and degrades.'
}

/** Run-time defaults of optional fields that have none in the schema: the recovery package's own. */
export const WHEN_UNSET: Readonly<Record<string, { value: unknown, note?: string }>> = {
  'recovery.<component>.freeDisk.targetMb': { value: RECOVERY_DEFAULTS.freeDiskTargetMb },
  'recovery.<component>.freeDisk.maxFiles': { value: RECOVERY_DEFAULTS.freeDiskMaxFiles },
  'recovery.<component>.freeDisk.keepRecentMs': { value: RECOVERY_DEFAULTS.freeDiskKeepRecentMs },
  'recovery.<component>.throttle.cpuFraction': { value: RECOVERY_DEFAULTS.throttleCpuFraction, note: 'unless the component has `limits.cpu`' },
  'recovery.<component>.throttle.cgroupRoot': { value: RECOVERY_DEFAULTS.cgroupV2Root },
  'recovery.<component>.graceMs': { value: RECOVERY_DEFAULTS.restartGraceMs, note: 'a hung component is killed after a shorter grace' }
}

/** What a map's keys are called in field paths, by the map's path (default `key`). */
const RECORD_KEYS: Readonly<Record<string, string>> = { recovery: 'component' }

/** One example per top-level section; each is valid (a test parses them; `recovery` together with `components`). */
export const SECTION_EXAMPLES: Readonly<Record<string, string>> = {
  node: 'node:\n  name: jetson-3\n  role: edge\n  dataDir: /var/lib/homeostat\n',
  api: 'api:\n  listen: 127.0.0.1:9464\n  dashboard: true\n',
  log: 'log:\n  level: debug\n',
  mesh: 'mesh:\n  listen: ["/ip4/0.0.0.0/tcp/4001"]\n  bootstrap: ["/ip4/10.0.0.5/tcp/4001/p2p/<peer id>"]   # that node\'s mesh.addrs in `homeostat status --json`\n  mdns: false\n  swarmKeyFile: /etc/homeostat/swarm.key\n',
  policy: 'policy:\n  engine: planner\n  budgetMode: dynamic\n  budgetFraction: 0.2\n  approvalRiskThreshold: 0.6\n',
  federated: 'federated:\n  enabled: true\n  shard: 1\n  shards: 3\n',
  system: 'system:\n  sampleMs: 2000\n  detection:\n    scoreThreshold: 0.8\n    utcOffsetMs: 3600000\n',
  components: `components:
  - name: inference
    command: python3
    args: ["serve.py", "--port", "8080"]
    env: { MODEL_TOKEN: "\${MODEL_TOKEN}" }
    limits:
      memoryMb: 1024
      cpu: 2
      disk: { path: /var/log/inference, limitMb: 2048 }
    probes:
      - kind: http
        url: http://127.0.0.1:8080/healthz
        timeoutMs: 2000
      - kind: process
`,
  recovery: `recovery:
  inference:
    freeDisk:
      paths: [/var/log/inference]
      patterns: ['\\.log\\.[0-9]+$']
      keepRecentMs: 60000
    throttle: { cpuFraction: 0.5 }
    reloadable: true
    graceMs: 5000
`
}

type Schema = z.core.$ZodType
interface CheckDef { check: string, value?: unknown, inclusive?: boolean, minimum?: number, maximum?: number, format?: string, pattern?: RegExp }

const defOf = (s: Schema): z.core.$ZodTypes['_zod']['def'] => (s as z.core.$ZodTypes)._zod.def
const checksOf = (s: Schema): CheckDef[] => (defOf(s).checks ?? []).map((c) => c._zod.def as CheckDef)
const descriptionOf = (s: Schema): string | undefined => z.globalRegistry.get(s)?.description

/** A field's schema with its wrappers (optional, default, pipe…) taken off, and what they said. */
interface Unwrapped { core: Schema, optional: boolean, default?: { value: unknown }, description?: string }

function unwrap (schema: Schema): Unwrapped {
  let s = schema
  let optional: boolean | undefined // the outermost of optional and nonoptional decides
  let dflt: { value: unknown } | undefined
  let description: string | undefined
  for (let i = 0; i < 20; i++) {
    description ??= descriptionOf(s)
    const d = defOf(s)
    if (d.type === 'default' || d.type === 'prefault') {
      dflt ??= { value: d.defaultValue }
      s = d.innerType
    } else if (d.type === 'optional' || d.type === 'nonoptional') {
      optional ??= d.type === 'optional'
      s = d.innerType
    } else if (d.type === 'nullable' || d.type === 'readonly' || d.type === 'catch') s = d.innerType
    else if (d.type === 'pipe') s = d.in
    else if (d.type === 'lazy') s = d.getter()
    else break
  }
  return { core: s, optional: optional === true, default: dflt, description }
}

/** The options of a discriminated union of objects, each with its discriminator value; undefined for any other schema. */
function discriminatedOptions (s: Schema): Array<{ value: string, option: Schema }> | undefined {
  const d = defOf(s)
  if (d.type !== 'union' || !('discriminator' in d) || typeof d.discriminator !== 'string') return undefined
  const key = d.discriminator
  return d.options.map((option) => {
    const od = defOf(unwrap(option).core)
    const field = od.type === 'object' ? unwrap(od.shape[key] as Schema).core : undefined
    const fd = field === undefined ? undefined : defOf(field)
    return { value: fd?.type === 'literal' ? String(fd.values[0]) : '?', option: unwrap(option).core }
  })
}

function numberRange (checks: CheckDef[]): string | undefined {
  let lo: { v: number, inc: boolean } | undefined
  let hi: { v: number, inc: boolean } | undefined
  for (const c of checks) {
    if (typeof c.value !== 'number') continue
    const inc = c.inclusive === true
    if (c.check === 'greater_than' && (lo === undefined || c.value > lo.v || (c.value === lo.v && !inc))) lo = { v: c.value, inc }
    if (c.check === 'less_than' && (hi === undefined || c.value < hi.v || (c.value === hi.v && !inc))) hi = { v: c.value, inc }
  }
  if (lo !== undefined && hi !== undefined) return `${lo.v} ${lo.inc ? '≤' : '<'} x ${hi.inc ? '≤' : '<'} ${hi.v}`
  if (lo !== undefined) return `x ${lo.inc ? '≥' : '>'} ${lo.v}`
  if (hi !== undefined) return `x ${hi.inc ? '≤' : '<'} ${hi.v}`
  return undefined
}

function lengthBounds (checks: CheckDef[], unit: 'character' | 'item'): string[] {
  const min = Math.max(0, ...checks.filter((c) => c.check === 'min_length').map((c) => c.minimum ?? 0))
  const maxes = checks.filter((c) => c.check === 'max_length').map((c) => c.maximum ?? Infinity)
  const max = maxes.length === 0 ? undefined : Math.min(...maxes)
  const n = (k: number) => `${k} ${unit}${k === 1 ? '' : 's'}`
  const out: string[] = []
  if (min === 1 && unit === 'character') out.push('not empty')
  else if (min > 0) out.push(`at least ${n(min)}`)
  if (max !== undefined) out.push(`at most ${n(max)}`)
  return out
}

/** How a value of this (unwrapped) schema is written: `whole number`, `list of string`… */
function typeName (schema: Schema): string {
  const s = unwrap(schema).core
  const d = defOf(s)
  switch (d.type) {
    case 'string': case 'enum': return 'string'
    case 'literal': return [...new Set(d.values.map((v) => typeof v === 'number' || typeof v === 'boolean' ? typeof v : 'string'))].join(' or ')
    case 'number': return checksOf(s).some((c) => c.check === 'number_format' && c.format?.includes('int') === true) ? 'whole number' : 'number'
    case 'boolean': return 'boolean'
    case 'array': return `list of ${typeName(d.element)}`
    case 'tuple': return `[${d.items.map(typeName).join(', ')}]`
    case 'record': return `map of ${typeName(d.keyType)} → ${typeName(d.valueType)}`
    case 'object': return 'map'
    case 'union': {
      const opts = discriminatedOptions(s)
      if (opts !== undefined) return `map (by \`${(d as z.core.$ZodDiscriminatedUnionDef).discriminator}\`)`
      return d.options.map(typeName).join(' or ')
    }
    case 'unknown': case 'any': return 'any value'
    default: return d.type
  }
}

/** The values this (unwrapped) schema accepts beyond its type, as one short phrase; undefined when any value of the type goes. */
function allowedValues (schema: Schema): string | undefined {
  const phrases = allowedPhrases(schema)
  return phrases.length === 0 ? undefined : phrases.join('; ')
}

function allowedPhrases (schema: Schema): string[] {
  const s = unwrap(schema).core
  const d = defOf(s)
  const checks = checksOf(s)
  const each = (inner: Schema, what: string): string[] => {
    const p = isContainer(unwrap(inner).core) ? [] : allowedPhrases(inner)
    return p.length === 0 ? [] : [`${what}: ${p.join(', ')}`]
  }
  switch (d.type) {
    case 'number': { const r = numberRange(checks); return r === undefined ? [] : [r] }
    case 'string': return [...lengthBounds(checks, 'character'), ...checks.filter((c) => c.format === 'regex' && c.pattern !== undefined).map((c) => `matches \`${(c.pattern as RegExp).source}\``)]
    case 'enum': return [`one of ${Object.values(d.entries).map((v) => `\`${String(v)}\``).join(', ')}`]
    case 'literal': return [d.values.map((v) => `\`${String(v)}\``).join(', ')]
    case 'array': return [...lengthBounds(checks, 'item'), ...each(d.element, 'each')]
    case 'record': return each(d.valueType, 'each value')
    case 'tuple': {
      const items = d.items.map((i) => allowedPhrases(i).join(', '))
      if (items.every((x) => x === items[0])) return items[0] === '' ? [] : [`each: ${items[0]}`]
      return items.flatMap((x, i) => x === '' ? [] : [`[${i}]: ${x}`])
    }
    case 'union': {
      if (discriminatedOptions(s) !== undefined) return []
      return d.options.flatMap((o) => { const p = allowedPhrases(o); return p.length === 0 ? [] : [`${typeName(o)}: ${p.join(', ')}`] })
    }
    default: return []
  }
}

/** Whether this (unwrapped) schema holds fields of its own, which then get rows. */
function isContainer (s: Schema): boolean {
  const d = defOf(s)
  if (d.type === 'object') return true
  if (d.type === 'union') return discriminatedOptions(s) !== undefined
  if (d.type === 'array') return isContainer(unwrap(d.element).core)
  if (d.type === 'record') return isContainer(unwrap(d.valueType).core)
  return false
}

/** A field path without its `(kind: …)` labels: the key of DESCRIPTIONS. */
export function genericPath (path: string): string {
  return path.replace(/ \([A-Za-z0-9_]+: [^)]*\)/g, '')
}

interface Walk { path: string, parent?: string, section: string, out: FieldDoc[] }

function walkField (schema: Schema, w: Walk): void {
  const u = unwrap(schema)
  const doc: FieldDoc = {
    path: w.path,
    section: w.section,
    type: typeName(u.core),
    required: !u.optional && u.default === undefined,
    container: isContainer(u.core)
  }
  if (w.parent !== undefined) doc.parent = w.parent
  if (u.default !== undefined) doc.default = u.default
  const unset = WHEN_UNSET[genericPath(w.path)]
  if (unset !== undefined && u.default === undefined) doc.whenUnset = unset
  const allowed = allowedValues(u.core)
  if (allowed !== undefined) doc.allowed = allowed
  const description = u.description ?? DESCRIPTIONS[genericPath(w.path)]
  if (description !== undefined) doc.description = description.replace(/\s+/g, ' ').trim()
  w.out.push(doc)
  walkChildren(u.core, w.path, { ...w, parent: w.path })
}

/** Rows for what `s` (unwrapped) holds, its own row being `prefix`. */
function walkChildren (s: Schema, prefix: string, w: Walk): void {
  const d = defOf(s)
  if (d.type === 'object') {
    for (const [key, field] of Object.entries(d.shape)) walkField(field as Schema, { ...w, path: `${prefix}.${key}` })
  } else if (d.type === 'array') {
    walkChildren(unwrap(d.element).core, `${prefix}[]`, w)
  } else if (d.type === 'record') {
    walkChildren(unwrap(d.valueType).core, `${prefix}.<${RECORD_KEYS[genericPath(prefix)] ?? 'key'}>`, w)
  } else if (d.type === 'union') {
    const opts = discriminatedOptions(s)
    const key = (d as z.core.$ZodDiscriminatedUnionDef).discriminator
    for (const o of opts ?? []) walkChildren(o.option, `${prefix} (${key}: ${o.value})`, w)
  }
}

/** Every field of the config, depth first in schema order; a container's row comes before its fields' rows. */
export function configFields (schema: Schema = configSchema): FieldDoc[] {
  const out: FieldDoc[] = []
  const d = defOf(unwrap(schema).core)
  if (d.type !== 'object') throw new TypeError('expected the config schema to be an object')
  for (const [key, field] of Object.entries(d.shape)) walkField(field as Schema, { path: key, section: key, out })
  return out
}

/** The schema's default of the field at `path` (a path as configFields writes it); throws when it has none, so a template cannot show a made-up one. */
export function fieldDefault (path: string, fields: readonly FieldDoc[] = configFields()): unknown {
  const f = fields.find((x) => x.path === path)
  if (f === undefined) throw new Error(`no config field ${path}`)
  if (f.default !== undefined) return f.default.value
  if (f.whenUnset !== undefined) return f.whenUnset.value
  throw new Error(`config field ${path} has no default`)
}

/** `3600000` → `1 h`: how a duration in ms reads in prose. */
export function duration (ms: number): string {
  if (ms !== 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (s: string) => `\`${s}\``

function defaultCell (f: FieldDoc, schema: Schema): string {
  const show = (v: unknown) => {
    const text = code(JSON.stringify(v))
    return typeof v === 'number' && /Ms$/.test(f.path) && v !== 0 ? `${text} (${duration(v)})` : text
  }
  if (f.default !== undefined) {
    const v = f.default.value
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && isDeepStrictEqual(v, sectionDefaults(f.path, schema))) return 'its fields\' defaults'
    return show(v)
  }
  if (f.whenUnset !== undefined) return `unset: ${show(f.whenUnset.value)}${f.whenUnset.note === undefined ? '' : `, ${f.whenUnset.note}`}`
  return f.required ? '**required**' : '—'
}

/** What the map at `path` holds when none of its fields is given (its fields' own defaults). */
function sectionDefaults (path: string, schema: Schema): unknown {
  let s: Schema = schema
  for (const key of path.split('.')) {
    const d = defOf(unwrap(s).core)
    if (d.type !== 'object') return undefined
    s = d.shape[key] as Schema
  }
  const r = z.safeParse(unwrap(s).core, {})
  return r.success ? r.data : undefined
}

/** The Markdown reference: one section per top-level key with a table of its fields and an example. */
export function configReference (schema: Schema = configSchema): string {
  const fields = configFields(schema)
  const sections = fields.filter((f) => f.parent === undefined)
  const out: string[] = [
    '# homeostat.yaml reference',
    '',
    '<!-- Generated from the agent\'s config schema by `npm run config-reference` (agent/src/config/reference.ts): edit the schema\'s descriptions, not this file. -->',
    '',
    'Every key is optional unless its default says **required** (required where its parent is given: a component needs `command`, an `http` probe needs `url`).',
    'A key left out takes the default shown; "unset" is what applies to an optional key whose schema has no default.',
    'Unknown keys are errors, reported with file, line and column and the keys expected there.',
    '`${NAME}` in a value is replaced by the environment variable NAME (unset: an error naming it); `$$` is a literal `$`.',
    '`homeostat init` writes a commented file with these defaults; `SIGHUP` (or `systemctl reload homeostat`) re-reads it.',
    '',
    'Paths: `a.b` is key `b` inside map `a`; `a[]` is every item of list `a`; `a.<component>` is any key of map `a`;',
    '`probes[] (kind: http)` is a probe whose `kind` is `http`. Keys ending in `Ms` are durations in milliseconds.',
    '',
    `Sections: ${sections.map((s) => `[\`${s.path}\`](#${s.path.toLowerCase()})`).join(' · ')}`
  ]
  for (const s of sections) {
    out.push('', `## \`${s.path}\``, '', s.description ?? '', '', '| Key | Type | Default | Allowed | Description |', '|---|---|---|---|---|')
    // A section that is a map is the paragraph above; its own row would only repeat it.
    for (const f of fields.filter((x) => x.section === s.path && !(x === s && x.type === 'map'))) {
      out.push(`| ${cell(code(f.path))} | ${cell(f.type)} | ${cell(defaultCell(f, schema))} | ${cell(f.allowed ?? '')} | ${cell(f.description ?? '')} |`)
    }
    const example = SECTION_EXAMPLES[s.path]
    if (example !== undefined) out.push('', 'Example:', '', '```yaml', example.trimEnd(), '```')
  }
  return out.join('\n') + '\n'
}

/** agent/CONFIG.md, beside src/ (and beside dist/ when compiled). */
export const CONFIG_MD = fileURLToPath(new URL('../../CONFIG.md', import.meta.url))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = configReference()
  if (process.argv.includes('--check')) {
    let current = ''
    try { current = readFileSync(CONFIG_MD, 'utf8') } catch {}
    if (current !== text) { console.error(`${CONFIG_MD} is out of date: run npm run config-reference`); process.exitCode = 1 }
  } else {
    writeFileSync(CONFIG_MD, text)
    console.log(`wrote ${CONFIG_MD}`)
  }
}
