// GET /peers: connected peers (id, addresses, transport, direct, connections, latencyMs).
import { Controller, Get } from '@nestjs/common'
import { PeersService, type PeerView } from './peers.service.js'

@Controller('peers')
export class PeersController {
  constructor(private readonly peers: PeersService) {}

  @Get()
  list(): Promise<PeerView[]> {
    return this.peers.list()
  }
}
