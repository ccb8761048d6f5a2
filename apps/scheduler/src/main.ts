#!/usr/bin/env node
// hypha-scheduler: entry point. Boots the NestJS application context (no listeners yet).
import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { SchedulerModule } from './app.module.js'

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write('usage: hypha-scheduler <command>\n\nThe scheduler role is not implemented yet (see the services issue).\n')
    return argv.length === 0 ? 2 : 0
  }
  const app = await NestFactory.createApplicationContext(SchedulerModule, { logger: false })
  await app.close()
  process.stderr.write('hypha-scheduler: unknown command: ' + argv.join(' ') + '\n')
  return 2
}

process.exitCode = await main(process.argv.slice(2))
