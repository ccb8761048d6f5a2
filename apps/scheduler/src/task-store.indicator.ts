// Readiness of the task store: a scheduler whose database is unreachable cannot accept or hand
// out tasks, so /health/ready says so (503 with the reason) instead of answering 500s.
import { Scheduler, type TaskStore } from '@hypha/tasks'
import { Inject, Injectable } from '@nestjs/common'
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus'
import { TASK_STORE } from './task-store.provider.js'

/** A store slower than this to count its tasks is reported down. */
const STORE_CHECK_TIMEOUT_MS = 2_000

@Injectable()
export class TaskStoreIndicator {
  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(TASK_STORE) private readonly store: TaskStore,
    @Inject(Scheduler) private readonly scheduler: Scheduler,
  ) {}

  async check(key = 'tasks'): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(key)
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const counts = await Promise.race([
        this.store.counts(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STORE_CHECK_TIMEOUT_MS} ms`)), STORE_CHECK_TIMEOUT_MS)
        }),
      ])
      return session.up({ role: this.scheduler.role, ...counts })
    } catch (err) {
      return session.down({ reason: `task store unreachable: ${err instanceof Error ? err.message : String(err)}` })
    } finally {
      clearTimeout(timer)
    }
  }
}
