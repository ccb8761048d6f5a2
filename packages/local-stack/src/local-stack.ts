// The local stack: a gateway, a scheduler and N workers as child processes on loopback, with the
// dev PKI and one config file per node under `dir`. The gateway starts first (everyone bootstraps
// from it), then the scheduler and the workers; stop() goes the other way (workers hand their
// tasks back before the scheduler goes). Used by `npm start` and by the apps' integration test.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { withTimeout } from '@hypha/app-kit/testing'
import type { IdentityFiles } from '@hypha/mtls'
import { ensureDevPki, identityFilesOf } from './dev-pki.js'
import { type LogLine, NodeProcess, type ReadyInfo } from './node-process.js'
import { demoExecutorsToml, type StackRole, stackConfigText } from './stack-config.js'

export interface LocalStackOptions {
  /** Where the PKI (`pki/`), the configs (`<name>.toml`) and the logs (`logs/`) live. */
  dir: string
  /** Workers started with the stack. @default 2 */
  workers?: number
  /** First p2p and HTTP port (gateway, scheduler, worker-1, ... count up from them), or 'ephemeral' (port 0 everywhere). */
  ports?: { p2p: number; http: number } | 'ephemeral'
  /** @default 'hypha-dev' */
  organisation?: string
  /** Every JSON log line of every node. */
  onLog?: (line: LogLine) => void
  /** Extra environment per node (HYPHA_* overrides), e.g. a shorter lease in tests. */
  env?: (name: string, role: StackRole) => NodeJS.ProcessEnv
  /** Time for each node to become ready. @default 60_000 */
  readyTimeoutMs?: number
}

export interface StackNode {
  name: string
  role: StackRole
  process: NodeProcess
  /** Set once the node answered /health/ready. */
  info: ReadyInfo
  /** "http://127.0.0.1:7081" */
  url: string
  configFile: string
}

export interface AddWorkerOptions {
  /** Certificate files (default: a certificate from the stack's CA, made on demand). */
  identity?: IdentityFiles
  /** Wait until it is ready (false for a node that is expected never to be: a foreign CA). @default true */
  waitReady?: boolean
  /** `[worker]` section, e.g. 'capacity = 2'. */
  workerToml?: string
  /** Peers to bootstrap from (default: the gateway). */
  bootstrap?: readonly string[]
}

const BINS: Record<StackRole, { pkg: string; bin: string }> = {
  gateway: { pkg: '@hypha/gateway', bin: 'hypha-gateway.js' },
  scheduler: { pkg: '@hypha/scheduler', bin: 'hypha-scheduler.js' },
  worker: { pkg: '@hypha/worker', bin: 'hypha-worker.js' },
}

function binOf(role: StackRole): string {
  const { pkg, bin } = BINS[role]
  return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', bin)
}

export class LocalStack {
  readonly dir: string
  readonly #options: LocalStackOptions
  readonly #organisation: string
  readonly #basePorts: NonNullable<LocalStackOptions['ports']>
  readonly #nodes = new Map<string, StackNode>()
  /** Every node ever launched, by name (restart() brings a killed one back). */
  readonly #roles = new Map<string, StackRole>()
  /** Workers started without waiting (foreign CA and the like). */
  readonly #unready = new Map<string, NodeProcess>()
  #bootstrap: string[] = []
  #nextIndex = 0

  private constructor(options: LocalStackOptions) {
    this.dir = options.dir
    this.#options = options
    this.#organisation = options.organisation ?? 'hypha-dev'
    this.#basePorts = options.ports ?? 'ephemeral'
  }

  /** Starts gateway, scheduler and the workers; resolves once every one is ready. On failure, stops what started. */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const stack = new LocalStack(options)
    try {
      const workers = options.workers ?? 2
      await mkdir(join(stack.dir, 'logs'), { recursive: true })
      await ensureDevPki(stack.#pki, [
        { name: 'gateway', role: 'gateway' },
        { name: 'scheduler', role: 'scheduler' },
        ...Array.from({ length: workers }, (_, i) => ({ name: `worker-${i + 1}`, role: 'worker' as const })),
      ])
      const gateway = await stack.#launch('gateway', 'gateway', {})
      // both transports, QUIC first: what a node dials first
      stack.#bootstrap = loopbackAddresses(gateway.info)
      await stack.#launch('scheduler', 'scheduler', {})
      await Promise.all(Array.from({ length: workers }, (_, i) => stack.#launch(`worker-${i + 1}`, 'worker', {})))
      return stack
    } catch (err) {
      await stack.stop()
      throw err
    }
  }

  get nodes(): StackNode[] {
    return [...this.#nodes.values()]
  }

  node(name: string): StackNode {
    const node = this.#nodes.get(name)
    if (node === undefined) throw new Error(`no node "${name}" in the stack`)
    return node
  }

  get gateway(): StackNode {
    return this.node('gateway')
  }

  get scheduler(): StackNode {
    return this.node('scheduler')
  }

  get workers(): StackNode[] {
    return this.nodes.filter((n) => n.role === 'worker')
  }

  /** Starts one more worker; with `waitReady: false` returns its process without waiting. */
  async addWorker(name: string, options: AddWorkerOptions = {}): Promise<StackNode | NodeProcess> {
    if (options.identity === undefined) await ensureDevPki(this.#pki, [{ name, role: 'worker' }])
    if (options.waitReady === false) {
      const { process } = await this.#spawn(name, 'worker', options)
      this.#unready.set(name, process)
      return process
    }
    return this.#launch(name, 'worker', options)
  }

  /** Starts one more scheduler replica (with a shared store: a standby), ready when it returns. */
  async addScheduler(name: string): Promise<StackNode> {
    await ensureDevPki(this.#pki, [{ name, role: 'scheduler' }])
    return this.#launch(name, 'scheduler', {})
  }

  /**
   * Starts a node of the stack again after kill() (a crash and its restart): same name, role,
   * certificate and config, so the same peer id and, with fixed ports, the same addresses.
   */
  async restart(name: string): Promise<StackNode> {
    if (this.#nodes.has(name)) throw new Error(`node "${name}" is running; kill it first`)
    const role = this.#roles.get(name)
    if (role === undefined) throw new Error(`no node "${name}" was ever in the stack`)
    return this.#launch(name, role, {})
  }

  /** SIGKILLs a node (a crash): it leaves the stack. */
  async kill(name: string): Promise<void> {
    const node = this.#nodes.get(name)
    this.#nodes.delete(name)
    await node?.process.kill()
  }

  /** Workers first, then scheduler, then gateway; each gets SIGTERM and `graceMs` before SIGKILL. */
  async stop(graceMs = 20_000): Promise<void> {
    const order: StackRole[] = ['worker', 'scheduler', 'gateway']
    await Promise.all([...this.#unready.values()].map((p) => p.stop(graceMs)))
    this.#unready.clear()
    for (const role of order) {
      const nodes = this.nodes.filter((n) => n.role === role)
      await Promise.all(nodes.map((n) => n.process.stop(graceMs)))
      for (const n of nodes) this.#nodes.delete(n.name)
    }
  }

  get #pki() {
    return { dir: join(this.dir, 'pki'), organisation: this.#organisation }
  }

  #ports(): { p2p: number; http: number } {
    const index = this.#nextIndex++
    const base = this.#basePorts
    return base === 'ephemeral' ? { p2p: 0, http: 0 } : { p2p: base.p2p + index, http: base.http + index }
  }

  async #spawn(name: string, role: StackRole, options: AddWorkerOptions): Promise<{ process: NodeProcess; configFile: string }> {
    const configFile = join(this.dir, `${name}.toml`)
    const ports = this.#ports()
    // configs are written once and then kept (an operator's edits survive); with ephemeral ports
    // (tests, always a fresh dir) the bootstrap address changes every run, so they are rewritten
    if (!existsSync(configFile) || this.#basePorts === 'ephemeral') {
      const identity = options.identity ?? identityFilesOf(this.#pki, name)
      const rel = (p: string): string => relative(this.dir, p)
      await writeFile(
        configFile,
        stackConfigText({
          role,
          identity: { cert: rel(identity.cert), key: rel(identity.key), trust: rel(identity.trust), crl: (identity.crl ?? []).map(rel) },
          p2pPort: ports.p2p,
          httpPort: ports.http,
          bootstrap: options.bootstrap ?? (role === 'gateway' ? [] : this.#bootstrap),
          ...(role === 'worker' ? { extra: `[worker]\n${options.workerToml ?? 'capacity = 2'}\n\n${demoExecutorsToml()}` } : {}),
        }),
      )
    }
    const process = NodeProcess.spawn({
      name,
      bin: binOf(role),
      args: ['run', '--config', configFile],
      cwd: this.dir,
      logFile: join(this.dir, 'logs', `${name}.log`),
      env: this.#options.env?.(name, role) ?? {},
      ...(this.#options.onLog !== undefined ? { onLog: this.#options.onLog } : {}),
    })
    return { process, configFile }
  }

  async #launch(name: string, role: StackRole, options: AddWorkerOptions): Promise<StackNode> {
    const { process, configFile } = await this.#spawn(name, role, options)
    const timeoutMs = this.#options.readyTimeoutMs ?? 60_000
    try {
      const info = await withTimeout(process.ready, timeoutMs, `${name} did not log "ready"`)
      const url = `http://${info.http}`
      await pollReady(url, process, timeoutMs, name)
      const node: StackNode = { name, role, process, info, url, configFile }
      this.#nodes.set(name, node)
      this.#roles.set(name, role)
      return node
    } catch (err) {
      await process.stop(2_000)
      throw err
    }
  }
}

/** A node's loopback addresses with its peer id, QUIC first (what a node dials first). */
export function loopbackAddresses(info: ReadyInfo): string[] {
  return info.addresses
    .filter((a) => a.includes('/127.0.0.1/'))
    .sort((a, b) => Number(b.includes('/quic-v1')) - Number(a.includes('/quic-v1')))
    .map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`))
}

/** Polls GET /health/ready until 200; the readiness body of the last attempt explains a timeout. */
async function pollReady(url: string, process: NodeProcess, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (!process.running) throw new Error(`${name} exited while starting; see its log`)
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) })
      if (response.status === 200) return
      last = await response.text()
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${name} was not ready within ${timeoutMs} ms: ${last}`)
}
