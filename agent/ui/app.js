// The homeostat dashboard: plain ES modules (preact + htm + uPlot served by
// the agent from its own node_modules; no CDN, no build step). Reads the
// local API, updates live from the SSE stream at /api/events.
import { h, render } from '/vendor/preact.js'
import { useEffect, useRef, useState, useCallback } from '/vendor/preact-hooks.js'
import htm from '/vendor/htm.js'
import uPlot from '/vendor/uPlot.js'

const html = htm.bind(h)

// The API token (for approve/deny) arrives once in the URL fragment
// (#token=…, never sent to the server) and is kept for this tab only.
function takeToken () {
  const m = /(?:^|[#&])token=([0-9a-f]{64})/.exec(location.hash)
  if (m) {
    sessionStorage.setItem('homeostat.token', m[1])
    history.replaceState(null, '', location.pathname + location.search)
  }
  return sessionStorage.getItem('homeostat.token') || ''
}

async function api (path, opts = {}) {
  const r = await fetch(path, opts)
  const body = await r.json().catch(() => ({}))
  if (!r.ok) throw new Error(body?.error?.message || `HTTP ${r.status}`)
  return body
}

const fmtMs = (x) => x == null || !isFinite(x) ? '–' : x < 1000 ? `${Math.round(x)} ms` : x < 120000 ? `${(x / 1000).toFixed(x < 10000 ? 2 : 1)} s` : `${(x / 60000).toFixed(1)} min`
const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false }) + '.' + String(Math.floor(t) % 1000).padStart(3, '0')
const ago = (t) => t == null ? '–' : fmtMs(Date.now() - t) + ' ago'
const healthClass = (h) => h == null ? 'dim' : h >= 0.99 ? 'ok' : h >= 0.5 ? 'warn' : 'bad'
const stateClass = (s) => s === 'alive' || s === 'self' || s === 'ok' || s === 'running' || s === 'recovered' || s === 'approved' ? 'ok' : s === 'suspect' || s === 'degraded' || s === 'open' || s === 'recovering' || s === 'pending' || s === 'starting' ? 'warn' : s === 'unknown' ? 'dim' : 'bad'
const stepClass = (k) => k === 'recovered' || k === 'verified' ? 'ok' : k === 'escalated' || k === 'quarantined' || k === 'rolled_back' ? 'bad' : k === 'approval' ? 'warn' : ''

function times (inc) {
  const det = inc.steps.find((s) => s.kind === 'detected')
  const rec = [...inc.steps].reverse().find((s) => s.kind === 'recovered' || s.kind === 'verified')
  const acted = [...inc.steps].reverse().find((s) => s.kind === 'acted')
  return {
    detectMs: det ? det.atMs - inc.openedAtMs : undefined,
    mttrMs: inc.status === 'recovered' && rec ? rec.atMs - inc.openedAtMs : undefined,
    action: acted?.data?.action ?? acted?.summary?.split(' ')[0]
  }
}

function Bar ({ value }) {
  const v = value == null ? 0 : Math.max(0, Math.min(1, value))
  const c = value == null ? 'bg-dim' : v >= 0.99 ? 'bg-ok' : v >= 0.5 ? 'bg-warn' : 'bg-bad'
  return html`<span class="bar"><span class=${c} style=${`width:${Math.round(v * 100)}%`}></span></span> <span class=${healthClass(value)}>${value == null ? '–' : Math.round(v * 100) + '%'}</span>`
}

function Peers ({ peers, token, release }) {
  return html`<section class="wide" id="peers">
    <h2>Peers <span class="count">${peers.length}</span></h2>
    <table><thead><tr><th>node</th><th>role</th><th>state</th><th>health</th><th>reputation</th><th>open incidents</th><th>components</th><th>last seen</th></tr></thead>
    <tbody>${peers.map((p) => html`<tr class="peer" data-name=${p.name || p.peer}>
      <td><b>${p.name || p.peer.slice(0, 12) + '…'}</b>${p.name ? html`<div class="dim" style="font-size:11px" title=${p.peer}>${p.peer.length > 20 ? p.peer.slice(0, 8) + '…' + p.peer.slice(-6) : ''}</div>` : ''}</td>
      <td>${p.role || '–'}</td>
      <td><span class=${'dot bg-' + stateClass(p.state)}></span>${p.state}${p.rttMs != null ? html` <span class="dim">${Math.round(p.rttMs)} ms</span>` : ''}</td>
      <td><${Bar} value=${p.health} /></td>
      <td>${p.reputation == null ? html`<span class="na">–</span>` : p.reputation.toFixed(2)}</td>
      <td>${p.incidentsOpen ?? '–'}</td>
      <td>${(p.components || []).map((c) => c.state === 'standby'
        ? html`<span class="chip dim" title=${c.detail || 'standby'}>${c.name} (standby)</span>`
        : html`<span class=${'chip ' + stateClass(c.health)} title=${c.detail || c.state}>${c.name}${c.restarts ? ' ↻' + c.restarts : ''}${c.state === 'quarantined' ? ' (quarantined)' : ''}</span>${c.state === 'quarantined' && p.state === 'self' && token ? html` <button class="release" data-component=${c.name} title="the cause is fixed: lift the quarantine" onClick=${() => release(c.name)}>Release</button>` : ''}`)}</td>
      <td class="dim">${p.state === 'self' ? 'now' : ago(p.lastSeenMs)}</td>
    </tr>`)}</tbody></table>
  </section>`
}

function Incident ({ inc, open, toggle }) {
  const t = times(inc)
  return html`<tr class="inc" data-id=${inc.id} onClick=${toggle}>
      <td class="dim">${clock(inc.openedAtMs)}</td>
      <td>${inc.node}/<b>${inc.component}</b></td>
      <td>${inc.failureClass}</td>
      <td class=${stateClass(inc.status)}>${inc.status}</td>
      <td>${fmtMs(t.detectMs)}</td><td>${fmtMs(t.mttrMs)}</td><td>${t.action || '–'}</td>
    </tr>
    ${open && html`<tr><td colspan="7"><div class="steps">${inc.steps.map((s) => html`<div class="step">
      <span class="t">${clock(s.atMs)} +${fmtMs(s.atMs - inc.openedAtMs)}</span><span class=${'k ' + stepClass(s.kind)}>${s.kind}</span> ${s.summary}
      ${reasons(s)}
    </div>`)}</div></td></tr>`}`
}

function reasons (s) {
  const lines = []
  const d = s.data || {}
  if (Array.isArray(d.alternatives) && d.alternatives.length) {
    for (const a of d.alternatives.slice(0, 6)) lines.push(`${a.admissible === false ? '✗' : '·'} ${a.action}: reward ${a.expectedReward?.toFixed?.(2) ?? '–'}, cost ${a.expectedCost?.toFixed?.(2) ?? '–'} — ${a.why ?? ''}`)
  }
  if (Array.isArray(d.candidates) && d.candidates.length) {
    for (const c of d.candidates.slice(0, 4)) lines.push(`candidate ${c.component}: score ${Number(c.score).toFixed(2)}, confidence ${Number(c.confidence).toFixed(2)}`)
  }
  if (d.budgetLeft != null) lines.push(`budget left ${Number(d.budgetLeft).toFixed(3)}`)
  if (Array.isArray(s.evidence)) for (const e of s.evidence.slice(0, 6)) lines.push(e)
  return lines.length ? html`<div class="why">${lines.join('\n')}</div>` : ''
}

function Incidents ({ incidents }) {
  const [open, setOpen] = useState({})
  return html`<section class="wide" id="incidents">
    <h2>Incident timeline <span class="count">${incidents.length}</span> <span class="dim" style="text-transform:none">click an incident for its steps and the reason for each decision</span></h2>
    ${incidents.length === 0 ? html`<div class="empty">no incidents yet</div>` : html`<table>
      <thead><tr><th>opened</th><th>node/component</th><th>class</th><th>status</th><th>detection</th><th>MTTR</th><th>action</th></tr></thead>
      <tbody>${incidents.slice(0, 100).map((inc) => html`<${Incident} key=${inc.node + inc.id} inc=${inc} open=${open[inc.node + inc.id]} toggle=${() => setOpen({ ...open, [inc.node + inc.id]: !open[inc.node + inc.id] })} />`)}</tbody></table>`}
  </section>`
}

function Approvals ({ approvals, token, decide }) {
  const pending = approvals.filter((a) => a.state === 'pending')
  const recent = approvals.filter((a) => a.state !== 'pending').slice(0, 5)
  return html`<section id="approvals">
    <h2>Approvals <span class="count">${pending.length}</span> pending</h2>
    ${pending.length === 0 ? html`<div class="empty">nothing waits for an operator</div>` : html`<table><tbody>${pending.map((a) => html`<tr class="approval" data-id=${a.id}>
      <td><b>${a.action}</b> ${a.component}<div class="dim" style="font-size:12px">${a.reason}</div><div class="dim" style="font-size:11px">${a.id} · incident ${a.incidentId} · expires ${ago(a.expiresAtMs).replace(' ago', '')}</div></td>
      <td style="white-space:nowrap">${token ? html`<button class="approve" onClick=${() => decide(a.id, 'approve')}>Approve</button> <button class="deny" onClick=${() => decide(a.id, 'deny')}>Deny</button>` : html`<span class="dim">sign in to decide</span>`}</td>
    </tr>`)}</tbody></table>`}
    ${recent.length > 0 && html`<div class="dim" style="margin-top:8px;font-size:12px">${recent.map((a) => html`<div>${a.id}: ${a.action} ${a.component} — <span class=${stateClass(a.state)}>${a.state}</span>${a.decidedBy ? ' by ' + a.decidedBy : ''}</div>`)}</div>`}
  </section>`
}

function Interventions ({ items }) {
  return html`<section id="interventions">
    <h2>Interventions in flight <span class="count">${items.length}</span></h2>
    ${items.length === 0 ? html`<div class="empty">no claims in the registry</div>` : html`<table><thead><tr><th>target</th><th>action</th><th>owner</th><th>state</th><th>until</th></tr></thead><tbody>
      ${items.map((i) => html`<tr><td>${i.target}</td><td>${i.action}</td><td>${i.owner}</td><td class=${i.state === 'cooldown' ? 'dim' : 'warn'}>${i.state}</td><td class="dim">${i.expiresMs ? clock(i.expiresMs) : '–'}</td></tr>`)}
    </tbody></table>`}
  </section>`
}

function Budget ({ budget, policy, fleet }) {
  const fp = policy?.detail?.fleetPriors
  return html`<section id="budget">
    <h2>Safety budget</h2>
    <div class="kpis">
      <div class="kpi"><b>${policy?.budgetMode ?? '–'}</b><small>mode</small></div>
      <div class="kpi"><b>β ${policy?.budgetFraction ?? '–'}</b><small>of capacity</small></div>
      <div class="kpi"><b>${policy?.kind ?? '–'}</b><small>policy</small></div>
      <div class="kpi"><b>${policy?.approvalRiskThreshold ?? '–'}</b><small>approval above risk</small></div>
    </div>
    ${fleet ? html`<div class="dim" style="margin-bottom:6px">fleet priors v${fleet.version} from ${fleet.from} (${fleet.entries} entries, ${ago(fleet.atMs)})</div>` : ''}
    ${fp ? html`<div class="dim" style="margin-bottom:6px">publishing fleet priors v${fp.version}: ${fp.entries} entries from ${fp.outcomes} outcomes</div>` : ''}
    ${!budget?.available ? html`<div class="na">ledger not available: ${policy?.kind === 'playbook' ? 'the fixed playbook runs without a budget (the constrained planner keeps the ledger)' : 'no budgeted policy running'}</div>` : html`
      <div>spent <b>${budget.spentUnits?.toFixed(3)}</b> of <b>${budget.betaUnits?.toFixed(3)}</b> in the last ${fmtMs(budget.windowMs)}</div>
      <div class="bar" style="width:100%;margin:6px 0"><span class=${budget.spentUnits > budget.betaUnits * 0.8 ? 'bg-warn' : 'bg-ok'} style=${`width:${Math.min(100, 100 * budget.spentUnits / Math.max(budget.betaUnits, 1e-9))}%`}></span></div>
      <table><thead><tr><th>time</th><th>action</th><th>cost</th><th>admitted</th><th>reason</th></tr></thead><tbody>
      ${(budget.entries || []).slice(-12).reverse().map((e) => html`<tr><td class="dim">${clock(e.atMs)}</td><td>${e.action}</td><td>${e.costUnits.toFixed(3)}</td><td class=${e.admitted ? 'ok' : 'bad'}>${e.admitted ? 'yes' : 'no'}</td><td class="dim">${e.reason || ''}</td></tr>`)}
      </tbody></table>`}
    ${policy?.actions?.length > 0 && html`<h2 style="margin-top:12px">Learned outcomes</h2><table><thead><tr><th>class</th><th>action</th><th>success</th><th>trials</th></tr></thead><tbody>
      ${policy.actions.map((a) => html`<tr><td>${a.failureClass}</td><td>${a.action}</td><td>${a.successRate == null ? '–' : Math.round(a.successRate * 100) + '%'}</td><td>${a.trials ?? '–'}</td></tr>`)}</tbody></table>`}
  </section>`
}

function Reputation ({ rep }) {
  return html`<section id="reputation">
    <h2>Reputation</h2>
    ${!rep?.available ? html`<div class="na">not available (no mesh on this node)</div>` : rep.peers.length === 0 ? html`<div class="empty">no observations yet</div>` : html`<table><thead><tr><th>peer</th><th>score</th><th>evidence</th><th></th></tr></thead><tbody>
      ${rep.peers.map((p) => html`<tr><td>${p.name || p.peer.slice(0, 10) + '…'}</td><td><${Bar} value=${p.score} /></td><td class="dim">${p.evidence?.toFixed?.(1) ?? '–'}</td><td class="bad">${p.quarantined ? 'quarantined' : ''}</td></tr>`)}
    </tbody></table>`}
  </section>`
}

function Federated ({ fed }) {
  return html`<section id="federated">
    <h2>Federated accuracy</h2>
    ${!fed?.available ? html`<div class="na">not available: no federated training runs on this fleet's agents yet</div>` : html`<div class="dim">model ${fed.modelVersion ?? '–'}</div><table><thead><tr><th>node</th><th>accuracy</th><th>round</th><th>contributions</th></tr></thead><tbody>
      ${fed.nodes.map((n) => html`<tr><td>${n.node}</td><td><${Bar} value=${n.accuracy} /></td><td>${n.round ?? '–'}</td><td>${n.contributions ?? '–'}</td></tr>`)}</tbody></table>`}
  </section>`
}

function HealthPlot ({ series }) {
  const ref = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    const nodes = [...new Set(series.map((s) => s.node))].sort()
    const ts = [...new Set(series.map((s) => Math.round(s.atMs / 1000)))].sort((a, b) => a - b)
    if (ref.current == null) return
    const idx = new Map(ts.map((t, i) => [t, i]))
    const data = [ts, ...nodes.map((n) => { const a = new Array(ts.length).fill(null); for (const s of series) if (s.node === n) a[idx.get(Math.round(s.atMs / 1000))] = s.health * 100; return a })]
    const palette = ['#58a6ff', '#3fb950', '#d29922', '#f778ba', '#a371f7', '#79c0ff', '#ffa657', '#7ee787']
    const key = nodes.join(',')
    const width = Math.max(300, ref.current.clientWidth - 4)
    if (plot.current == null || plot.current._key !== key) {
      plot.current?.destroy()
      plot.current = new uPlot({
        width, height: 180,
        scales: { y: { range: [0, 105] } },
        axes: [{ stroke: '#8a96a3', grid: { stroke: '#222b35' } }, { stroke: '#8a96a3', grid: { stroke: '#222b35' }, values: (u, v) => v.map((x) => x + '%') }],
        series: [{}, ...nodes.map((n, i) => ({ label: n, stroke: palette[i % palette.length], width: 2, spanGaps: true }))]
      }, data, ref.current)
      plot.current._key = key
    } else {
      plot.current.setData(data)
    }
  }, [series])
  return html`<section id="health"><h2>Health over time</h2>${series.length === 0 ? html`<div class="empty">no samples yet</div>` : ''}<div ref=${ref}></div></section>`
}

function MttrHistogram ({ incidents, report }) {
  const mttrs = incidents.map((i) => times(i).mttrMs).filter((x) => x != null)
  const edges = [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, Infinity]
  const counts = edges.map(() => 0)
  for (const m of mttrs) counts[edges.findIndex((e) => m <= e)]++
  const max = Math.max(1, ...counts)
  const label = (i) => i === 0 ? `≤${fmtMs(edges[0])}` : edges[i] === Infinity ? `>${fmtMs(edges[i - 1])}` : `≤${fmtMs(edges[i])}`
  return html`<section id="mttr">
    <h2>MTTR distribution <span class="count">${mttrs.length}</span> recovered</h2>
    <div class="kpis">
      <div class="kpi"><b>${fmtMs(report?.mttrP50Ms)}</b><small>MTTR p50 (${report?.scope ?? 'this node'})</small></div>
      <div class="kpi"><b>${fmtMs(report?.detectP50Ms)}</b><small>detection p50</small></div>
      <div class="kpi"><b>${report?.healRate == null ? '–' : Math.round(report.healRate * 100) + '%'}</b><small>healed without a human</small></div>
      <div class="kpi"><b>${report?.overhead ? report.overhead.agentCpuPct.toFixed(1) + '%' : '–'}</b><small>agent CPU · ${report?.overhead?.agentRssMb ?? '–'} MB</small></div>
    </div>
    <div class="hist">${counts.map((c, i) => html`<div class="col"><em>${c || ''}</em><span class="b" style=${`height:${(c / max) * 85}%`}></span><small>${label(i)}</small></div>`)}</div>
  </section>`
}

function App () {
  const [token, setToken] = useState(takeToken())
  const [status, setStatus] = useState(null)
  const [peers, setPeers] = useState([])
  const [incidents, setIncidents] = useState([])
  const [approvals, setApprovals] = useState([])
  const [interventions, setInterventions] = useState([])
  const [budget, setBudget] = useState(null)
  const [policy, setPolicy] = useState(null)
  const [rep, setRep] = useState(null)
  const [fed, setFed] = useState(null)
  const [series, setSeries] = useState([])
  const [report, setReport] = useState(null)
  const [live, setLive] = useState(false)
  const [msg, setMsg] = useState('')

  const refresh = useCallback(async () => {
    try {
      const [s, p, i, a, iv, b, po, r, f, hs, rp] = await Promise.all([
        api('/api/status'), api('/api/peers'), api('/api/incidents?limit=300'), api('/api/approvals'), api('/api/interventions'),
        api('/api/budget'), api('/api/policy'), api('/api/reputation'), api('/api/federated'), api('/api/health'), api('/api/report')
      ])
      setStatus(s); setPeers(p.peers); setIncidents(i.incidents); setApprovals(a.approvals); setInterventions(iv.interventions)
      setBudget(b); setPolicy(po); setRep(r); setFed(f); setSeries(hs.series); setReport(rp)
    } catch (err) { setMsg(`cannot read the agent: ${err.message}`) }
  }, [])

  useEffect(() => {
    refresh()
    const every = setInterval(refresh, 5000)
    let pending = null
    const soon = () => { if (pending == null) pending = setTimeout(() => { pending = null; refresh() }, 400) }
    const es = new EventSource('/api/events')
    es.onopen = () => setLive(true)
    es.onerror = () => setLive(false)
    es.addEventListener('incident', (ev) => {
      const inc = JSON.parse(ev.data).data.incident
      // Newest detection first, as the API lists them (the believed onset can be minutes earlier).
      const detectedAt = (i) => (i.steps.find((s) => s.kind === 'detected') || i).atMs ?? i.openedAtMs
      setIncidents((list) => [inc, ...list.filter((x) => !(x.id === inc.id && x.node === inc.node))].sort((a, b) => detectedAt(b) - detectedAt(a)))
      soon()
    })
    es.addEventListener('approval', (ev) => {
      const a = JSON.parse(ev.data).data
      setApprovals((list) => [a, ...list.filter((x) => x.id !== a.id)].sort((x, y) => y.requestedAtMs - x.requestedAtMs))
    })
    for (const t of ['peer', 'intervention', 'health', 'budget', 'reputation', 'config', 'policy', 'outcome', 'component']) es.addEventListener(t, soon)
    return () => { clearInterval(every); es.close() }
  }, [])

  const decide = async (id, what) => {
    try {
      const a = await api(`/api/approvals/${encodeURIComponent(id)}/${what}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ by: 'dashboard' }) })
      setApprovals((list) => list.map((x) => x.id === a.id ? a : x))
      setMsg(`${a.id} ${a.state}`)
    } catch (err) { setMsg(`${what} failed: ${err.message}`) }
  }

  const release = async (name) => {
    try {
      const r = await api(`/api/components/${encodeURIComponent(name)}/release`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ by: 'dashboard' }) })
      setMsg(r.placedByFleet ? `${name} released: this node hosts it again when the fleet places it here` : `${name} released: ${r.started ? 'started again' : r.state}`)
      refresh()
    } catch (err) { setMsg(`release failed: ${err.message}`) }
  }

  const signIn = (e) => {
    e.preventDefault()
    const v = e.target.elements.token.value.trim()
    if (!/^[0-9a-f]{64}$/.test(v)) { setMsg('a token is 64 hex characters (cat <dataDir>/api.token)'); return }
    sessionStorage.setItem('homeostat.token', v); setToken(v); setMsg('signed in')
  }

  return html`
    <header>
      <h1>homeostat</h1>
      <span class="meta">${status ? html`<b>${status.node}</b> · ${status.role} · v${status.version} · up ${fmtMs(status.uptimeS * 1000)} · loops ${status.loops.map((l) => l.name).join(', ') || 'none'}` : '…'}</span>
      <span class="spacer"></span>
      <span class="meta" id="live"><span class=${'dot ' + (live ? 'bg-ok' : 'bg-bad')}></span>${live ? 'live' : 'reconnecting'}</span>
      ${token ? html`<span class="meta">signed in</span>` : html`<form onSubmit=${signIn}><input name="token" placeholder="API token (to approve, deny or release)" autocomplete="off" /> <button>Sign in</button></form>`}
    </header>
    ${msg && html`<div style="padding:6px 18px" class="dim" id="msg">${msg}</div>`}
    <main>
      <${Peers} peers=${peers} token=${token} release=${release} />
      <${HealthPlot} series=${series} />
      <${MttrHistogram} incidents=${incidents} report=${report} />
      <${Incidents} incidents=${incidents} />
      <${Approvals} approvals=${approvals} token=${token} decide=${decide} />
      <${Interventions} items=${interventions} />
      <${Budget} budget=${budget} policy=${policy} fleet=${status?.fleetPolicy} />
      <${Reputation} rep=${rep} />
      <${Federated} fed=${fed} />
    </main>`
}

const root = document.getElementById('app')
root.textContent = ''
render(html`<${App} />`, root)
