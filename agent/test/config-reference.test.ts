// The config documentation tells the truth: agent/CONFIG.md is the schema's
// reference as generated now, every field is described, the defaults it shows
// are what the loader fills in; `homeostat init` writes every section with the
// schema's defaults; an unknown key anywhere lists the keys valid there.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, isPair, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument, type Node as YamlNode } from 'yaml'
import { componentRecoveryConfigSchema } from '@homeostat/recovery'
import { parseConfigText, loadConfig } from '../src/config/load.ts'
import { configSchema, componentSchema, probeSchema } from '../src/config/schema.ts'
import { CONFIG_MD, DESCRIPTIONS, SECTION_EXAMPLES, WHEN_UNSET, configFields, configReference, duration, genericPath, type FieldDoc } from '../src/config/reference.ts'
import { configTemplate, runInit } from '../src/cli/init.ts'
import { ConfigError } from '../src/errors.ts'
import { tempDir } from './helpers.ts'

const parse = (yaml: string) => parseConfigText(yaml, 'h.yaml', { env: {} })

/** The value at a reference path in a parsed config: `[]` is the first item, `[] (kind: K)` the first item of kind K, `<…>` the first key. */
function valueAt (config: unknown, path: string): unknown {
  let v: unknown = config
  for (const seg of path.match(/[^.[\]]+|\[\](?: \(kind: [^)]+\))?/g) ?? []) {
    if (v === undefined || v === null) return undefined
    if (seg.startsWith('[]')) {
      const kind = /kind: ([^)]+)/.exec(seg)?.[1]
      v = (v as unknown[]).find((x) => kind === undefined || (x as { kind?: string }).kind === kind)
    } else if (seg.startsWith('<')) v = Object.values(v as object)[0]
    else v = (v as Record<string, unknown>)[seg]
  }
  return v
}

/** A config with one item of every list and map, each with only its required fields, so that every default shows. */
const SAMPLE = `components:
  - name: a
    command: x
    limits: { disk: { path: /tmp, limitMb: 1 } }
    artifact: { path: /m, versions: [v1] }
    fallback: {}
    probes:
      - kind: process
      - { kind: http, url: "http://127.0.0.1:1/" }
      - { kind: tcp, port: 1 }
      - { kind: exec, command: "true" }
      - { kind: heartbeat, path: /tmp/x, maxAgeMs: 1000 }
      - { kind: systemd, unit: x.service }
recovery:
  a: { freeDisk: { paths: [/tmp] }, throttle: {}, artifact: { path: /m }, fallback: { patch: {} } }
`

describe('config reference (agent/CONFIG.md)', () => {
  const fields = configFields()

  it('describes every field (a new field cannot go undocumented)', () => {
    const missing = fields.filter((f) => f.description === undefined || f.description === '').map((f) => f.path)
    assert.deepEqual(missing, [], `fields without a description: ${missing.join(', ')}. Give each a .describe('…') in agent/src/config/schema.ts, or (for the monitor's and recovery's schemas) an entry in DESCRIPTIONS in agent/src/config/reference.ts, then run npm run config-reference`)
  })

  it('has no description or run-time default for a field that does not exist', () => {
    const paths = new Set(fields.map((f) => genericPath(f.path)))
    assert.deepEqual(Object.keys(DESCRIPTIONS).filter((p) => !paths.has(p)), [], 'stale DESCRIPTIONS entries in agent/src/config/reference.ts')
    assert.deepEqual(Object.keys(WHEN_UNSET).filter((p) => !paths.has(p)), [], 'stale WHEN_UNSET entries in agent/src/config/reference.ts')
  })

  it('is committed as generated from the schema now', () => {
    const committed = readFileSync(CONFIG_MD, 'utf8')
    const generated = configReference()
    if (committed === generated) return
    const a = committed.split('\n'); const b = generated.split('\n')
    const i = b.findIndex((line, k) => line !== a[k])
    assert.fail(`agent/CONFIG.md is out of date (first difference at line ${i + 1}: ${JSON.stringify(a[i])} should be ${JSON.stringify(b[i])}); regenerate it with: npm run config-reference`)
  })

  it('lists every field path, with probe kinds and map keys spelled out', () => {
    const paths = fields.map((f) => f.path)
    for (const p of ['node.role', 'system.detection.diskHorizonMs', 'components[].limits.disk.limitMb', 'components[].probes[] (kind: http).timeoutMs', 'components[].probes[] (kind: tcp).port', 'recovery.<component>.freeDisk.keepRecentMs', 'recovery.<component>.graceMs', 'policy.engine', 'federated.roundIntervalMs']) {
      assert.ok(paths.includes(p), p)
    }
    const md = configReference()
    for (const p of paths) assert.ok(md.includes(`| \`${p}\` |`) || fields.find((f) => f.path === p)?.parent === undefined, `row for ${p}`)
    const row = (p: string) => md.split('\n').find((l) => l.startsWith(`| \`${p}\` |`))
    assert.equal(row('components[].probes[] (kind: http).timeoutMs'), '| `components[].probes[] (kind: http).timeoutMs` | number | `1000` (1 s) | x > 0 | One run longer than this is a failure (a hung server fails by timeout). |')
    assert.equal(row('node.role'), '| `node.role` | string | `"edge"` | one of `edge`, `cloud` | edge: supervises local workloads; cloud: also runs the macro loop and shows the fleet. |')
    assert.match(row('components[].command') ?? '', /\| \*\*required\*\* \|/)
  })

  it('shows as default exactly what the loader fills in for a key left out', () => {
    const empty = parse('')
    const sample = parse(SAMPLE)
    let checked = 0
    for (const f of fields) {
      const inList = f.path.includes('[]') || f.path.includes('<')
      // A container's default is its fields' defaults, checked one by one; in SAMPLE it is given.
      if (f.default === undefined || (inList && f.container)) continue
      const actual = valueAt(inList ? sample : empty, f.path)
      assert.deepEqual(actual, f.default.value, `${f.path}: the reference says ${JSON.stringify(f.default.value)}, the loader fills in ${JSON.stringify(actual)}`)
      checked++
    }
    assert.ok(checked > 60, `checked ${checked}`)
    // An optional field without a schema default is absent, not made up.
    assert.equal(valueAt(sample, 'recovery.<component>.graceMs'), undefined)
    assert.equal(fields.find((f) => f.path === 'recovery.<component>.graceMs')?.default, undefined)
  })

  it('has one valid example per section', () => {
    const sections = fields.filter((f) => f.parent === undefined).map((f) => f.path)
    assert.deepEqual(Object.keys(SECTION_EXAMPLES).sort(), [...sections].sort())
    for (const s of sections) {
      // recovery entries must name a declared component: the components example declares it.
      const text = s === 'recovery' ? SECTION_EXAMPLES.components + SECTION_EXAMPLES.recovery : SECTION_EXAMPLES[s]
      assert.doesNotThrow(() => parseConfigText(text, `example-${s}.yaml`, { env: { MODEL_TOKEN: 't' } }), s)
      assert.ok(configReference().includes('```yaml\n' + SECTION_EXAMPLES[s].trimEnd() + '\n```'), `example of ${s} in the reference`)
    }
  })

  it('reads defaults, allowed values and types from the schema', () => {
    const f = (p: string) => fields.find((x) => x.path === p) as FieldDoc
    assert.equal(f('policy.budgetFraction').allowed, '0 < x ≤ 1')
    assert.equal(f('system.sampleMs').type, 'whole number')
    assert.equal(f('components[].probes').type, 'list of map (by `kind`)')
    assert.equal(f('components[].probes[] (kind: http).method').allowed, 'one of `GET`, `HEAD`, `POST`')
    assert.deepEqual(f('mesh.listen').default, { value: ['/ip4/0.0.0.0/tcp/4001'] })
    assert.equal(f('components[].probes[] (kind: heartbeat).maxAgeMs').required, true)
    assert.equal(f('recovery').type, 'map of string → map')
    assert.deepEqual(f('recovery.<component>.freeDisk.keepRecentMs').whenUnset?.value, WHEN_UNSET['recovery.<component>.freeDisk.keepRecentMs']?.value)
    assert.equal(duration(3_600_000), '1 h')
    assert.equal(duration(30_000), '30 s')
  })
})

/** Each key of a YAML document with its path, its line and its value. */
function yamlPairs (text: string): Array<{ path: Array<string | number>, line: number, value: YamlNode | null, js: unknown }> {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc })
  const out: Array<{ path: Array<string | number>, line: number, value: YamlNode | null, js: unknown }> = []
  const walk = (node: unknown, path: Array<string | number>) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue
        const p = [...path, String(pair.key.value)]
        const value = pair.value as YamlNode | null
        out.push({ path: p, line: lc.linePos(pair.key.range?.[0] ?? 0).line, value, js: value === null ? null : (value as { toJSON: () => unknown }).toJSON() })
        walk(value, p)
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]))
  }
  walk(doc.contents, [])
  return out
}

/** The reference path of a concrete key path: list items become `[]` (with the probe kind), map keys `<component>`. */
function docPathOf (concrete: Array<string | number>, root: unknown, known: ReadonlySet<string>): string {
  let path = ''
  let v: unknown = root
  for (const seg of concrete) {
    const next = (v as Record<string | number, unknown> | undefined)?.[seg]
    if (typeof seg === 'number') {
      const kind = (next as { kind?: unknown } | undefined)?.kind
      path = typeof kind === 'string' && known.has(`${path}[] (kind: ${kind}).kind`) ? `${path}[] (kind: ${kind})` : `${path}[]`
    } else {
      const direct = path === '' ? seg : `${path}.${seg}`
      const mapKey = [...known].find((k) => k.startsWith(`${path}.<`))
      path = known.has(direct) || mapKey === undefined ? direct : mapKey.slice(0, mapKey.indexOf('>', path.length) + 1)
    }
    v = next
  }
  return path
}

/** The template with its commented-out examples (lines of `#` and indented YAML) uncommented; line numbers are kept. */
function uncommentExamples (text: string): string {
  return text.replace(/^components: \[\]$/m, 'components:').replace(/^recovery: \{\}$/m, 'recovery:').replace(/^#(?= {2})/gm, ' ')
}

describe('homeostat init template', () => {
  const fields = configFields()
  const byPath = new Map(fields.map((f) => [f.path, f]))
  const known = new Set(byPath.keys())

  for (const role of ['edge', 'cloud'] as const) {
    it(`is valid for role ${role}, and so are its examples uncommented`, () => {
      const text = configTemplate({ name: 'pi-7', role, apiListen: '127.0.0.1:9464' })
      assert.equal(parse(text).node.role, role)
      const c = parse(uncommentExamples(text).replace('${MODEL_TOKEN}', 'x'))
      assert.deepEqual(c.components.map((x) => x.name), ['inference', 'trainer', 'model-server'])
      assert.deepEqual(Object.keys(c.recovery), ['inference'])
    })
  }

  it('the file `homeostat init` writes loads with the agent\'s loader', async () => {
    const d = tempDir()
    try {
      const r = await runInit({ dir: d.dir, name: 'pi-7', role: 'edge', force: false })
      const l = loadConfig(r.configFile, { env: {} })
      assert.equal(l.nodeName, 'pi-7')
      assert.equal(l.dataDir, join(d.dir, 'homeostat-data'))
    } finally { d.cleanup() }
  })

  it('has every top-level and second-level key of the schema (commented or not)', () => {
    const text = uncommentExamples(configTemplate({ name: 'pi-7', role: 'edge', apiListen: '127.0.0.1:9464' }))
    const root = parseYaml(text) as unknown
    const present = new Set(yamlPairs(text).map((p) => docPathOf(p.path, root, known)))
    const top = new Set(fields.filter((f) => f.parent === undefined).map((f) => f.path))
    const wanted = fields.filter((f) => f.parent === undefined || top.has(f.parent)).map((f) => genericPath(f.path))
    const presentGeneric = new Set([...present].map(genericPath))
    const missing = [...new Set(wanted)].filter((p) => !presentGeneric.has(p))
    assert.deepEqual(missing, [], `keys missing from the template in agent/src/cli/init.ts: ${missing.join(', ')}`)
    for (const p of ['policy.engine', 'federated.enabled', 'recovery.<component>.freeDisk', 'recovery.<component>.throttle', 'components[].limits']) assert.ok(presentGeneric.has(p), p)
    for (const p of ['components[].limits.memoryMb', 'components[].limits.cpu', 'components[].limits.disk', 'recovery.<component>.freeDisk.paths', 'recovery.<component>.freeDisk.patterns', 'recovery.<component>.freeDisk.keepRecentMs']) assert.ok(present.has(p), p)
  })

  it('every default it shows is the schema\'s', () => {
    const original = configTemplate({ name: 'pi-7', role: 'cloud', apiListen: '127.0.0.1:7000' }).split('\n')
    const text = uncommentExamples(original.join('\n'))
    const root = parseYaml(text) as unknown
    const given = new Set(['node.name', 'node.role', 'api.listen']) // the header says these are not defaults
    let checked = 0
    const pairs = yamlPairs(text)
    for (const p of pairs) {
      const path = docPathOf(p.path, root, known)
      // Keys inside a value (a component's env, a fallback patch) are the user's, not config fields.
      const outer = p.path.slice(0, -1).map((_, i) => byPath.get(docPathOf(p.path.slice(0, i + 1), root, known)))
      if (outer.some((o) => o !== undefined && !o.container)) continue
      if (/\.<[^>]+>$/.test(path)) continue // a component's name under recovery: a key, not a field
      const f = byPath.get(path)
      assert.ok(f !== undefined, `template key ${path} is not a config field`)
      const line = original[p.line - 1] as string
      const commented = line.startsWith('#')
      const comment = (commented ? line.slice(1) : line).split(/\s#\s/)[1] ?? ''
      const where = `template line ${p.line} (${line.trim()})`
      if (!commented && !given.has(path) && f.default !== undefined && !f.container) {
        assert.deepEqual(p.js, f.default.value, `${where}: shown as the default of ${path}, which is ${JSON.stringify(f.default.value)}`)
        checked++
      }
      const claimed = /\(default ([^)\s;,]+)\)/.exec(comment)?.[1]
      if (claimed !== undefined) {
        assert.ok(f.default !== undefined, `${where}: says "default" but ${path} has none`)
        assert.deepEqual(parseYaml(claimed), f.default.value, `${where}: the default of ${path} is ${JSON.stringify(f.default.value)}`)
        checked++
      }
      if (/^default\b\s*(;|$)/.test(comment.trim())) {
        assert.deepEqual(p.js, f.default?.value, `${where}: marked default, but the default of ${path} is ${JSON.stringify(f.default?.value)}`)
        checked++
      }
      const unset = /\(unset: ([^)]*)\)/.exec(comment)?.[1]
      if (unset !== undefined) {
        assert.equal(f.default, undefined, `${where}: says "unset" but ${path} has a schema default`)
        const u = f.whenUnset?.value
        if (u !== undefined) {
          assert.ok(unset.includes(String(u)) || (typeof u === 'number' && unset.includes(duration(u))), `${where}: when unset, ${path} is ${JSON.stringify(u)}`)
          checked++
        }
      }
    }
    assert.ok(checked >= 30, `checked ${checked}`)
  })
})

describe('unknown keys list the keys valid there', () => {
  const keysOf = (shape: object) => Object.keys(shape).join(', ')
  const rec = componentRecoveryConfigSchema.shape
  const http = probeSchema.options.find((o) => o.shape.kind.value === 'http')
  const comp = 'components:\n  - name: x\n    command: c\n'
  const BAD: Array<{ what: string, yaml: string, field: string, keys: string }> = [
    { what: 'recovery.x.freeDisk', yaml: comp + 'recovery:\n  x:\n    freeDisk:\n      paths: [/tmp]\n      bogus: 1\n', field: 'recovery.x.freeDisk.bogus', keys: keysOf(rec.freeDisk.unwrap().shape) },
    { what: 'recovery.x.throttle', yaml: comp + 'recovery:\n  x:\n    throttle: { bogus: 1 }\n', field: 'recovery.x.throttle.bogus', keys: keysOf(rec.throttle.unwrap().shape) },
    { what: 'recovery.x', yaml: comp + 'recovery:\n  x:\n    bogus: 1\n', field: 'recovery.x.bogus', keys: keysOf(rec) },
    { what: 'components[0].limits.disk', yaml: comp + '    limits:\n      disk: { path: /tmp, limitMb: 1, bogus: 1 }\n', field: 'components[0].limits.disk.bogus', keys: keysOf(componentSchema.shape.limits.unwrap().shape.disk.unwrap().shape) },
    { what: 'an http probe', yaml: comp + '    probes:\n      - kind: http\n        url: http://127.0.0.1:1/\n        bogus: 1\n', field: 'components[0].probes[0].bogus', keys: keysOf(http?.shape ?? {}) },
    { what: 'system.detection', yaml: 'system:\n  detection:\n    bogus: 1\n', field: 'system.detection.bogus', keys: keysOf(configSchema.shape.system.unwrap().shape.detection.unwrap().shape) },
    { what: 'the top level', yaml: 'bogus: 1\n', field: 'bogus', keys: keysOf(configSchema.shape) }
  ]
  for (const c of BAD) {
    it(`inside ${c.what}`, () => {
      assert.ok(c.keys.length > 0)
      let err: unknown
      try { parse(c.yaml) } catch (e) { err = e }
      assert.ok(err instanceof ConfigError, 'throws ConfigError')
      assert.deepEqual(err.problems.map((p) => `${p.field}: ${p.message}`), [`${c.field}: unknown key (expected one of: ${c.keys})`])
    })
  }
  it('spells out the keys in the message', () => {
    assert.throws(() => parse(BAD[0]?.yaml ?? ''), /recovery\.x\.freeDisk\.bogus: unknown key \(expected one of: paths, patterns, targetMb, maxFiles, keepRecentMs\)/)
  })
})
