// The dashboard in a real browser (Debian's chromium via playwright-core):
// the page loads and shows peers; a real fault (the inference workload
// crashes) appears live as an incident; the recovery waits for approval
// (threshold 0) and the Approve button clicked in the page reaches the agent,
// which then heals the workload. A screenshot is written under a temp dir.
// A quarantined component's Release button, clicked once its cause is fixed,
// starts it again.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { freePort, getJson, startTestAgent, testConfigYaml, waitFor, type TestAgent } from '../agent/test/helpers.ts'

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

  it('a quarantined component shows a Release button; clicked once the cause is fixed, the component runs again', async () => {
    // A worker that crash-loops while the file `broken` exists; the playbook quarantines the loop.
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-release-ui-'))
    const broken = join(dir, 'broken')
    writeFileSync(broken, '')
    const script = `const fs = require('node:fs'); if (fs.existsSync(${JSON.stringify(broken)})) process.exit(3); setInterval(() => {}, 1000)`
    const w = await startTestAgent(testConfigYaml({
      extra: `components:\n  - name: worker\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", ${JSON.stringify(script)}]\n`
    }).replace('components: []\n', '').replace('policy:\n', 'policy:\n  engine: playbook\n'))
    try {
      browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] })
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(`${w.url}/#token=${w.token}`)
      const button = page.locator('#peers tr.peer[data-name="test-node"] button.release[data-component="worker"]')
      await button.waitFor({ timeout: 60_000 })
      assert.match(await page.locator('#peers').innerText(), /worker[^\n]*\(quarantined\)/)
      rmSync(broken) // the operator fixes the node, then clicks
      await button.click()
      await page.locator('#msg', { hasText: 'worker released: started again' }).waitFor({ timeout: 10_000 })
      const state = async (): Promise<string | undefined> => ((await getJson(w.url + '/api/components')).body.components as Array<{ name: string, state: string }>).find((c) => c.name === 'worker')?.state
      await waitFor('worker running in the agent', async () => await state() === 'running', 10_000, 100)
      await button.waitFor({ state: 'detached', timeout: 10_000 })
      await new Promise((resolve) => setTimeout(resolve, 1000))
      assert.equal(await state(), 'running')
      assert.deepEqual(errors, [], 'no errors in the page')
      await page.close()
    } finally { await w.stop(); rmSync(dir, { recursive: true, force: true }) }
  })
})
