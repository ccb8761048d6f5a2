// One Hypha service container (the images from the Dockerfile) on a network the test made, with
// its logs collected, its HTTP API addressed by container IP, and its peer id known in advance.
import { type StartedTestContainer, Wait } from 'testcontainers'
import { SysctlContainer } from './sysctl-container.js'
import { ipOn } from './docker-cli.js'
import { type E2ePki, PKI_MOUNT, securityEnv } from './pki.js'

export type Role = 'gateway' | 'scheduler' | 'worker'

/** Image tags; scripts/e2e.sh builds them (docker build --network host) before the suite. */
export function imageOf(role: Role): string {
  return `${process.env.HYPHA_E2E_IMAGE_PREFIX ?? 'hypha/'}${role}:${process.env.HYPHA_E2E_IMAGE_TAG ?? 'dev'}`
}

export interface NodeSpec {
  role: Role
  /** Certificate name in the PKI (also the container's hostname). */
  name: string
  network: string
  pki: E2ePki
  bootstrap?: readonly string[]
  env?: Record<string, string>
  /** Route everything through this router (a NATed LAN); runs the entrypoint as root to set the route. */
  defaultRoute?: string
  /** Wait for the image HEALTHCHECK (ready) or only for the "ready" log line (a node expected never to be ready). @default 'healthy' */
  wait?: 'healthy' | 'started'
  /** Kernel parameters of the container's network namespace (docker run --sysctl). */
  sysctls?: Record<string, string>
  /** Load the organisation's CRL (default true). A foreign node has no use for it; a revoked node that has it refuses to start, seeing itself revoked. */
  crl?: boolean
}

export class HyphaNode {
  private constructor(
    readonly spec: NodeSpec,
    readonly container: StartedTestContainer,
    readonly peerId: string,
    /** On spec.network; refreshIp() after a restart. */
    public ip: string,
    /** Everything the container printed so far. */
    readonly logs: () => string,
  ) {}

  get name(): string {
    return this.spec.name
  }

  get url(): string {
    return `http://${this.ip}:8080`
  }

  /** Multiaddrs to bootstrap from this node (QUIC first). */
  get addresses(): string[] {
    return [`/ip4/${this.ip}/udp/4001/quic-v1/p2p/${this.peerId}`, `/ip4/${this.ip}/tcp/4001/p2p/${this.peerId}`]
  }

  /** JSON log lines of this node (pino), parsed. */
  logLines(): Array<Record<string, unknown>> {
    return this.logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>]
        } catch {
          return []
        }
      })
  }

  async refreshIp(): Promise<void> {
    this.ip = await ipOn(this.container.getId(), this.spec.network)
  }

  static async start(spec: NodeSpec): Promise<HyphaNode> {
    const peerId = spec.pki.peerIds[spec.name]
    if (peerId === undefined) throw new Error(`no certificate for ${spec.name} in the e2e PKI`)
    let text = ''
    let container = new SysctlContainer(imageOf(spec.role))
      .withSysctls(spec.sysctls ?? {})
      .withName(`hypha-e2e-${spec.name}-${process.pid}`)
      .withHostname(spec.name)
      .withNetworkMode(spec.network)
      .withBindMounts([{ source: spec.pki.dir, target: PKI_MOUNT, mode: 'ro' }])
      .withEnvironment({
        HYPHA_LOG_LEVEL: 'info',
        ...securityEnv(spec.pki, spec.name, { crl: spec.crl !== false }),
        ...(spec.bootstrap !== undefined ? { HYPHA_NETWORK__BOOTSTRAP_PEERS: spec.bootstrap.join(',') } : {}),
        ...spec.env,
      })
      .withLogConsumer((stream) => {
        stream.on('data', (chunk: Buffer | string) => {
          text += chunk.toString()
        })
      })
      .withStartupTimeout(120_000)
      .withWaitStrategy(spec.wait === 'started' ? Wait.forLogMessage(/ ready"/) : Wait.forHealthCheck())
    if (spec.defaultRoute !== undefined) {
      container = container
        .withUser('root')
        .withAddedCapabilities('NET_ADMIN')
        .withEntrypoint(['sh', '-c', `ip route replace default via ${spec.defaultRoute} && exec tini -- node /app/docker/entrypoint.mjs run`])
        .withCommand([])
    }
    let started: StartedTestContainer
    try {
      started = await container.start()
    } catch (err) {
      // what the node printed is what explains a failed start
      const tail = text.split('\n').slice(-15).join('\n')
      throw new Error(`${spec.name} (${spec.role}) did not start: ${(err as Error).message}\n--- its last lines ---\n${tail}`)
    }
    const ip = await ipOn(started.getId(), spec.network)
    return new HyphaNode(spec, started, peerId, ip, () => text)
  }

  async stop(): Promise<void> {
    await this.container.stop({ timeout: 10_000 }).catch(() => undefined)
  }
}
