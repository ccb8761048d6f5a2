#!/usr/bin/env node
// hypha-gateway: entry point. Boots the NestJS application context (no listeners yet).
import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { GatewayModule } from './app.module.js'

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write('usage: hypha-gateway <command>\n\nThe gateway role is not implemented yet (see the services issue).\n')
    return argv.length === 0 ? 2 : 0
  }
  const app = await NestFactory.createApplicationContext(GatewayModule, { logger: false })
  await app.close()
  process.stderr.write('hypha-gateway: unknown command: ' + argv.join(' ') + '\n')
  return 2
}

process.exitCode = await main(process.argv.slice(2))
