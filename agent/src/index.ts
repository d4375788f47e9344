// @homeostat/agent's public face, for embedding an agent in another program
// (tests, simulations). Users run the `homeostat` CLI instead.
export { createAgent, AGENT_DEFAULTS, type Agent, type AgentOptions, type AgentLoop, type LoopContext, type LoopFactory } from './daemon.ts'
export { loadConfig, parseConfigText, interpolate, type LoadedConfig } from './config/load.ts'
export { configSchema, type AgentConfig, type ComponentConfig, type ProbeConfig } from './config/schema.ts'
export { defaultLoops } from './loops/index.ts'
export { computeReport, incidentTimes, percentile, type Report } from './state/report.ts'
export type { ComponentView, PeerView, InterventionView, BudgetView, PolicyView, ReputationView, FederatedView, Providers } from './state/providers.ts'
export { ConfigError, UsageError, AgentUnreachableError, ApiError, DataDirError, ApprovalError, type ConfigProblem } from './errors.ts'
export { main as cli } from './cli.ts'
export { EXIT } from './exit-codes.ts'
