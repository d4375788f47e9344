// A batch job for `homeostat demo`: processes chunks forever, writing a
// heartbeat file after each one (the agent's heartbeat probe watches its age).
import { writeFileSync, utimesSync } from 'node:fs'

const hb = process.env.HEARTBEAT_FILE
if (hb === undefined) { console.error('HEARTBEAT_FILE is required'); process.exit(2) }
let chunk = 0
writeFileSync(hb, '0\n')
setInterval(() => {
  // A little real work per chunk.
  let s = 0
  for (let i = 0; i < 20000; i++) s += Math.sqrt(i + chunk)
  chunk++
  writeFileSync(hb, `${chunk} ${s.toFixed(0)}\n`)
  const t = new Date()
  utimesSync(hb, t, t)
}, 250)
console.log('batch job started')
process.on('SIGTERM', () => process.exit(0))
