// GET /health/live and GET /health/ready (terminus: 200 when up, 503 with the details when down).
import { Controller, Get } from '@nestjs/common'
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus'
import { NodeLiveIndicator } from './node-live.indicator.js'
import { ReadinessChecks } from './readiness-checks.js'
import { RoleReadyIndicator } from './role-ready.indicator.js'

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly live: NodeLiveIndicator,
    private readonly ready: RoleReadyIndicator,
    private readonly extraChecks: ReadinessChecks,
  ) {}

  @Get('live')
  @HealthCheck()
  checkLive(): Promise<HealthCheckResult> {
    return this.health.check([() => this.live.check()])
  }

  @Get('ready')
  @HealthCheck()
  checkReady(): Promise<HealthCheckResult> {
    return this.health.check([() => this.live.check(), () => this.ready.check(), ...this.extraChecks.list()])
  }
}
