// Exit codes (kubectl-like): 0 success, 1 the thing asked about is not well (not ready, not found,
// revoked, unreachable), 2 the command line is wrong.
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export class InspectError extends Error {
  override readonly name: string = 'InspectError'
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message)
  }
}

export class UsageError extends InspectError {
  override readonly name = 'UsageError'
  constructor(message: string) {
    super(message, EXIT_USAGE)
  }
}
