// The restart hook of the shared feature store (a component's `command` when it
// is `shared: true`): asks the store at STORE_URL to restart, naming this node
// (NODE_NAME), and exits 0 once it accepted, 1 otherwise.
const res = await fetch(`${process.env.STORE_URL}/restart`, { method: 'POST', headers: { 'x-node': process.env.NODE_NAME ?? '?' }, signal: AbortSignal.timeout(10_000) })
if (!res.ok) { console.error(`restart refused: HTTP ${res.status}`); process.exit(1) }
