// A fleet-wide job scheduler for `homeostat demo`: one copy must run in the
// whole fleet (it is `relocatable`). It hands out a round of work every second;
// when its node dies, another edge's agent takes it over.
let round = 0
console.log(`scheduler started (pid ${process.pid})`)
setInterval(() => { round++; if (round % 10 === 0) console.log(`scheduler: ${round} rounds handed out`) }, 1000)
process.on('SIGTERM', () => process.exit(0))
