// Serves the dashboard: agent/ui (committed sources, plain ES modules) and the
// few vendored browser modules it imports, resolved from node_modules at start.
// Nothing is fetched from a CDN: the machine may be offline.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerResponse } from 'node:http'

const require = createRequire(import.meta.url)
/** agent/ui, both from src/api (tsx) and dist/api (compiled). */
export const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui')

/** A file inside an installed package (some packages do not export package.json, so walk up from the entry). */
function pkgFile (pkg: string, file: string): string {
  let dir = dirname(require.resolve(pkg))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && dir.endsWith(sep + pkg)) return join(dir, file)
    dir = dirname(dir)
  }
  throw new Error(`cannot locate package ${pkg}`)
}

/** URL path → file, for the browser modules the page imports (see the import map in ui/index.html). */
const VENDOR: Record<string, () => string> = {
  '/vendor/preact.js': () => pkgFile('preact', 'dist/preact.module.js'),
  '/vendor/preact-hooks.js': () => pkgFile('preact', 'hooks/dist/hooks.module.js'),
  '/vendor/htm.js': () => pkgFile('htm', 'dist/htm.module.js'),
  '/vendor/uPlot.js': () => pkgFile('uplot', 'dist/uPlot.esm.js'),
  '/vendor/uPlot.css': () => pkgFile('uplot', 'dist/uPlot.min.css')
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon'
}

const cache = new Map<string, Buffer>()

export async function serveStatic (path: string, res: ServerResponse): Promise<boolean> {
  let file: string | undefined
  if (VENDOR[path] !== undefined) {
    try { file = VENDOR[path]() } catch { return false }
  }
  else {
    const rel = path === '/' ? 'index.html' : path.slice(1)
    const full = normalize(join(UI_DIR, rel))
    if (!full.startsWith(UI_DIR + sep)) return false
    file = full
  }
  let body = cache.get(file)
  if (body === undefined) {
    try { body = await readFile(file) } catch { return false }
    // preact/hooks imports the bare specifier "preact"; point it at our copy
    // (no inline import map: the CSP forbids inline scripts).
    if (path === '/vendor/preact-hooks.js') body = Buffer.from(body.toString('utf8').replace(/from\s*["']preact["']/g, 'from"/vendor/preact.js"'))
    if (process.env.HOMEOSTAT_UI_NOCACHE === undefined) cache.set(file, body)
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; script-src 'self'"
  })
  res.end(body)
  return true
}
