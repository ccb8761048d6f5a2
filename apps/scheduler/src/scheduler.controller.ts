// GET /scheduler: this replica's role in its task set (leader or standby), who leads, and the
// store's task counts: what an operator (and the fail-over test) asks first.
import { Scheduler, type TaskCounts } from '@hypha/tasks'
import { Controller, Get, Inject } from '@nestjs/common'

export interface SchedulerView {
  role: 'leader' | 'standby'
  leader: string | null
  tasks: TaskCounts
}

@Controller('scheduler')
export class SchedulerController {
  constructor(@Inject(Scheduler) private readonly scheduler: Scheduler) {}

  @Get()
  async view(): Promise<SchedulerView> {
    return { role: this.scheduler.role, leader: (await this.scheduler.leader()) ?? null, tasks: await this.scheduler.taskCounts() }
  }
}
