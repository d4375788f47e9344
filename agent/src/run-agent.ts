// `homeostat agent`: the daemon process. Loads the config, composes the
// loops, serves the API, handles SIGHUP (reload) and SIGTERM/SIGINT (graceful
// stop within 5 s, then a hard exit).
import { loadConfig } from './config/load.ts'
import { createAgent, AGENT_DEFAULTS } from './daemon.ts'
import { createLogger } from './logger.ts'
import { defaultLoops } from './loops/index.ts'
import { createNotifier } from './systemd.ts'
import { ConfigError, DataDirError } from './errors.ts'
import { EXIT } from './exit-codes.ts'

export async function runAgent (o: { configFile: string, role?: string, listen?: string }): Promise<number> {
  let loaded
  try {
    loaded = loadConfig(o.configFile)
  } catch (err) {
    if (err instanceof ConfigError) { process.stderr.write(`homeostat agent: invalid config:\n${err.message}\n`); return EXIT.config }
    throw err
  }
  const role = (o.role ?? loaded.config.node.role) as 'edge' | 'cloud'
  const logger = createLogger({ level: loaded.config.log.level, node: loaded.nodeName })
  const notifier = createNotifier(process.env, (err) => logger.warn({ err: err.message }, 'systemd-notify failed'))
  let agent
  try {
    agent = await createAgent({ config: loaded, role, logger, loops: defaultLoops(), listen: o.listen })
  } catch (err) {
    if (err instanceof DataDirError) { logger.fatal({ err: err.message }, 'cannot use the data dir'); process.stderr.write(`homeostat agent: ${err.message}\n`); return EXIT.failure }
    throw err
  }
  let exiting = false
  const shutdown = (signal: string) => {
    if (exiting) return
    exiting = true
    logger.info({ signal }, 'stopping')
    notifier.stopping()
    // Belt and braces: whatever hangs, the process is gone shortly after the budget.
    const hard = setTimeout(() => { logger.error('graceful stop overran its budget; exiting'); process.exit(EXIT.failure) }, AGENT_DEFAULTS.stopBudgetMs + 500)
    hard.unref()
    agent.stop(AGENT_DEFAULTS.stopBudgetMs).then(() => { logger.flush?.(); process.exit(EXIT.ok) }, (err) => { logger.error({ err }, 'stop failed'); process.exit(EXIT.failure) })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading config')
    void agent.reload()
  })
  process.on('unhandledRejection', (err) => { logger.error({ err }, 'unhandled rejection (kept running)') })
  try {
    const { apiUrl } = await agent.start()
    notifier.ready(`api ${apiUrl}`)
    notifier.startWatchdog(() => !exiting)
    // A line for humans and for the demo/tests to find the API.
    logger.info({ api: apiUrl, ready: true }, 'agent ready')
  } catch (err) {
    logger.fatal({ err }, 'agent failed to start')
    process.stderr.write(`homeostat agent: failed to start: ${(err as Error).message}\n`)
    return EXIT.failure
  }
  return await new Promise<number>(() => {})
}
