// GET /network (this node's view as JSON) and GET / (the operator's page that draws it).
import { Controller, Get, Header } from '@nestjs/common'
import { OPERATOR_PAGE } from './page.js'
import { TopologyService } from './topology.service.js'
import type { NetworkViewBody } from './views.js'

@Controller()
export class TopologyController {
  constructor(private readonly topology: TopologyService) {}

  @Get('network')
  view(): Promise<NetworkViewBody> {
    return this.topology.view()
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  // the page loads nothing from anywhere else: scripts and styles are its own, inline
  @Header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
  page(): string {
    return OPERATOR_PAGE
  }
}
