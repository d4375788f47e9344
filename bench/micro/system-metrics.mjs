// System metrics for the overhead run: N numeric metrics from /proc (CPU
// times per core, memory, load, network, disk I/O, thermal zones), each fed
// once a second to an online detector. Uses the monitor's collector and
// detector when it exports them; otherwise this small reader with an EWMA
// z-score detector (cost per metric: a few numbers). `source` says which ran.
import { readFileSync, readdirSync } from 'node:fs'

function readProc () {
  const out = []
  const push = (name, v) => { if (Number.isFinite(v)) out.push([name, v]) }
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      if (!line.startsWith('cpu')) continue
      const [name, ...f] = line.trim().split(/\s+/)
      ;['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq'].forEach((k, i) => push(`${name}.${k}`, Number(f[i])))
    }
  } catch {}
  try {
    for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)/.exec(line)
      if (m) push(`mem.${m[1]}`, Number(m[2]))
    }
  } catch {}
  try {
    const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ')
    push('load.1', Number(a)); push('load.5', Number(b)); push('load.15', Number(c))
  } catch {}
  try {
    for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
      const [iface, rest] = line.split(':')
      if (rest == null) continue
      const f = rest.trim().split(/\s+/)
      push(`net.${iface.trim()}.rx_bytes`, Number(f[0])); push(`net.${iface.trim()}.tx_bytes`, Number(f[8]))
    }
  } catch {}
  try {
    for (const z of readdirSync('/sys/class/thermal').filter((n) => n.startsWith('thermal_zone'))) {
      push(`thermal.${z}`, Number(readFileSync(`/sys/class/thermal/${z}/temp`, 'utf8')) / 1000)
    }
  } catch {}
  return out
}

/** EWMA mean/variance z-score, squashed to [0,1]; sees each value once, in order. */
function detector () {
  let n = 0; let mean = 0; let v = 0; let last
  return (x) => {
    const d = last === undefined ? 0 : x - last // counters → rates
    last = x
    n++
    const alpha = 0.05
    const diff = d - mean
    mean += alpha * diff
    v = (1 - alpha) * (v + alpha * diff * diff)
    if (n < 30) return 0
    const z = Math.abs(diff) / Math.sqrt(v + 1e-9)
    return 1 - Math.exp(-z / 6)
  }
}

export async function createSystemMetricsReader ({ metrics }) {
  const names = readProc().map(([n]) => n).slice(0, metrics)
  const detectors = new Map(names.map((n) => [n, detector()]))
  const streak = new Map()
  let samples = 0
  let reports = 0
  return {
    source: 'bench-local /proc reader + EWMA z-score (monitor collector not exported)',
    names: () => names,
    sample () {
      samples++
      const reportsNow = []
      const values = new Map(readProc())
      for (const n of names) {
        const x = values.get(n)
        if (x === undefined) continue
        const score = detectors.get(n)(x)
        const s = score > 0.9 ? (streak.get(n) ?? 0) + 1 : 0
        streak.set(n, s)
        if (s === 5) {
          reports++
          reportsNow.push({ component: 'node', failureClass: 'node_anomaly', metric: n, kind: 'metric', score, value: x, detail: `${n} anomalous for 5 s` })
        }
      }
      return reportsNow
    },
    stats: () => ({ samples, reports, metrics: names.length }),
    /** Current raw values of the selected series (for ingest into the monitor). */
    values () {
      const values = new Map(readProc())
      return names.filter((n) => values.has(n)).map((n) => [n, values.get(n)])
    }
  }
}
