// How raw signals map to failure classes. Pure, tested from a table.

/** A supervisor exit → failure class: the monitor's own (an OOM kill is `oom`, a command that could not start `spawn_error`). */
export { classifyExit } from '@homeostat/monitor'

/** A probe that went unhealthy → failure class: the monitor's own, so the agent and a bare monitor agree (a stopped process is a hang). */
export { classifyProbeFailure as classifyProbe } from '@homeostat/monitor'
