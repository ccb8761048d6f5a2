// GET /workers: the workers this scheduler knows (from status messages, offers and pulls), their
// capabilities and load, how they are connected now, and when they were last heard from.
import { Scheduler, type WorkerView } from '@hypha/tasks'
import { Controller, Get, Inject } from '@nestjs/common'

@Controller('workers')
export class WorkersController {
  constructor(@Inject(Scheduler) private readonly scheduler: Scheduler) {}

  @Get()
  list(): WorkerView[] {
    return this.scheduler.workers()
  }
}
