// The role's validated configuration as a NestJS provider. It is loaded and validated once, by
// the CLI before Nest boots; modules inject it instead of reading files or process.env.

import type { NetworkConfig } from '@hypha/network-core'
import { type DynamicModule, Global, Inject, Module } from '@nestjs/common'

/** Injection token of the role's configuration (`ConfigOf<typeof schema>`). */
export const HYPHA_CONFIG = Symbol.for('hypha:config')

/** `@InjectConfig() config: ConfigOf<typeof mySchema>` */
export const InjectConfig = (): ParameterDecorator => Inject(HYPHA_CONFIG)

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: NetworkConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: HYPHA_CONFIG, useValue: config }],
      exports: [HYPHA_CONFIG],
    }
  }
}
