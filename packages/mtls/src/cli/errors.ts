// Errors the CLI reports as one line on stderr. A UsageError (bad command line) exits with 2,
// any other CliError (missing file, refused certificate, ...) with 1; both carry a message
// already written for the operator, so main() prints it without a stack trace.

export class CliError extends Error {
  override readonly name: string = 'CliError'
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message)
  }
}

export class UsageError extends CliError {
  override readonly name: string = 'UsageError'
  constructor(message: string) {
    super(message, 2)
  }
}

/** The `code` of a Node system error (ENOENT, EACCES, ...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code
  }
  return undefined
}

/** The message of anything thrown; not `instanceof Error`, which fails for errors from another realm (jest's vm). */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') {
    return err.message
  }
  return String(err)
}
