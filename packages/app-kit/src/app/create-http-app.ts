// Builds (without listening) the NestJS HTTP application around a running node: what `run`
// does, reusable by tests and by roles that need a custom boot.
import type { INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express'
import { Logger } from 'nestjs-pino'
import { NodeAppModule, type NodeAppModuleOptions } from './node-app.module.js'

export interface HttpAppOptions extends NodeAppModuleOptions {
  /** Largest JSON request body in bytes (default 100 KiB, Express's own); larger ones get 413. */
  jsonBodyLimitBytes?: number
}

export async function createNodeHttpApp(options: HttpAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(NodeAppModule.forRoot(options), new ExpressAdapter(), {
    bufferLogs: true,
    abortOnError: false,
  })
  app.useLogger(app.get(Logger))
  if (options.jsonBodyLimitBytes !== undefined) app.useBodyParser('json', { limit: options.jsonBodyLimitBytes })
  return app
}

/** Splits `[http] listen` ("0.0.0.0:8080", "[::]:8080") into what node:http's listen takes. */
export function parseHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':')
  const host = text.slice(0, at)
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(text.slice(at + 1)) }
}
