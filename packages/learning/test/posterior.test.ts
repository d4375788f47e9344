import assert from 'node:assert/strict'
import { describe, it } from 'mocha'
import {
  betaMean, createRng, emptyEvidence, normalGammaFromGuess, normalGammaPosterior, observe, predictiveUpper, sampleMean
} from '@homeostat/learning'

describe('learning/posterior', () => {
  it('weighted Welford evidence matches a direct mean and sum of squares', () => {
    const xs = [3, 7, 1, 9, 4, 4, 12]
    let e = emptyEvidence()
    for (const x of xs) e = observe(e, x)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    const m2 = xs.reduce((s, x) => s + (x - mean) ** 2, 0)
    assert.ok(Math.abs(e.mean - mean) < 1e-12)
    assert.ok(Math.abs(e.m2 - m2) < 1e-9)
    assert.equal(e.max, 12)
    assert.equal(e.n, 7)
  })

  it('decay down-weights old evidence but never forgets the maximum', () => {
    let e = emptyEvidence()
    for (let i = 0; i < 50; i++) e = observe(e, 100, 0.5)
    for (let i = 0; i < 50; i++) e = observe(e, 1, 0.5)
    assert.ok(e.mean < 1.001, `recent values dominate, mean ${e.mean}`)
    assert.equal(e.max, 100)
    assert.ok(e.w < 2.01)
  })

  it('Normal-Gamma posterior converges on the data mean; upper bound shrinks toward it', () => {
    const prior = normalGammaFromGuess(12, 6, 1)
    const rng = createRng(7)
    let e = emptyEvidence()
    const uppers: number[] = []
    for (let i = 1; i <= 400; i++) {
      e = observe(e, 10 + rng.normal())
      if (i === 5 || i === 50 || i === 400) uppers.push(predictiveUpper(normalGammaPosterior(prior, e), 2.33))
    }
    const post = normalGammaPosterior(prior, e)
    assert.ok(Math.abs(post.mu - 10) < 0.3, `mu ${post.mu}`)
    assert.ok(uppers[0]! > uppers[1]! && uppers[1]! > uppers[2]!, `upper bounds ${uppers.join(', ')}`)
    assert.ok(uppers[2]! > 11.5 && uppers[2]! < 13.5, `99% predictive bound of N(10,1) ≈ 12.3, got ${uppers[2]}`)
    // A badly wrong prior keeps the bound conservative (prior conflict inflates the variance), never optimistic.
    const wrong = predictiveUpper(normalGammaPosterior(normalGammaFromGuess(50, 25, 1), e), 2.33)
    assert.ok(wrong > uppers[2]!)
    const draws = Array.from({ length: 2000 }, () => sampleMean(post, rng))
    const m = draws.reduce((s, x) => s + x, 0) / draws.length
    assert.ok(Math.abs(m - post.mu) < 0.05)
  })

  it('Beta draws average to the posterior mean (seeded)', () => {
    const seed = 1234
    const rng = createRng(seed)
    const p = { a: 9, b: 3 }
    const n = 4000
    let s = 0
    for (let i = 0; i < n; i++) s += rng.beta(p.a, p.b)
    assert.ok(Math.abs(s / n - betaMean(p)) < 0.01, `seed ${seed}`)
  })

  it('the PRNG is reproducible from its seed and its state', () => {
    const a = createRng(99)
    const b = createRng(99)
    for (let i = 0; i < 10; i++) assert.equal(a.next(), b.next())
    const st = a.state()
    const x = [a.next(), a.next()]
    b.setState(st)
    assert.deepEqual([b.next(), b.next()], x)
    assert.notEqual(createRng(1).next(), createRng(2).next())
  })
})
