// Health probes over HTTP. Needs NetworkModule (global) for the node.
import { Global, Module } from '@nestjs/common'
import { TerminusModule } from '@nestjs/terminus'
import { HealthController } from './health.controller.js'
import { NodeLiveIndicator } from './node-live.indicator.js'
import { ReadinessChecks } from './readiness-checks.js'
import { RoleReadyIndicator } from './role-ready.indicator.js'

@Global()
@Module({
  // terminus would log every failed probe as an error with the whole result (Kubernetes probes
  // every few seconds); RoleReadyIndicator logs a readiness change once, failures at debug
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [NodeLiveIndicator, RoleReadyIndicator, ReadinessChecks],
  exports: [ReadinessChecks],
})
export class HealthModule {}
