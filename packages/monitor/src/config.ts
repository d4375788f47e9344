// Component and probe configuration, validated with zod. A bad entry is
// rejected with an error naming the field, e.g.
// `components[2].probes[0].timeoutMs: expected a positive number`.
import { z } from 'zod'
import { componentSchema, HomeostatError, type ComponentSpec } from '@homeostat/interface'

// The schemas and the record are @homeostat/interface's (one home for the component spec).
export { componentSchema, probeSchema, resolveArtifact, previousArtifactVersion, type ComponentSpec, type ComponentInput, type ProbeSpec, type ProbeInput } from '@homeostat/interface'

/** Formats a zod path the way a user reads their config: `components[2].probes[0].timeoutMs`. */
export function formatPath (path: ReadonlyArray<PropertyKey>, root = ''): string {
  let out = root
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out === '' ? String(p) : `.${String(p)}`
  }
  return out === '' ? '(root)' : out
}

export class ConfigError extends HomeostatError {
  constructor (message: string, readonly issues: readonly string[]) {
    super('ERR_CONFIG', message)
    this.name = 'ConfigError'
  }
}

function issuesOf (error: z.ZodError, root: string): string[] {
  return error.issues.map((i) => `${formatPath(i.path, root)}: ${i.message}`)
}

/**
 * Validates a list of components: each entry's fields, unique names, known
 * dependencies and no dependency cycles. Throws ConfigError listing every bad
 * field; returns fully defaulted specs.
 */
export function parseComponents (value: unknown): ComponentSpec[] {
  const r = z.array(z.unknown(), { error: 'expected a list of components' }).max(256).safeParse(value)
  if (!r.success) throw new ConfigError(`invalid components: ${issuesOf(r.error, 'components').join('; ')}`, issuesOf(r.error, 'components'))
  const issues: string[] = []
  const specs: ComponentSpec[] = []
  r.data.forEach((entry, i) => {
    const p = componentSchema.safeParse(entry)
    if (p.success) specs.push(p.data)
    else issues.push(...issuesOf(p.error, `components[${i}]`))
  })
  if (issues.length === 0) issues.push(...graphIssues(specs))
  if (issues.length > 0) throw new ConfigError(`invalid components: ${issues.join('; ')}`, issues)
  return specs
}

/** Validates one component (for updateSpec). */
export function parseComponent (value: unknown, where = 'component'): ComponentSpec {
  const p = componentSchema.safeParse(value)
  if (!p.success) {
    const issues = issuesOf(p.error, where)
    throw new ConfigError(`invalid ${where}: ${issues.join('; ')}`, issues)
  }
  return p.data
}

function graphIssues (specs: ComponentSpec[]): string[] {
  const issues: string[] = []
  const index = new Map<string, number>()
  specs.forEach((s, i) => {
    if (index.has(s.name)) issues.push(`components[${i}].name: duplicate name "${s.name}" (also components[${index.get(s.name)}])`)
    else index.set(s.name, i)
  })
  specs.forEach((s, i) => s.dependsOn.forEach((d, j) => {
    if (!index.has(d)) issues.push(`components[${i}].dependsOn[${j}]: unknown component "${d}"`)
    else if (d === s.name) issues.push(`components[${i}].dependsOn[${j}]: a component cannot depend on itself`)
  }))
  if (issues.length > 0) return issues
  try { startOrder(specs) } catch (err) { issues.push((err as Error).message) }
  return issues
}

/** Topological order (dependencies first); throws on a cycle, naming it. */
export function startOrder (specs: readonly ComponentSpec[]): string[] {
  const byName = new Map(specs.map((s) => [s.name, s]))
  const order: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string, trail: string[]): void => {
    const st = state.get(name)
    if (st === 'done') return
    if (st === 'visiting') {
      const i = specs.findIndex((s) => s.name === trail[trail.length - 1])
      throw new ConfigError(`components[${i}].dependsOn: dependency cycle ${[...trail.slice(trail.indexOf(name)), name].join(' → ')}`, [])
    }
    state.set(name, 'visiting')
    for (const d of byName.get(name)?.dependsOn ?? []) if (byName.has(d)) visit(d, [...trail, name])
    state.set(name, 'done')
    order.push(name)
  }
  for (const s of specs) visit(s.name, [])
  return order
}

