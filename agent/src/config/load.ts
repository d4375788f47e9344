// Loads homeostat.yaml: YAML (keeping line numbers) → ${ENV} interpolation →
// schema validation. Every problem names file:line:col, the field, and what is
// expected. All problems are reported at once, not just the first.
import { readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { hostname } from 'node:os'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml'
import type { z } from 'zod'
import { LIMITS } from '@homeostat/interface'
import { configSchema, type AgentConfig } from './schema.ts'
import { ConfigError, type ConfigProblem } from '../errors.ts'

export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string
  config: AgentConfig
  /** node.dataDir resolved against the config file's directory. */
  dataDir: string
  /** mesh.swarmKeyFile resolved likewise. */
  swarmKeyFile: string
  /** node.name or the host name. */
  nodeName: string
}

export type Env = Record<string, string | undefined>

/** `components[0].probes[1].url` */
export function fieldPath (path: ReadonlyArray<PropertyKey>): string {
  let s = ''
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`
    else s += (s === '' ? '' : '.') + String(p)
  }
  return s === '' ? '(top level)' : s
}

const ENV_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Replaces ${NAME} with env[NAME]; `$$` is a literal `$`. Returns the missing names. */
export function interpolate (value: string, env: Env): { value: string, missing: string[] } {
  const missing: string[] = []
  const out = value.replace(ENV_RE, (m, name: string | undefined) => {
    if (m === '$$') return '$'
    const v = env[name as string]
    if (v === undefined) { missing.push(name as string); return '' }
    return v
  })
  return { value: out, missing }
}

function describe (node: YamlNode | null | undefined): string {
  if (node == null) return 'nothing'
  if (isScalar(node)) return node.value === null ? 'null' : JSON.stringify(node.value)
  if (isSeq(node)) return 'a list'
  if (isMap(node)) return 'a map'
  return 'something else'
}

type Schema = z.core.$ZodType
const defOf = (s: Schema): z.core.$ZodTypes['_zod']['def'] => (s as z.core.$ZodTypes)._zod.def
const fieldOf = (value: unknown, key: PropertyKey): unknown => value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined

/** The option of a union that `value` selects: by its discriminator (probes' `kind`) or any literal field it matches, else the union's only object. */
function unionOption (options: readonly Schema[], value: unknown): Schema | undefined {
  const objects = options.map(unwrapped).filter((o) => defOf(o).type === 'object')
  const matches = (o: Schema) => {
    const d = defOf(o)
    return d.type === 'object' && Object.entries(d.shape).some(([k, f]) => {
      const fd = defOf(unwrapped(f as Schema))
      return fd.type === 'literal' && fd.values.includes(fieldOf(value, k) as never)
    })
  }
  return objects.find(matches) ?? (objects.length === 1 ? objects[0] : undefined)
}

/** `s` without its wrappers (optional, default, nullable, pipe, readonly, catch, lazy). */
function unwrapped (s: Schema): Schema {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s)
    if (d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable' || d.type === 'nonoptional' || d.type === 'readonly' || d.type === 'catch') s = d.innerType
    else if (d.type === 'pipe') s = d.in
    else if (d.type === 'lazy') s = d.getter()
    else break
  }
  return s
}

/** `s` unwrapped, and a union narrowed to the option `value` selects (repeatedly: an option may itself be wrapped). */
function resolved (s: Schema, value: unknown): Schema | undefined {
  let cur: Schema | undefined = unwrapped(s)
  for (let i = 0; i < 20 && cur !== undefined; i++) {
    const d = defOf(cur)
    if (d.type !== 'union') return cur
    cur = unionOption(d.options, value)
  }
  return cur
}

/** Walks the zod schema along `path` (through objects, lists, tuples, maps and unions, following the raw value) and returns the keys the object there accepts. */
function allowedKeys (schema: Schema, path: ReadonlyArray<PropertyKey>, raw: unknown): string[] {
  let s = resolved(schema, raw)
  let v = raw
  for (const p of path) {
    if (s === undefined) return []
    const d = defOf(s)
    let next: Schema | undefined
    if (d.type === 'object') next = typeof p === 'string' ? d.shape[p] as Schema | undefined : undefined
    else if (d.type === 'array') next = d.element
    else if (d.type === 'tuple') next = typeof p === 'number' ? d.items[p] ?? d.rest ?? undefined : undefined
    else if (d.type === 'record') next = d.valueType
    if (next === undefined) return []
    v = fieldOf(v, p)
    s = resolved(next, v)
  }
  if (s === undefined) return []
  const d = defOf(s)
  return d.type === 'object' ? Object.keys(d.shape) : []
}

export interface ParseOptions {
  env?: Env
  /** Shown in messages; default the path. */
  displayName?: string
}

/** Parses YAML text; throws ConfigError listing every problem. Does not touch the file system. */
export function parseConfigText (text: string, file: string, options: ParseOptions = {}): AgentConfig {
  const env = options.env ?? process.env
  const name = options.displayName ?? file
  const lc = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  const problems: ConfigProblem[] = []
  const at = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0)
    return { line: p.line, col: p.col }
  }
  for (const e of doc.errors) {
    const { line, col } = at(e.pos[0])
    const msg = e.code === 'DUPLICATE_KEY' ? 'duplicate key (each key may appear once)' : `YAML syntax error: ${e.message.split('\n')[0]}`
    problems.push({ file: name, line, col, field: '', message: msg })
  }
  if (problems.length > 0) throw new ConfigError(problems)

  // ${ENV} interpolation on string scalars, before validation, so a missing
  // variable is reported at the line that uses it.
  const envPath: Array<string | number> = []
  visit(doc, {
    Scalar (_key, node, path) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return
      const r = interpolate(node.value, env)
      if (r.missing.length > 0) {
        const { line, col } = at(node.range?.[0])
        const fp: Array<string | number> = []
        for (let i = 1; i < path.length; i++) {
          const parent = path[i - 1]; const cur = path[i]
          if (isSeq(parent)) fp.push(parent.items.indexOf(cur as never))
          else if (isMap(parent)) {
            const pair = cur as { key?: unknown }
            const k = pair.key
            fp.push(isScalar(k) ? String(k.value) : String(k))
          }
        }
        for (const m of r.missing) {
          problems.push({ file: name, line, col, field: fieldPath(fp), message: `environment variable ${m} is not set (the value is "\${${m}}")` })
        }
      }
      node.value = r.value
    }
  })
  void envPath
  if (problems.length > 0) throw new ConfigError(problems)

  const raw: unknown = doc.toJS() ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([{ file: name, line: 1, col: 1, field: '', message: 'expected a map of settings at the top level' }])
  }
  const r = configSchema.safeParse(raw)
  if (r.success) return r.data
  for (const issue of r.error.issues) {
    const path = issue.path as Array<string | number>
    if (issue.code === 'unrecognized_keys') {
      const parent = doc.getIn(path, true) as YamlNode | undefined
      const allowed = allowedKeys(configSchema, path, raw)
      for (const key of issue.keys) {
        let keyNode: YamlNode | undefined
        if (parent != null && isMap(parent)) {
          const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key)
          keyNode = pair?.key as YamlNode | undefined
        }
        const { line, col } = at((keyNode ?? parent)?.range?.[0])
        problems.push({ file: name, line, col, field: fieldPath([...path, key]), message: allowed.length > 0 ? `unknown key (expected one of: ${allowed.join(', ')})` : 'unknown key' })
      }
      continue
    }
    // Find the deepest node that exists along the path.
    let node: YamlNode | undefined
    let depth = path.length
    for (; depth >= 0; depth--) {
      node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as YamlNode | undefined
      if (node != null) break
    }
    const { line, col } = at(node?.range?.[0])
    let message = issue.message
    if (depth < path.length) message = issue.code === 'invalid_type' && depth === path.length - 1 ? `missing; ${message}` : message
    else if (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_format' || issue.code === 'too_small' || issue.code === 'too_big') {
      if (node != null && (isScalar(node) || issue.code === 'invalid_type')) message = `${message}, got ${describe(node)}`
    }
    problems.push({ file: name, line, col, field: fieldPath(path), message })
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col)
  throw new ConfigError(problems)
}

/** Reads and validates a config file and resolves its paths. Throws ConfigError. */
export function loadConfig (file: string, options: ParseOptions = {}): LoadedConfig {
  const abs = resolve(file)
  let text: string
  try {
    const st = statSync(abs)
    if (st.size > LIMITS.configBytes) {
      throw new ConfigError([{ file, line: 1, col: 1, field: '', message: `file is ${st.size} bytes, over the ${LIMITS.configBytes}-byte limit` }])
    }
    text = readFileSync(abs, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file (create one with `homeostat init`)' : e.code === 'EACCES' ? 'permission denied' : e.message
    throw new ConfigError([{ file, line: 0, col: 0, field: '', message: `cannot read config: ${why}` }])
  }
  const config = parseConfigText(text, abs, { displayName: options.displayName ?? file, env: options.env })
  const base = dirname(abs)
  const rel = (p: string) => isAbsolute(p) ? p : resolve(base, p)
  return {
    file: abs,
    config,
    dataDir: rel(config.node.dataDir),
    swarmKeyFile: rel(config.mesh.swarmKeyFile),
    nodeName: config.node.name ?? hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64)
  }
}
