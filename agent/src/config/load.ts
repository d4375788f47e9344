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

/** Walks the zod schema along `path` (following the raw value through unions) and returns the keys an object there accepts. */
function allowedKeys (schema: z.ZodType, path: ReadonlyArray<PropertyKey>, raw: unknown): string[] {
  let s: any = schema
  let v: any = raw
  const unwrap = () => {
    for (let i = 0; i < 10; i++) {
      const def = s?._zod?.def
      if (def == null) return
      if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') s = def.innerType
      else if (def.type === 'pipe') s = def.in
      else if (def.type === 'union') {
        // Pick the option whose literal discriminator matches the value (e.g. probes' `kind`).
        const opts: any[] = def.options
        const pick = opts.find((o) => {
          const shape = o?._zod?.def?.shape
          if (shape == null || v == null || typeof v !== 'object') return false
          return Object.entries(shape).some(([k, f]: [string, any]) => f?._zod?.def?.type === 'literal' && f._zod.def.values?.includes(v[k]))
        })
        if (pick === undefined) return
        s = pick
      } else return
    }
  }
  unwrap()
  for (const p of path) {
    const def = s?._zod?.def
    if (def == null) return []
    if (def.type === 'array') s = def.element
    else if (def.type === 'object') s = def.shape[p as string]
    else return []
    v = v?.[p as never]
    unwrap()
  }
  const def = s?._zod?.def
  return def?.type === 'object' ? Object.keys(def.shape) : []
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
        problems.push({ file: name, line, col, field: fieldPath([...path, key]), message: `unknown key (expected one of: ${allowed.join(', ')})` })
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
