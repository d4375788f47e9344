// JSON logs (pino) to stdout (journald picks them up), or to a file descriptor
// the caller chooses. Level from config; SIGHUP may change it.
import { pino, type Logger, type DestinationStream } from 'pino'

export function createLogger (init: { level: string, node: string, destination?: DestinationStream | number }): Logger {
  const dest = typeof init.destination === 'object' ? init.destination : pino.destination({ dest: init.destination ?? 1, sync: true })
  return pino({ level: init.level, base: { node: init.node, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest)
}
