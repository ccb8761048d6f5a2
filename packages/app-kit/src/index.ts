// @hypha/app-kit: what every Hypha NestJS service shares: the CLI (init/run/probe), config and
// node providers, health probes, metrics, peers, structured logs and graceful shutdown.

export { createNodeHttpApp, type HttpAppOptions, parseHostPort } from './app/create-http-app.js'
export { NodeAppModule, type NodeAppModuleOptions, type RoleModule } from './app/node-app.module.js'
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli/errors.js'
export { type InitOptions, initCommand, initConfigText } from './cli/init-command.js'
export { loadIdentity } from './cli/identity.js'
export { type ProbeOptions, type ProbeOutcome, parseTarget, probe, probeConfig } from './cli/probe-command.js'
export { type RunningApp, type RunOptions, runApp } from './cli/run-command.js'
export { type AppConfigOf, type NodeAppOptions, runNodeApp } from './cli/run-node-app.js'
export { appVersion } from './cli/version.js'
export { ConfigModule, HYPHA_CONFIG, InjectConfig } from './config/config.module.js'
export { HealthModule } from './health/health.module.js'
export { NodeLiveIndicator } from './health/node-live.indicator.js'
export { ReadinessChecks } from './health/readiness-checks.js'
export { RoleReadyIndicator } from './health/role-ready.indicator.js'
export { type AppLogger, type AppLoggerOptions, createAppLogger, securityLogOf } from './logging/logger.js'
export { MetricsModule } from './metrics/metrics.module.js'
export {
  HEALTH_PROTOCOL_ID,
  type HealthAnswer,
  HealthProtocol,
  type HealthRequest,
  healthAnswer,
  serveHealthProtocol,
} from './network/health-protocol.js'
export { HYPHA_NODE, InjectNode, NetworkModule } from './network/network.module.js'
export { type Readiness, roleReadiness } from './network/readiness.js'
export { buildOpenApiDocument, COMMON_SECTION, jsonResponse, type OpenApiInfo, type OpenApiSection, ref } from './openapi/openapi-document.js'
export { OPENAPI_DOCUMENT, OpenApiController } from './openapi/openapi.controller.js'
export { PeersModule } from './peers/peers.module.js'
export { OPERATOR_PAGE } from './topology/page.js'
export { REFUSAL_LOG_SIZE, type RefusalEntry, RefusalLog } from './topology/refusal-log.js'
export { TopologyModule } from './topology/topology.module.js'
export { TopologyService } from './topology/topology.service.js'
export { type NetworkViewBody, NetworkViewSchema, type PeerViewBody, PeerViewSchema, RefusalSchema } from './topology/views.js'
export { PEER_LATENCY_TIMEOUT_MS, PeersService, type PeerView } from './peers/peers.service.js'
export { NODE_RUNTIME_FLAGS } from './runtime/node-flags.js'
export { ShutdownModule } from './shutdown/shutdown.module.js'
export {
  DEFAULT_SHUTDOWN_OPTIONS,
  SHUTDOWN_OPTIONS,
  type ShutdownHook,
  type ShutdownOptions,
  ShutdownService,
} from './shutdown/shutdown.service.js'
export { installShutdown, SHUTDOWN_SIGNALS } from './shutdown/signals.js'
export { type ValidationProblem, ZodValidationPipe } from './http/zod-validation.pipe.js'
