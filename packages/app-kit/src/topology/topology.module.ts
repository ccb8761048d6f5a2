import { Module } from '@nestjs/common'
import { PeersModule } from '../peers/peers.module.js'
import { TopologyController } from './topology.controller.js'
import { TopologyService } from './topology.service.js'

@Module({ imports: [PeersModule], controllers: [TopologyController], providers: [TopologyService], exports: [TopologyService] })
export class TopologyModule {}
