// The worker's root NestJS module. Its network and role modules arrive with the services issue;
// for now it only proves the app builds and boots against the workspace packages.
import { Module } from '@nestjs/common'

@Module({})
export class WorkerModule {}
