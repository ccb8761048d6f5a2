// Extra readiness checks a role adds from its own module (e.g. the scheduler's task store),
// composed into GET /health/ready after the node and role checks.
import { Injectable } from '@nestjs/common'
import type { HealthIndicatorFunction } from '@nestjs/terminus'

@Injectable()
export class ReadinessChecks {
  readonly #checks: HealthIndicatorFunction[] = []

  /** `readiness.add(() => this.myIndicator.check('tasks'))` (call from a constructor or onModuleInit). */
  add(check: HealthIndicatorFunction): void {
    this.#checks.push(check)
  }

  list(): HealthIndicatorFunction[] {
    return [...this.#checks]
  }
}
