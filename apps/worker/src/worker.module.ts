// The worker role's own module: task execution. Everything network-related comes from app-kit.
import { Module } from '@nestjs/common'
import { TaskWorkerService } from './task-worker.service.js'

@Module({ providers: [TaskWorkerService] })
export class WorkerModule {}
