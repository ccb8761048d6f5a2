import { type DynamicModule, Global, Module } from '@nestjs/common'
import { DEFAULT_SHUTDOWN_OPTIONS, SHUTDOWN_OPTIONS, type ShutdownOptions, ShutdownService } from './shutdown.service.js'

@Global()
@Module({})
export class ShutdownModule {
  static forRoot(options: Partial<ShutdownOptions> = {}): DynamicModule {
    return {
      module: ShutdownModule,
      providers: [{ provide: SHUTDOWN_OPTIONS, useValue: { ...DEFAULT_SHUTDOWN_OPTIONS, ...options } }, ShutdownService],
      exports: [ShutdownService],
    }
  }
}
