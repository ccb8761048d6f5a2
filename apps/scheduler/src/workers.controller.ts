// GET /workers: the workers this scheduler knows (from status messages and offers), their
// capabilities and load, how they are connected now, and when they were last heard from.
import type { WorkerView } from '@hypha/tasks'
import { Controller, Get, Inject } from '@nestjs/common'
import { TaskSchedulerService } from './task-scheduler.service.js'

@Controller('workers')
export class WorkersController {
  constructor(@Inject(TaskSchedulerService) private readonly service: TaskSchedulerService) {}

  @Get()
  list(): WorkerView[] {
    return this.service.scheduler.workers()
  }
}
