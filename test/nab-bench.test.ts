// The NAB benchmark runner as a real child process on a small corpus in NAB's
// layout (--data), writing results in NAB's layout (--out); bad corpora give a
// clear error and exit code 2, not a stack trace.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const STEP_MS = 300_000
const fmt = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19)

function makeCorpus (dir: string, opts: { badValue?: boolean, noLabels?: boolean } = {}): void {
  const t0 = Date.UTC(2024, 0, 1)
  const spikeAt = 1000
  const a = ['timestamp,value']
  const b = ['timestamp,value']
  for (let i = 0; i < 1500; i++) {
    const t = fmt(t0 + i * STEP_MS)
    a.push(`${t},${(i === spikeAt ? 500 : 50 + 10 * Math.sin(i / 20) + (i % 7) / 7).toFixed(3)}`)
    b.push(`${t},${opts.badValue === true && i === 10 ? 'oops' : (20 + (i % 5)).toString()}`)
  }
  mkdirSync(join(dir, 'data', 'catA'), { recursive: true })
  mkdirSync(join(dir, 'data', 'catB'), { recursive: true })
  writeFileSync(join(dir, 'data', 'catA', 'spike.csv'), a.join('\n') + '\n')
  writeFileSync(join(dir, 'data', 'catB', 'calm.csv'), b.join('\n') + '\n')
  if (opts.noLabels === true) return
  mkdirSync(join(dir, 'labels'), { recursive: true })
  writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify({
    'catA/spike.csv': [[fmt(t0 + (spikeAt - 50) * STEP_MS) + '.000000', fmt(t0 + (spikeAt + 50) * STEP_MS) + '.000000']],
    'catB/calm.csv': []
  }))
}

function runBench (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=homeostat-src', '--import', 'tsx/esm', join(root, 'bench', 'nab', 'index.ts'), ...args], {
    cwd: root, encoding: 'utf8', timeout: 60_000
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('NAB bench runner (child process, --data/--out)', function () {
  this.timeout(90_000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nab-bench-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('scores a corpus in NAB layout and writes results in NAB layout', () => {
    const data = join(dir, 'corpus')
    const out = join(dir, 'results')
    makeCorpus(data)
    const r = runBench(['--data', data, '--out', out, '--quick'])
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    const summary = JSON.parse(lines[lines.length - 1]) as Record<string, number>
    assert.equal(summary.files, 2)
    assert.equal(summary.samples, 3000)
    // one window, caught at the spike, nothing else flagged: the best possible raw score for a centred detection
    assert.ok(summary.nabStandard > 90, `nabStandard ${summary.nabStandard}`)
    assert.ok(summary.usPerSample > 0 && summary.bytesPerMetric > 0)
    const res = readFileSync(join(out, 'homeostat', 'catA', 'homeostat_spike.csv'), 'utf8').trim().split('\n')
    assert.equal(res[0], 'timestamp,value,anomaly_score,label')
    assert.equal(res.length, 1501)
    const rows = res.slice(1).map((l) => l.split(','))
    assert.equal(rows.filter((x) => x[3] === '1').length, 101)
    assert.ok(Number(rows[1000][2]) >= 0.9)
    assert.ok(rows.every((x) => Number(x[2]) >= 0 && Number(x[2]) <= 1))
    for (const p of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
      assert.ok(existsSync(join(out, 'homeostat', `homeostat_${p}_scores.csv`)), p)
    }
  })

  it('a malformed value names the file and row, exit code 2', () => {
    const data = join(dir, 'corpus')
    makeCorpus(data, { badValue: true })
    const r = runBench(['--data', data, '--out', join(dir, 'results'), '--quick'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /calm\.csv: row 12: bad value "oops"/)
  })

  it('a corpus without labels is refused clearly, exit code 2', () => {
    const data = join(dir, 'corpus')
    makeCorpus(data, { noLabels: true })
    const r = runBench(['--data', data, '--out', join(dir, 'results'), '--quick'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /cannot read labels/)
  })

  it('an unknown argument is refused, exit code 2', () => {
    const r = runBench(['--bogus'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unknown argument --bogus/)
  })
})
