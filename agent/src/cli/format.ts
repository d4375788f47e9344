// Plain-text tables and durations for the terminal.

export function table (headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => c === undefined ? '-' : String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(headers), ...cells.map(line)].join('\n')
}

export function ms (x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  if (x < 1000) return `${Math.round(x)} ms`
  if (x < 120_000) return `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s`
  if (x < 7_200_000) return `${(x / 60_000).toFixed(1)} min`
  return `${(x / 3_600_000).toFixed(1)} h`
}

export function ago (atMs: number | undefined, now = Date.now()): string {
  if (atMs === undefined) return '-'
  return `${ms(Math.max(0, now - atMs))} ago`
}

export function clock (atMs: number): string {
  return new Date(atMs).toISOString().slice(11, 23)
}
