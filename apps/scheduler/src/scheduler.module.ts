// The scheduler role's own module: the task store and engine (providers), their lifecycle, the
// HTTP API and the filter that maps task errors to status codes. Networking comes from app-kit.
import { Module } from '@nestjs/common'
import { APP_FILTER } from '@nestjs/core'
import { TerminusModule } from '@nestjs/terminus'
import { SchedulerLifecycle, schedulerProvider } from './scheduler.provider.js'
import { TaskErrorFilter } from './task-error.filter.js'
import { TaskStoreIndicator } from './task-store.indicator.js'
import { leadershipProvider, taskGroupProvider, taskStoreProvider } from './task-store.provider.js'
import { TasksController } from './tasks.controller.js'
import { SchedulerController } from './scheduler.controller.js'
import { WorkersController } from './workers.controller.js'

@Module({
  imports: [TerminusModule],
  providers: [taskStoreProvider, leadershipProvider, taskGroupProvider, schedulerProvider, SchedulerLifecycle, TaskStoreIndicator, { provide: APP_FILTER, useClass: TaskErrorFilter }],
  controllers: [TasksController, WorkersController, SchedulerController],
})
export class SchedulerModule {}
