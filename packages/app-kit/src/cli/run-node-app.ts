// runNodeApp: the whole `main` of a Hypha service binary: `init`, `run`, `probe`, `--help`.
// Every failure is one line on stderr and a non-zero exit code (see errors.ts), never a stack.
import { parseArgs } from 'node:util'
import { type ConfigOf, type ConfigSchema, loadConfig, type NetworkConfig, type NodeRole, parseDuration } from '@hypha/network-core'
import type { RoleModule } from '../app/node-app.module.js'
import type { OpenApiSection } from '../openapi/openapi-document.js'
import { createAppLogger } from '../logging/logger.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js'
import { initCommand } from './init-command.js'
import { probe } from './probe-command.js'
import { type RunningApp, runApp } from './run-command.js'
import { appVersion } from './version.js'

/** The role's typed configuration (every role schema extends the network one). */
export type AppConfigOf<S extends ConfigSchema> = NetworkConfig & ConfigOf<S>

export interface NodeAppOptions<S extends ConfigSchema> {
  /** Binary name, e.g. 'hypha-gateway' (usage text, log `name`). */
  name: string
  role: NodeRole
  /** The role's schema: `defineConfigSchema({ worker: ... })`. */
  schema: S
  /** The role's NestJS modules (they can inject HYPHA_NODE, HYPHA_CONFIG, ShutdownService, ReadinessChecks). */
  roleModules?: readonly RoleModule[]
  /** GossipSub topics the role uses (scored: invalid messages cost the sender). */
  pubsubTopics?: readonly string[]
  /** Called once the node runs and HTTP listens. */
  onReady?: (running: RunningApp<AppConfigOf<S>>) => Promise<void> | void
  /** Reported by the health protocol (default: the version of the package holding the entry script). */
  version?: string
  /** Largest JSON request body of the role's HTTP API, from its config (default 100 KiB). */
  jsonBodyLimit?: (config: AppConfigOf<S>) => number
  /** The node's bulk transfer directory, from its config (no bulk transfer when absent). */
  bulkDirectory?: (config: AppConfigOf<S>) => string
  /** The role's own HTTP endpoints, for GET /openapi.json (the common ones are always there). */
  openApi?: OpenApiSection
  /** Budget of the role's shutdown hooks (default 10 s). */
  shutdownTimeoutMs?: number
  /** Defaults to process.env (HYPHA_CONFIG, HYPHA_LOG_LEVEL and the HYPHA_*__* overrides). */
  env?: NodeJS.ProcessEnv
}

function usage(name: string, role: string): string {
  return `usage: ${name} <command> [options]

The Hypha ${role}.

Commands:
  init [-o FILE] [-n NAME] [--force]
        Write the annotated example configuration to FILE (default: stdout). Refuses to
        overwrite FILE without --force. -n NAME points [security] at certs/NAME-cert.pem,
        certs/NAME-key.pem and certs/NAME-trust.pem (hypha-certutil's file names).
  run --config FILE
        Start the node and the HTTP server ([http] listen): /health/live, /health/ready,
        /metrics, /peers. SIGTERM/SIGINT stop it gracefully; a second signal forces the exit.
  probe ADDR --config FILE [--timeout 10s]
        Ask the node at ADDR (a multiaddr ending with /p2p/<peer id>) over libp2p whether it is
        ready, with a short-lived node using FILE's certificates. Prints the answer as JSON;
        exit 0 when ready, 1 when not ready or unreachable.

Options:
  -c, --config FILE   configuration file (default: $HYPHA_CONFIG); HYPHA_<SECTION>__<KEY>
                      environment variables override its keys
  -h, --help          show this help

Environment: HYPHA_LOG_LEVEL (default info).
Exit codes: 0 success, 1 failure, 2 usage or configuration error.
`
}

/** Runs the CLI. Returns once the command is done (for `run`: once the app serves). */
export async function runNodeApp<S extends ConfigSchema>(
  options: NodeAppOptions<S>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const code = await cli(options, argv)
  if (code !== undefined) {
    process.exitCode = code
    // libp2p or a file watcher may leave a handle behind: a finished command must still end
    setTimeout(() => process.exit(code), 3_000).unref()
  }
}

async function cli<S extends ConfigSchema>(options: NodeAppOptions<S>, argv: readonly string[]): Promise<number | undefined> {
  const env = options.env ?? process.env
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        output: { type: 'string', short: 'o' },
        name: { type: 'string', short: 'n' },
        force: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
    const [command, ...rest] = positionals
    if (values.help === true || command === 'help') {
      process.stdout.write(usage(options.name, options.role))
      return EXIT_OK
    }
    if (command === undefined) throw new UsageError(`missing command (init, run or probe); see ${options.name} --help`)
    const configFile = values.config ?? env.HYPHA_CONFIG
    switch (command) {
      case 'init': {
        noExtra(rest, command)
        const file = await initCommand({
          role: options.role,
          schema: options.schema,
          ...(values.output !== undefined ? { output: values.output } : {}),
          ...(values.name !== undefined ? { name: values.name } : {}),
          force: values.force === true,
        })
        if (file !== undefined) process.stderr.write(`${options.name}: wrote ${file}\n`)
        return EXIT_OK
      }
      case 'run': {
        noExtra(rest, command)
        if (configFile === undefined) throw new UsageError('run needs --config FILE (or HYPHA_CONFIG)')
        // defineConfigSchema always includes the network sections; generics cannot see that
        const config = loadConfig({ file: configFile, schema: options.schema, env }) as unknown as AppConfigOf<S>
        const logger = createAppLogger({ name: options.name, level: env.HYPHA_LOG_LEVEL ?? 'info' })
        await runApp({
          name: options.name,
          role: options.role,
          config,
          logger,
          version: options.version ?? appVersion(),
          ...(options.roleModules !== undefined ? { roleModules: options.roleModules } : {}),
          ...(options.pubsubTopics !== undefined ? { pubsubTopics: options.pubsubTopics } : {}),
          ...(options.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: options.shutdownTimeoutMs } : {}),
          ...(options.onReady !== undefined ? { onReady: options.onReady } : {}),
          ...(options.jsonBodyLimit !== undefined ? { jsonBodyLimitBytes: options.jsonBodyLimit(config) } : {}),
          ...(options.bulkDirectory !== undefined ? { bulkDirectory: options.bulkDirectory(config) } : {}),
          ...(options.openApi !== undefined ? { openApi: options.openApi } : {}),
        })
        return undefined
      }
      case 'probe': {
        const [address, ...extra] = rest
        if (address === undefined) throw new UsageError('probe needs ADDR, a multiaddr ending with /p2p/<peer id>')
        noExtra(extra, command)
        if (configFile === undefined) throw new UsageError('probe needs --config FILE (or HYPHA_CONFIG)')
        const timeoutMs = values.timeout === undefined ? 10_000 : parseDuration(values.timeout)
        if (timeoutMs === undefined) throw new UsageError(`--timeout "${values.timeout}": a duration such as "5s" or "500ms"`)
        const config = loadConfig({ file: configFile, schema: options.schema, env }) as unknown as NetworkConfig
        const logger = createAppLogger({ name: options.name, level: env.HYPHA_LOG_LEVEL ?? 'warn', destination: process.stderr })
        const outcome = await probe({ address, config, role: options.role, timeoutMs, logger })
        if (!outcome.answered) {
          process.stderr.write(`${options.name}: ${outcome.reason}\n`)
          return EXIT_FAILURE
        }
        process.stdout.write(`${JSON.stringify(outcome.answer)}\n`)
        if (!outcome.answer.ready) {
          process.stderr.write(
            `${options.name}: ${outcome.answer.role} ${outcome.answer.peerId} is not ready: ${outcome.answer.reason ?? 'unknown reason'}\n`,
          )
          return EXIT_FAILURE
        }
        return EXIT_OK
      }
      default:
        throw new UsageError(`unknown command "${command}" (init, run or probe); see ${options.name} --help`)
    }
  } catch (err) {
    return report(options.name, err)
  }
}

function noExtra(rest: readonly string[], command: string): void {
  if (rest.length > 0) throw new UsageError(`${command}: unexpected argument "${rest[0]}"`)
}

function report(name: string, err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err))
  if (e.name === 'ConfigError') {
    // its message lists every problem, one per line; no stack
    process.stderr.write(`${name}: ${e.message}\n`)
    return EXIT_USAGE
  }
  // parseArgs' own errors (unknown option, missing value) are usage errors too
  const code = (e as { code?: unknown }).code
  if (e.name === 'UsageError' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`${name}: ${e.message}\n`)
    return EXIT_USAGE
  }
  process.stderr.write(`${name}: ${e.name === 'Error' ? '' : `${e.name}: `}${e.message.split('\n')[0]}\n`)
  return EXIT_FAILURE
}
