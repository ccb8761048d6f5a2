// One pino logger per process: JSON lines for the app, nestjs-pino's HTTP logs, and the mTLS
// layer's security decisions (peer refused, CRL reloaded), so they all land in one stream.
import type { SecurityFields, SecurityLog } from '@hypha/mtls'
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'

export type AppLogger = Logger

export interface AppLoggerOptions {
  /** The app's name (`hypha-gateway`), the `name` field of every line. */
  name: string
  /** pino level (default 'info'). */
  level?: string
  /** Where lines go (default stdout; the probe command logs to stderr so stdout stays JSON). */
  destination?: DestinationStream
}

export function createAppLogger(options: AppLoggerOptions): AppLogger {
  const init: LoggerOptions = { name: options.name, level: options.level ?? 'info' }
  return options.destination === undefined ? pino(init) : pino(init, options.destination)
}

/** The mtls SecurityLog adapter: security events become `module: "hypha:mtls"` log lines. */
export function securityLogOf(logger: AppLogger): SecurityLog {
  const child = logger.child({ module: 'hypha:mtls' })
  return {
    info: (message: string, fields?: SecurityFields) => child.info(fields ?? {}, message),
    warn: (message: string, fields?: SecurityFields) => child.warn(fields ?? {}, message),
  }
}
