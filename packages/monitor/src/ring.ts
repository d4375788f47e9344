// A bounded ring of text lines: the last N lines a child wrote, kept as
// evidence for incidents. Memory is bounded by maxLines × maxLineLength.

export interface LineRing {
  /** Feeds a chunk of output; splits on newlines, keeps a partial last line. */
  push: (chunk: string) => void
  /** Oldest first; includes the unterminated partial line, if any. */
  lines: () => string[]
  clear: () => void
  /** Ends an unterminated last line (the writer is gone: the next writer's output must not join it). */
  endLine: () => void
  /** Lines added so far, dropped ones included: a mark for `since`. */
  readonly total: number
  /** The lines added after mark `total` (those still held), and the partial line. */
  since: (total: number) => string[]
  /** Lines dropped because the ring was full. */
  readonly dropped: number
}

export function createLineRing (maxLines: number, maxLineLength: number): LineRing {
  if (!(maxLines >= 1)) throw new RangeError('maxLines must be >= 1')
  const buf: string[] = new Array(maxLines)
  let start = 0
  let size = 0
  let partial = ''
  let dropped = 0
  const add = (line: string): void => {
    const l = line.length > maxLineLength ? line.slice(0, maxLineLength) + '…' : line
    if (size < maxLines) {
      buf[(start + size) % maxLines] = l
      size++
    } else {
      buf[start] = l
      start = (start + 1) % maxLines
      dropped++
    }
  }
  return {
    push (chunk) {
      // A flood (a chunk of more lines than the ring holds, e.g. `yes`): only its last lines can be kept, so
      // only they are split; the head is one marker line. Splitting 32 k lines of a 64 KB chunk to keep 50
      // cost the agent a whole core on a chatty workload.
      // A flood: at least twice the ring's lines in one chunk. Keep the marker and the last maxLines − 1 lines.
      let at = chunk.length
      let cut = -1
      for (let n = 0; n < 2 * maxLines && at > 0; n++) {
        at = chunk.lastIndexOf('\n', at - 1)
        if (at < 0) break
        if (n === maxLines - 1) cut = at
        if (n === 2 * maxLines - 1) break
      }
      if (cut > 0 && at > 0 && at < cut) {
        add(`… ${((partial.length + cut) / 1024).toFixed(0)} KB of output skipped …`)
        partial = ''
        chunk = chunk.slice(cut + 1)
      }
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      // A newline-free flood must not grow `partial` without bound.
      if (partial.length > maxLineLength) { add(partial); partial = '' }
      for (const p of parts) add(p.endsWith('\r') ? p.slice(0, -1) : p)
    },
    lines () {
      const out: string[] = []
      for (let i = 0; i < size; i++) out.push(buf[(start + i) % maxLines]!)
      if (partial !== '') out.push(partial)
      return out
    },
    clear () { start = 0; size = 0; partial = '' },
    endLine () { if (partial !== '') { add(partial); partial = '' } },
    get total () { return dropped + size },
    since (mark) {
      const out: string[] = []
      for (let i = Math.max(0, mark - dropped); i < size; i++) out.push(buf[(start + i) % maxLines]!)
      if (partial !== '') out.push(partial)
      return out
    },
    get dropped () { return dropped }
  }
}
