// Security decisions (a peer refused, a CRL reloaded) must reach the operator even when
// DEBUG tracing is off, so they go to a small structured sink instead of the libp2p logger.
// Apps pass their pino logger; the default writes JSON lines to stderr.

export type SecurityFields = Record<string, string | number | boolean | undefined>

export interface SecurityLog {
  info(message: string, fields?: SecurityFields): void
  warn(message: string, fields?: SecurityFields): void
}

export const stderrSecurityLog: SecurityLog = {
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
}

function write(level: string, message: string, fields?: SecurityFields): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), module: 'hypha:mtls', msg: message, ...fields })}\n`)
}
