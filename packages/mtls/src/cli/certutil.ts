// Entry point of `hypha-certutil` (bin/hypha-certutil.js calls main): dispatches to one module
// per command and turns every failure into one line on stderr and an exit code (0 success,
// 1 failure, 2 usage). It never calls process.exit, so tests run it in-process.
import { wantsHelp } from './args.js'
import { guardStdoutPipe, PROGRAM, printError } from './console.js'
import { CliError, errorMessage, UsageError } from './errors.js'
import { runCertManager } from './cert-manager.js'
import { runInspect } from './inspect.js'
import { runNode } from './node.js'
import { runOrg } from './org.js'
import { runRevoke } from './revoke.js'
import { runRoot } from './root.js'
import { type CommandName, commandUsage, fullUsage, isCommandName } from './usage.js'
import { runVerify } from './verify.js'

const COMMANDS: Record<CommandName, (argv: string[]) => Promise<number>> = {
  root: runRoot,
  org: runOrg,
  node: runNode,
  revoke: runRevoke,
  inspect: runInspect,
  verify: runVerify,
  'cert-manager': (argv) => runCertManager(argv),
}

export async function main(argv: string[]): Promise<number> {
  guardStdoutPipe()
  try {
    return await dispatch(argv)
  } catch (err) {
    if (err instanceof CliError) {
      printError(err.message)
      return err.exitCode
    }
    printError(errorMessage(err))
    return 1
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined) {
    process.stderr.write(fullUsage())
    throw new UsageError('no command given')
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0]
    if (topic === undefined) {
      process.stdout.write(fullUsage())
      return 0
    }
    if (!isCommandName(topic)) {
      throw new UsageError(`no help for unknown command '${topic}' (see '${PROGRAM} --help')`)
    }
    process.stdout.write(commandUsage(topic))
    return 0
  }
  if (!isCommandName(command)) {
    throw new UsageError(
      command.startsWith('-')
        ? `unknown option '${command}': a command comes first (see '${PROGRAM} --help')`
        : `unknown command '${command}' (see '${PROGRAM} --help')`,
    )
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandUsage(command))
    return 0
  }
  return COMMANDS[command](rest)
}
