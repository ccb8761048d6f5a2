// Where the CLI's output goes: results on stdout, warnings and errors on stderr, always
// through process.stdout/stderr.write (tests capture exactly these).

export const PROGRAM = 'hypha-certutil'

let pipeGuarded = false

/**
 * `hypha-certutil inspect f | head` closes stdout early: without a listener Node turns the
 * EPIPE into an uncaught exception with a stack trace. Ignore it (the reader has what it wanted).
 */
export function guardStdoutPipe(): void {
  if (pipeGuarded) {
    return
  }
  pipeGuarded = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') {
      printError(`cannot write to stdout: ${err.message}`)
      process.exitCode = 1
    }
  })
}

export function print(text = ''): void {
  process.stdout.write(`${text}\n`)
}

export function warn(message: string): void {
  process.stderr.write(`${PROGRAM}: warning: ${oneLine(message)}\n`)
}

export function printError(message: string): void {
  process.stderr.write(`${PROGRAM}: error: ${oneLine(message)}\n`)
}

/** Errors are one line by contract: fold any line breaks a library put in its message. */
export function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ')
}
