// The root module of every Hypha service: configuration, the node, logs, health, metrics,
// peers, the network view and the operator's page (GET /), and shutdown, plus the role's own modules. Built around a node that already runs.

import type { HyphaNode, NetworkConfig } from '@hypha/network-core'
import { type DynamicModule, Module, type Type } from '@nestjs/common'
import { LoggerModule } from 'nestjs-pino'
import { ConfigModule } from '../config/config.module.js'
import { HealthModule } from '../health/health.module.js'
import type { AppLogger } from '../logging/logger.js'
import { MetricsModule } from '../metrics/metrics.module.js'
import { NetworkModule } from '../network/network.module.js'
import { OPENAPI_DOCUMENT, OpenApiController } from '../openapi/openapi.controller.js'
import { buildOpenApiDocument, COMMON_SECTION, type OpenApiInfo, type OpenApiSection } from '../openapi/openapi-document.js'
import { PeersModule } from '../peers/peers.module.js'
import { ShutdownModule } from '../shutdown/shutdown.module.js'
import type { ShutdownOptions } from '../shutdown/shutdown.service.js'
import { TopologyModule } from '../topology/topology.module.js'

export type RoleModule = DynamicModule | Type

export interface NodeAppModuleOptions {
  config: NetworkConfig
  node: HyphaNode
  logger: AppLogger
  roleModules?: readonly RoleModule[]
  shutdown?: Partial<ShutdownOptions>
  /** GET /openapi.json: the document's info, and the role's own endpoints besides the common ones. */
  openApi?: { info: OpenApiInfo; section?: OpenApiSection }
}

/** Probes and scrapes arrive every few seconds: logging each would drown the useful lines. */
const QUIET_PATHS = ['/health/', '/metrics', '/network']
/** The operator's page polls every second and marks its requests so. */
const POLL_HEADER = 'x-hypha-poll'

@Module({})
export class NodeAppModule {
  static forRoot(options: NodeAppModuleOptions): DynamicModule {
    const document = buildOpenApiDocument(options.openApi?.info ?? { title: 'Hypha node', version: '0.0.0' }, [
      COMMON_SECTION,
      ...(options.openApi?.section !== undefined ? [options.openApi.section] : []),
    ])
    return {
      module: NodeAppModule,
      controllers: [OpenApiController],
      providers: [{ provide: OPENAPI_DOCUMENT, useValue: document }],
      imports: [
        ConfigModule.forRoot(options.config),
        NetworkModule.forRoot(options.node),
        ShutdownModule.forRoot(options.shutdown),
        LoggerModule.forRoot({
          pinoHttp: {
            logger: options.logger,
            // lines logged while serving a request carry its id, not the whole request
            quietReqLogger: true,
            autoLogging: { ignore: (req) => req.headers[POLL_HEADER] !== undefined || QUIET_PATHS.some((p) => (req.url ?? '').startsWith(p)) },
          },
        }),
        HealthModule,
        MetricsModule,
        PeersModule,
        TopologyModule,
        ...(options.roleModules ?? []),
      ],
    }
  }
}
