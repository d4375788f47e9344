import { strict as assert } from 'node:assert'
import { stats, incidentRowsFor } from '../src/index.ts'

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`)

describe('diagnosis stats (table-driven)', () => {
  const medians: Array<[number[], number]> = [[[3, 1, 2], 2], [[4, 1, 3, 2], 2.5], [[5], 5], [[-1, -1, 7], -1]]
  for (const [xs, want] of medians) it(`median(${xs.join(',')}) = ${want}`, () => assert.equal(stats.median(xs), want))
  it('median of nothing is NaN', () => assert.ok(Number.isNaN(stats.median([]))))

  const sigmas: Array<[number[], number]> = [[[1, 2, 3, 4, 100], 1.4826], [[5, 5, 5], 0], [[0, 2, 4, 6, 8], 2 * 1.4826]]
  for (const [xs, want] of sigmas) it(`robustSigma(${xs.join(',')}) ≈ ${want}`, () => close(stats.robustSigma(xs), want, 1e-9, 'sigma'))

  const pearsons: Array<[Array<number | null>, Array<number | null>, number]> = [
    [[1, 2, 3, 4], [2, 4, 6, 8], 1],
    [[1, 2, 3, 4], [8, 6, 4, 2], -1],
    [[1, 2, null, 4, 5], [1, 2, 99, 4, 5], 1],
    [[1, 2, 3, 4], [1, 3, 2, 4], 0.8]
  ]
  for (const [x, y, want] of pearsons) it(`pearson(${x.join(',')} ; ${y.join(',')}) = ${want}`, () => close(stats.pearson(x, y), want, 1e-9, 'r'))
  it('pearson with < 3 pairs or no variance is NaN', () => {
    assert.ok(Number.isNaN(stats.pearson([1, 2], [1, 2])))
    assert.ok(Number.isNaN(stats.pearson([1, 1, 1], [1, 2, 3])))
  })

  const lags: Array<[number, number]> = [[0, 0], [1, 1], [2, 2], [-2, -2]]
  for (const [shift, want] of lags) {
    it(`laggedCorrelation finds a lead of ${shift} rows`, () => {
      const rand = stats.seededRandom(7 + shift)
      const x = Array.from({ length: 200 }, () => stats.gaussian(rand))
      // y[t] = x[t − shift] (x leads y by `shift`).
      const y = x.map((_, t) => { const k = t - shift; return k >= 0 && k < x.length ? x[k] : 0 })
      const lc = stats.laggedCorrelation(x, y, 3)
      assert.equal(lc.lag, want)
      assert.ok(lc.r > 0.95, `r=${lc.r}`)
    })
  }

  const fisher: Array<[number, number, number, number]> = [
    // r, n, k, two-sided p (z = atanh(r)·√(n−k−3))
    [0, 50, 0, 1],
    [0.5, 28, 0, 0.00603],
    [0.3, 103, 0, 0.00197],
    [0.3, 104, 1, 0.00197],
    [0.9, 3, 0, 1]
  ]
  for (const [r, n, k, p] of fisher) it(`fisherZPValue(r=${r}, n=${n}, k=${k}) ≈ ${p}`, () => close(stats.fisherZPValue(r, n, k), p, 2e-4, 'p'))

  const partials: Array<[number, number, number, number]> = [
    [0.5, 0, 0, 0.5],
    [0.25, 0.5, 0.5, 0], // x and y only share z
    [0.8, 0.6, 0.6, (0.8 - 0.36) / 0.64]
  ]
  for (const [rxy, rxz, ryz, want] of partials) it(`partialCorrelation(${rxy}, ${rxz}, ${ryz}) = ${want.toFixed(3)}`, () => close(stats.partialCorrelation(rxy, rxz, ryz), want, 1e-9, 'partial'))

  it('ridgeFit recovers linear coefficients and residual σ', () => {
    const rand = stats.seededRandom(42)
    const a = Array.from({ length: 400 }, () => stats.gaussian(rand))
    const b = Array.from({ length: 400 }, () => 3 + stats.gaussian(rand))
    const y = a.map((v, i) => 2 + 1.5 * v - 0.7 * b[i] + 0.1 * stats.gaussian(rand))
    const fit = stats.ridgeFit([a, b], y, 1e-6)
    assert.ok(fit != null)
    close(fit.coefficients[0], 1.5, 0.02, 'β1'); close(fit.coefficients[1], -0.7, 0.02, 'β2')
    close(fit.intercept, 2, 0.08, 'intercept'); close(fit.residualSigma, 0.1, 0.02, 'σ')
  })
  it('ridgeFit refuses too few complete rows', () => {
    assert.equal(stats.ridgeFit([[1, 2, null, 4]], [1, 2, 3, 4], 0.01), null)
  })
  const systems: Array<[number[][], number[], number[] | null]> = [
    [[[2, 0], [0, 4]], [2, 8], [1, 2]],
    [[[0, 1], [1, 0]], [3, 5], [5, 3]],
    [[[1, 2], [2, 4]], [1, 2], null]
  ]
  for (const [A, b, want] of systems) {
    it(`solve(${JSON.stringify(A)}) = ${JSON.stringify(want)}`, () => {
      const x = stats.solve(A, b)
      if (want == null) assert.equal(x, null)
      else want.forEach((v, i) => close((x as number[])[i], v, 1e-9, `x${i}`))
    })
  }
  const squashes: Array<[number, number]> = [[3, 0.5], [-Infinity, 0], [Infinity, 1], [5, 1 / (1 + Math.exp(-2))]]
  for (const [z, want] of squashes) it(`squash(${z}, 3, 1) = ${want.toFixed(3)}`, () => close(stats.squash(z, 3, 1), want, 1e-12, 'squash'))

  const rowsTable: Array<[Array<number | null>, number[]]> = [
    [[1, 1, 5, 9, 1], [2, 3]],
    [[1, 1, 1, 9, 1], [3]],
    [[2, 2, 2, 2], [0, 1, 2, 3]],
    [[null, 1, 10, null], [2]]
  ]
  for (const [xs, want] of rowsTable) it(`incidentRowsFor(${xs.join(',')}) = ${want.join(',')}`, () => assert.deepEqual(incidentRowsFor(xs, 0.5), want))

  it('seededRandom is reproducible and in [0,1)', () => {
    const a = stats.seededRandom(1); const b = stats.seededRandom(1)
    for (let i = 0; i < 100; i++) { const x = a(); assert.equal(x, b()); assert.ok(x >= 0 && x < 1) }
  })
})
