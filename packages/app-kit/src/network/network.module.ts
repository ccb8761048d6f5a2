// The role's HyphaNode as a NestJS provider. The CLI creates and starts the node before Nest
// boots (so a node that cannot listen fails before HTTP does); this module owns stopping it.

import { HyphaNode } from '@hypha/network-core'
import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common'

/** Injection token of the HyphaNode (the class itself works too: `constructor(node: HyphaNode)`). */
export const HYPHA_NODE = Symbol.for('hypha:node')

/** `@InjectNode() node: HyphaNode` */
export const InjectNode = (): ParameterDecorator => Inject(HYPHA_NODE)

@Injectable()
export class NodeLifecycle implements OnApplicationShutdown {
  readonly #log = new Logger('NetworkModule')
  constructor(@Inject(HYPHA_NODE) private readonly node: HyphaNode) {}

  async onApplicationShutdown(): Promise<void> {
    this.#log.log('stopping the libp2p node')
    try {
      await this.node.stop()
    } finally {
      // the identity's file watchers would keep the process alive
      this.node.identity?.close()
    }
  }
}

@Global()
@Module({})
export class NetworkModule {
  static forRoot(node: HyphaNode): DynamicModule {
    return {
      module: NetworkModule,
      providers: [{ provide: HYPHA_NODE, useValue: node }, { provide: HyphaNode, useExisting: HYPHA_NODE }, NodeLifecycle],
      exports: [HYPHA_NODE, HyphaNode],
    }
  }
}
