#!/usr/bin/env node
// npm run bench -- NAME [--quick] [args…]
// Builds the packages (benchmarks measure the compiled code, as users run it),
// then runs bench/NAME/index.ts (or bench/NAME.ts) under tsx. The benchmark
// prints a human table and, as its last line, one JSON object.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [name, ...rest] = process.argv.slice(2)
const available = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((d) => d.isDirectory() ? existsSync(join(root, 'bench', d.name, 'index.ts')) : d.name.endsWith('.ts'))
  .map((d) => d.name.replace(/\.ts$/, ''))
  .sort()
if (name == null || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- NAME [--quick] [options]\navailable: ${available.join(', ')}`)
  process.exit(name == null ? 2 : 0)
}
const entry = [join(root, 'bench', name, 'index.ts'), join(root, 'bench', `${name}.ts`)].find(existsSync)
if (entry == null) {
  console.error(`bench: no benchmark named "${name}"; available: ${available.join(', ')}`)
  process.exit(2)
}
const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
const run = spawnSync(process.execPath, ['--import', 'tsx/esm', '--import', '@homeostat/mesh/polyfill', entry, ...rest], {
  cwd: root,
  stdio: 'inherit'
})
process.exit(run.status ?? 1)
