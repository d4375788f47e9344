#!/usr/bin/env node
// Fails when any import cycle exists among the sources (packages/*/src,
// agent/src), type-only imports included: a cycle makes the order of module
// evaluation matter and hides which part depends on which. Also checks the
// package order DESIGN.md gives (a package imports only packages before it).
// Usage: node scripts/check-cycles.mjs   (run by `npm run build` and CI)
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** DESIGN.md's order: a package depends only on packages before it; agent sits on top. */
const ORDER = ['hlc', 'interface', 'store', 'monitor', 'diagnosis', 'learning', 'planner', 'recovery', 'micro', 'mesh', 'coordination', 'federated']

const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) { if (name !== 'node_modules' && name !== 'dist') walk(p); continue }
    if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(p)
  }
}
const packages = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'src')))
for (const d of packages) walk(join(root, 'packages', d, 'src'))
walk(join(root, 'agent', 'src'))

const pkgOf = (file) => {
  const r = relative(root, file).split('/')
  return r[0] === 'agent' ? 'agent' : r[1]
}
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]/g
const edges = new Map()
const problems = []
for (const f of files) {
  const text = readFileSync(f, 'utf8')
  const out = new Set()
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1]
    let target
    if (spec.startsWith('.')) target = resolve(dirname(f), spec)
    else if (spec.startsWith('@homeostat/')) {
      const name = spec.slice('@homeostat/'.length).split('/')[0]
      const sub = spec.slice('@homeostat/'.length + name.length)
      if (name === 'agent') { problems.push(`${relative(root, f)} imports @homeostat/agent: nothing imports the agent`); continue }
      if (!packages.includes(name)) continue
      if (sub === '/polyfill') continue // a side-effect module, not a dependency on the package's graph
      target = join(root, 'packages', name, 'src', 'index.ts')
      const from = pkgOf(f)
      if (from !== 'agent' && ORDER.indexOf(name) >= ORDER.indexOf(from)) problems.push(`${relative(root, f)} (package ${from}) imports @homeostat/${name}, which comes after it in DESIGN.md's order`)
    } else continue
    if (!target.endsWith('.ts')) target = existsSync(`${target}.ts`) ? `${target}.ts` : join(target, 'index.ts')
    if (existsSync(target)) out.add(target)
  }
  edges.set(f, out)
}

// Tarjan's strongly connected components: every component of more than one file (or a self-import) is a cycle.
let index = 0
const idx = new Map(); const low = new Map(); const stack = []; const on = new Set(); const cycles = []
const strong = (v) => {
  idx.set(v, index); low.set(v, index); index++
  stack.push(v); on.add(v)
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const comp = []
    let w
    do { w = stack.pop(); on.delete(w); comp.push(w) } while (w !== v)
    if (comp.length > 1 || (edges.get(v) ?? new Set()).has(v)) cycles.push(comp)
  }
}
for (const f of files) if (!idx.has(f)) strong(f)

for (const c of cycles) problems.push(`import cycle: ${c.map((f) => relative(root, f)).join(' ↔ ')}`)
if (problems.length > 0) {
  for (const p of problems) console.error(`check-cycles: ${p}`)
  process.exit(1)
}
console.log(`check-cycles: ${files.length} source files, no import cycle, package order as DESIGN.md gives it`)
