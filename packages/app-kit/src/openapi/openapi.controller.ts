// GET /openapi.json: the node's HTTP API (openapi-document.ts), built once at start.
import { Controller, Get, Inject } from '@nestjs/common'

export const OPENAPI_DOCUMENT = Symbol('OPENAPI_DOCUMENT')

@Controller()
export class OpenApiController {
  constructor(@Inject(OPENAPI_DOCUMENT) private readonly document: Record<string, unknown>) {}

  @Get('openapi.json')
  get(): Record<string, unknown> {
    return this.document
  }
}
