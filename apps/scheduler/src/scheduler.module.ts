// The scheduler role's own module: the task engine and its HTTP API. Everything network-related
// comes from app-kit.
import { Module } from '@nestjs/common'
import { TaskSchedulerService } from './task-scheduler.service.js'
import { TasksController } from './tasks.controller.js'
import { WorkersController } from './workers.controller.js'

@Module({ providers: [TaskSchedulerService], controllers: [TasksController, WorkersController] })
export class SchedulerModule {}
