// Errors the CLI turns into one line and an exit code (stable names, no stack traces).
export class UsageError extends Error {
  static override name = 'UsageError'
  override name = 'UsageError'
}

/** Exit codes: 0 success, 1 runtime failure (incl. probe: not ready / no answer), 2 usage or configuration error. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
