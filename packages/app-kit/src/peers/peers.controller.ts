// GET /peers: connected peers (id, addresses, transport, direct, connections, latencyMs).
// POST /peers/:id/link: connect to a peer by id (direct, or relayed then hole-punched), optionally
// moving probe_bytes over the link with their SHA-256 checked by the peer.
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common'
import { ZodValidationPipe } from '../http/zod-validation.pipe.js'
import { type LinkRequest, LinkRequestSchema, type LinkView, PeersService, type PeerView } from './peers.service.js'

@Controller('peers')
export class PeersController {
  constructor(private readonly peers: PeersService) {}

  @Get()
  list(): Promise<PeerView[]> {
    return this.peers.list()
  }

  @Post(':id/link')
  @HttpCode(200)
  link(@Param('id') id: string, @Body(new ZodValidationPipe(LinkRequestSchema)) body: LinkRequest): Promise<LinkView> {
    return this.peers.link(id, body)
  }
}
