// hypha-inspect: the operator's view of a Hypha network. Dispatches to one module per command;
// every failure is one line on stderr and an exit code (0 ok, 1 not well / not found /
// unreachable, 2 usage), never a stack. It never calls process.exit, so tests run it in-process.
import { parseArgs } from 'node:util'
import type { TaskState } from '@hypha/client'
import { parseDuration } from '@hypha/network-core'
import { certInfoCommand } from './commands/cert-info.js'
import { lookupCommand } from './commands/lookup.js'
import { peersCommand } from './commands/peers.js'
import { probeCommand } from './commands/probe.js'
import { tasksCommand } from './commands/tasks.js'
import { EXIT_USAGE, InspectError, UsageError } from './errors.js'
import { baseUrl } from './http.js'
import { type Output, processOutput } from './output.js'
import { loadNodeConfig } from './session.js'

export const USAGE = `usage: hypha-inspect <command> [options]

The operator's view of a Hypha network. Tables on a terminal, JSON with --json.

Commands:
  probe ADDR --config FILE [--timeout 10s]
        Ask the node at ADDR (a multiaddr ending /p2p/<peer id>) over libp2p whether it is
        ready, as a node with FILE's certificates. Exit 0 ready, 1 not ready or no answer.
  lookup PEERID --config FILE [--timeout 15s]
        Find a peer through FILE's bootstrap peers and the DHT: its addresses, whether it is
        directly dialable, the relays it is reachable through. Exit 1 when not found.
  cert-info FILE [--trust FILE] [--crl FILE ...]
        A certificate's subject, issuer, validity, PeerId, roles and names; revoked or not by
        the CRLs; with --trust whether a node would accept it. Exit 1 expired/revoked/refused.
  peers URL
        A node's peers (its HTTP address, e.g. http://127.0.0.1:7080): role, transport, direct
        or through which relay, latency, since; its reservations; the peers it refused.
  tasks URL [--watch] [--state S,...] [--limit N]
        A scheduler's tasks with their workers and progress. --watch refreshes every second
        until every listed task has finished (or Ctrl-C).

Options:
  --json              JSON instead of a table (--watch: one JSON array per change)
  -c, --config FILE   node configuration (default $HYPHA_CONFIG); HYPHA_* variables apply
  -h, --help          this help

Colour only on a terminal, and never with NO_COLOR set.
Exit codes: 0 success, 1 failure, 2 usage error.
`

const TASK_STATES: readonly TaskState[] = ['pending', 'assigned', 'running', 'succeeded', 'failed']

export async function main(
  argv: readonly string[],
  output: Output = processOutput(),
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<number> {
  try {
    return await dispatch(argv, output, env, signal)
  } catch (err) {
    if (err instanceof InspectError) {
      output.error(`hypha-inspect: ${err.message}\n`)
      return err.exitCode
    }
    output.error(`hypha-inspect: ${(err as Error).message}\n`)
    return 1
  }
}

async function dispatch(argv: readonly string[], output: Output, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (see hypha-inspect --help)`)
  }
  const { values, positionals } = parsed
  const [command, ...args] = positionals
  if (values.help === true || command === 'help') {
    output.write(USAGE)
    return 0
  }
  if (command === undefined) {
    output.error(USAGE)
    return EXIT_USAGE
  }
  const one = (what: string): string => {
    if (args.length !== 1 || args[0] === undefined) throw new UsageError(`${command} takes one ${what} (see hypha-inspect --help)`)
    return args[0]
  }
  const asJson = values.json === true
  const timeout = (fallback: string): number => {
    const ms = parseDuration(values.timeout ?? fallback)
    if (ms === undefined || ms <= 0) throw new UsageError(`--timeout '${values.timeout}' is not a duration (e.g. 10s, 500ms)`)
    return ms
  }
  switch (command) {
    case 'probe':
      return probeCommand(
        one('ADDR'),
        { config: loadNodeConfig(values.config ?? env.HYPHA_CONFIG, env), timeoutMs: timeout('10s'), json: asJson },
        output,
      )
    case 'lookup':
      return lookupCommand(
        one('PEERID'),
        { config: loadNodeConfig(values.config ?? env.HYPHA_CONFIG, env), timeoutMs: timeout('15s'), json: asJson },
        output,
      )
    case 'cert-info':
      return certInfoCommand(
        one('FILE'),
        { ...(values.trust !== undefined ? { trust: values.trust } : {}), crls: values.crl ?? [], json: asJson },
        output,
      )
    case 'peers':
      return peersCommand(baseUrl(one('URL')), { json: asJson }, output)
    case 'tasks': {
      const states = (values.state ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '')
      for (const state of states) {
        if (!TASK_STATES.includes(state as TaskState))
          throw new UsageError(`--state '${state}' is not a task state: ${TASK_STATES.join(', ')}`)
      }
      const limit = values.limit === undefined ? 50 : Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError(`--limit must be a whole number from 1 to 1000, got '${values.limit}'`)
      return tasksCommand(
        baseUrl(one('URL')),
        {
          json: asJson,
          watch: values.watch === true,
          limit,
          ...(states.length > 0 ? { states: states as TaskState[] } : {}),
          ...(signal !== undefined ? { signal } : {}),
        },
        output,
      )
    }
    default:
      throw new UsageError(`unknown command '${command}' (see hypha-inspect --help)`)
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      timeout: { type: 'string' },
      trust: { type: 'string' },
      crl: { type: 'string', multiple: true },
      watch: { type: 'boolean', short: 'w' },
      state: { type: 'string', multiple: true },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
