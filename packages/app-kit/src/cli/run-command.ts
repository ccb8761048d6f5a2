// `run`: the node first (a node that cannot listen fails before HTTP does), then the NestJS
// HTTP server on [http] listen, then the role's onReady.
import type { AddressInfo } from 'node:net'
import { createNode, type HyphaNode, type NetworkConfig, type NodeRole } from '@hypha/network-core'
import type { INestApplication } from '@nestjs/common'
import { createNodeHttpApp, parseHostPort } from '../app/create-http-app.js'
import type { RoleModule } from '../app/node-app.module.js'
import type { OpenApiSection } from '../openapi/openapi-document.js'
import { type AppLogger, securityLogOf } from '../logging/logger.js'
import { serveHealthProtocol } from '../network/health-protocol.js'
import { DEFAULT_SHUTDOWN_OPTIONS } from '../shutdown/shutdown.service.js'
import { installShutdown } from '../shutdown/signals.js'
import { UsageError } from './errors.js'
import { loadIdentity } from './identity.js'

export interface RunningApp<C extends NetworkConfig = NetworkConfig> {
  app: INestApplication
  node: HyphaNode
  config: C
  logger: AppLogger
  /** The HTTP server's actual address ("127.0.0.1:41234"), useful with port 0. */
  httpAddress: string
}

export interface RunOptions<C extends NetworkConfig> {
  name: string
  role: NodeRole
  config: C
  logger: AppLogger
  version: string
  roleModules?: readonly RoleModule[]
  pubsubTopics?: readonly string[]
  shutdownTimeoutMs?: number
  /** Largest JSON request body the role's HTTP API takes (default 100 KiB). */
  jsonBodyLimitBytes?: number
  /** Gives the node bulk transfer (`node.bulk`) with its payloads in this directory. */
  bulkDirectory?: string
  /** The role's own HTTP endpoints for GET /openapi.json. */
  openApi?: OpenApiSection
  onReady?: (running: RunningApp<C>) => Promise<void> | void
}

export async function runApp<C extends NetworkConfig>(options: RunOptions<C>): Promise<RunningApp<C>> {
  const { config, logger } = options
  const identity = await loadIdentity(config, { watch: true, log: securityLogOf(logger) })
  // a certificate with roles is for those roles only: peers would refuse this node anyway
  if (identity !== undefined && identity.roles.size > 0 && !identity.roles.has(options.role)) {
    const granted = [...identity.roles].join(', ')
    identity.close()
    throw new UsageError(`${config.security.cert ?? 'the certificate'} grants the role(s) ${granted}, not ${options.role}: issue this node a certificate with --role ${options.role}`)
  }
  let node: HyphaNode | undefined
  let app: INestApplication | undefined
  try {
    node = await createNode(config, identity, options.role, {
      collectDefaultMetrics: true,
      ...(options.pubsubTopics !== undefined ? { pubsubTopics: options.pubsubTopics } : {}),
      ...(options.bulkDirectory !== undefined ? { bulkDirectory: options.bulkDirectory } : {}),
    })
    await serveHealthProtocol(node, options.version)
    const hooksTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_OPTIONS.hooksTimeoutMs
    app = await createNodeHttpApp({
      config,
      node,
      logger,
      shutdown: { hooksTimeoutMs },
      ...(options.jsonBodyLimitBytes !== undefined ? { jsonBodyLimitBytes: options.jsonBodyLimitBytes } : {}),
      ...(options.roleModules !== undefined ? { roleModules: options.roleModules } : {}),
      openApi: { info: { title: options.name, version: options.version }, ...(options.openApi !== undefined ? { section: options.openApi } : {}) },
    })
    installShutdown(app, logger, hooksTimeoutMs + 10_000)
    const { host, port } = parseHostPort(config.http.listen)
    await app.listen(port, host)
    const bound = (app.getHttpServer() as { address(): AddressInfo | string | null }).address()
    const httpAddress =
      bound !== null && typeof bound === 'object'
        ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
        : config.http.listen
    const running: RunningApp<C> = { app, node, config, logger, httpAddress }
    logger.info(
      {
        role: options.role,
        version: options.version,
        peerId: node.peerId.toString(),
        addresses: node.getMultiaddrs().map(String),
        http: httpAddress,
      },
      `${options.name} ready`,
    )
    await options.onReady?.(running)
    return running
  } catch (err) {
    if (app !== undefined) await app.close().catch(() => undefined)
    else await node?.stop().catch(() => undefined)
    identity?.close()
    throw err
  }
}
