// The dashboard in a real browser (Debian's chromium via playwright-core):
// the page loads and shows peers; a real fault (the inference workload
// crashes) appears live as an incident; the recovery waits for approval
// (threshold 0) and the Approve button clicked in the page reaches the agent,
// which then heals the workload. A screenshot is written under a temp dir.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { freePort, startTestAgent, testConfigYaml, waitFor, type TestAgent } from '../agent/test/helpers.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

describe('agent dashboard in chromium', function () {
  this.timeout(90_000)
  let browser: Browser | undefined
  let t: TestAgent | undefined

  before(function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (what .ci/run does)`)
  })
  after(async () => {
    await browser?.close()
    await t?.stop()
  })

  it('shows peers, an incident live, and an approval clicked in the page reaches the agent', async () => {
    const port = await freePort()
    t = await startTestAgent(testConfigYaml({ inferencePort: port, approvalRiskThreshold: 0 }))
    await waitFor('inference healthy', async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) || undefined, 15_000)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    await page.goto(`${t.url}/#token=${t.token}`)
    // The token left the URL (it was only in the fragment).
    await page.waitForFunction(() => !location.hash.includes('token'))
    // Peers: this node, with its inference component.
    await page.locator('#peers tr.peer[data-name="test-node"]').waitFor({ timeout: 15_000 })
    assert.match(await page.locator('#peers').innerText(), /inference/)
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 10_000 })

    // A real fault: the workload crashes. The incident must appear without a reload.
    const before = await page.locator('#incidents tr.inc').count()
    await fetch(`http://127.0.0.1:${port}/fault/crash`, { method: 'POST' })
    await page.locator('#incidents tr.inc').nth(before).waitFor({ timeout: 15_000 })
    assert.match(await page.locator('#incidents').innerText(), /crash/)

    // The restart waits for approval (threshold 0): click Approve in the page.
    const row = page.locator('#approvals tr.approval').first()
    await row.waitFor({ timeout: 15_000 })
    const approvalId = await row.getAttribute('data-id')
    assert.ok(approvalId !== null)
    await row.locator('button.approve').click()
    // The decision reached the agent…
    const decided = await waitFor('approval decided in the agent', () => {
      const a = t!.agent.context.approvals.get(approvalId)
      return a !== undefined && a.state !== 'pending' ? a : undefined
    }, 10_000)
    assert.equal(decided.state, 'approved')
    assert.equal(decided.decidedBy, 'dashboard')
    // …and the agent healed the workload; the page shows it recovered, live.
    await page.locator('#incidents tr.inc td', { hasText: 'recovered' }).first().waitFor({ timeout: 20_000 })
    // Expand the incident: its steps and reasons.
    await page.locator('#incidents tr.inc').first().click()
    const steps = await page.locator('#incidents .steps').first().innerText()
    for (const k of ['opened', 'detected', 'diagnosed', 'planned', 'approval', 'acted', 'recovered']) assert.match(steps, new RegExp(k, 'i'), `step ${k} shown`)
    await page.waitForTimeout(5500) // one health sample more for the plot
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-screenshot-'))
    const shot = join(dir, 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    assert.ok(existsSync(shot))
    console.log(`      screenshot: ${shot}`)
    assert.deepEqual(errors, [], 'no errors in the page')
  })
})
