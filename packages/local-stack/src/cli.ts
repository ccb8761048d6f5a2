// hypha-stack: `up` runs the local stack in the foreground until Ctrl-C; `demo` submits a batch
// of tasks to a running stack and follows them to the end.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runDemo } from './demo.js'
import { LocalStack } from './local-stack.js'
import type { LogLine } from './node-process.js'

const USAGE = `usage: hypha-stack <command> [options]

Commands:
  up     Start a gateway, a scheduler and workers on this machine (loopback only). The dev PKI
         and one config per node are made under --dir on first run and kept; logs go to
         <dir>/logs/. Ctrl-C stops everything (workers first, so they hand their tasks back).
           --dir DIR          default ./.hypha
           --workers N        default 2
           --p2p-port PORT    first libp2p port (TCP and QUIC), default 7001
           --http-port PORT   first HTTP port, default 7080 (gateway, scheduler, worker-1, ...)
  demo   Submit a batch of echo, sha256 and sleep tasks to a scheduler, show progress, check
         every result. Exit 0 when all results are right.
           --scheduler URL    default http://127.0.0.1:7081
           --tasks N          default 30
`

const LEVELS: Record<number, string> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

function printLog(line: LogLine): void {
  const { fields } = line
  // terminus logs every not-ready answer as an error; while starting that is the expected state
  if (line.msg.startsWith('Health Check has failed')) return
  if (line.level >= 40) {
    const detail = ['reason', 'error', 'err', 'peerId', 'task']
      .filter((k) => fields[k] !== undefined)
      .map((k) => `${k}=${typeof fields[k] === 'object' ? JSON.stringify(fields[k]) : String(fields[k])}`)
      .join(' ')
    process.stdout.write(`[${line.node}] ${LEVELS[line.level] ?? 'WARN'} ${line.msg}${detail ? ` (${detail})` : ''}\n`)
  } else if (line.msg === 'task succeeded') {
    process.stdout.write(`[${line.node}] task ${String(fields.task)} succeeded on ${String(fields.worker)}\n`)
  }
}

function positiveInt(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > 65_535) throw new Error(`${what} "${text}": expected a whole number from 1 to 65535`)
  return n
}

async function up(values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = resolve(typeof values.dir === 'string' ? values.dir : '.hypha')
  const workers = positiveInt(values.workers as string | undefined, 2, '--workers')
  const ports = {
    p2p: positiveInt(values['p2p-port'] as string | undefined, 7001, '--p2p-port'),
    http: positiveInt(values['http-port'] as string | undefined, 7080, '--http-port'),
  }
  process.stdout.write(`Starting the Hypha local stack in ${dir} (gateway, scheduler, ${workers} workers)...\n`)
  const stack = await LocalStack.start({ dir, workers, ports, onLog: printLog })
  const scheduler = stack.scheduler.url
  const order = ['gateway', 'scheduler', 'worker']
  const byRoleThenName = (a: { role: string; name: string }, b: { role: string; name: string }): number =>
    order.indexOf(a.role) - order.indexOf(b.role) || a.name.localeCompare(b.name, 'en', { numeric: true })
  const rows = [...stack.nodes].sort(byRoleThenName).map((n) => `  ${n.name.padEnd(10)} ${n.url.padEnd(24)} ${n.info.peerId}`)
  process.stdout.write(`
All nodes are ready (dev PKI: ${dir}/pki, configs: ${dir}/*.toml, logs: ${dir}/logs/):
${rows.join('\n')}
  bootstrap  ${stack.gateway.info.addresses.filter((a) => a.includes('127.0.0.1')).join('  ')}

The live topology and tasks, in a browser: ${scheduler}/   (every node serves its own view at /)

Submit a task and fetch its result:
  curl -s -X POST ${scheduler}/tasks -H 'content-type: application/json' -d '{"executor":"sha256","input":"hello"}'
  curl -s ${scheduler}/tasks/<id>
Watch: sh scripts/pnpm exec hypha-inspect tasks ${scheduler} --watch   (peers: hypha-inspect peers ${stack.gateway.url})
JSON: ${scheduler}/tasks  ${scheduler}/workers  <node>/network  <node>/metrics  <node>/health/ready
A batch of tasks: npm run demo   Stop: Ctrl-C
`)

  return new Promise<number>((done) => {
    let stopping = false
    const stop = (code: number): void => {
      if (stopping) {
        process.stdout.write('Forcing the exit.\n')
        for (const node of stack.nodes) void node.process.kill()
        process.exit(1)
      }
      stopping = true
      process.stdout.write('\nStopping (workers, scheduler, gateway)... Ctrl-C again forces it.\n')
      void stack.stop().then(() => {
        process.stdout.write('Stopped.\n')
        done(code)
      })
    }
    process.on('SIGINT', () => stop(0))
    process.on('SIGTERM', () => stop(0))
    for (const node of stack.nodes) {
      void node.process.exited.then((exit) => {
        if (stopping) return
        process.stdout.write(`[${node.name}] exited unexpectedly (${exit.signal ?? exit.code}); see ${dir}/logs/${node.name}.log\n`)
        stop(1)
      })
    }
  })
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      workers: { type: 'string' },
      'p2p-port': { type: 'string' },
      'http-port': { type: 'string' },
      scheduler: { type: 'string' },
      tasks: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command] = positionals
  if (values.help === true || command === undefined) {
    process.stdout.write(USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  if (command === 'up') return up(values)
  if (command === 'demo') {
    const report = await runDemo({
      scheduler: (values.scheduler ?? 'http://127.0.0.1:7081').replace(/\/$/, ''),
      tasks: positiveInt(values.tasks, 30, '--tasks'),
    })
    return report.verified === report.submitted ? 0 : 1
  }
  process.stderr.write(`hypha-stack: unknown command "${command}"\n${USAGE}`)
  return 2
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`hypha-stack: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
