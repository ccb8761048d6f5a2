// The OpenAPI 3.1 document of a node's HTTP API, served at GET /openapi.json by every node: the
// endpoints every role has (health, metrics, peers) plus the role's own section. Bodies are
// described by the same zod schemas that validate requests and shape responses, converted with
// zod's JSON Schema output (draft 2020-12, which OpenAPI 3.1 uses), so the document cannot drift
// from what the code accepts.
import { z } from 'zod'
import { NetworkViewSchema, PeerViewSchema } from '../topology/views.js'

export interface OpenApiSection {
  /** OpenAPI path items by path, e.g. { '/tasks': { post: {...} } }. */
  paths: Record<string, Record<string, unknown>>
  /** Named zod schemas; paths refer to them as { $ref: '#/components/schemas/<name>' }. */
  schemas?: Record<string, z.ZodType>
}

export interface OpenApiInfo {
  title: string
  version: string
  description?: string
}

/** `{ $ref }` to a named schema of a section. */
export const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })

/** A JSON response with a schema. */
export function jsonResponse(description: string, schema: Record<string, unknown>): Record<string, unknown> {
  return { description, content: { 'application/json': { schema } } }
}

const ProblemSchema = z
  .object({
    statusCode: z.number().int(),
    error: z.string().optional(),
    message: z.union([z.string(), z.array(z.string())]).optional(),
    problems: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ description: 'An error: the status, its name, a message, and for a 400 every invalid field.' })

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    info: z.record(z.string(), z.unknown()).optional(),
    error: z.record(z.string(), z.unknown()).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ description: '@nestjs/terminus health result.' })

/** What every node serves. */
export const COMMON_SECTION: OpenApiSection = {
  schemas: { Problem: ProblemSchema, Health: HealthSchema, PeerView: PeerViewSchema, NetworkView: NetworkViewSchema },
  paths: {
    '/health/live': { get: { summary: 'The process runs and its node is started', responses: { 200: jsonResponse('Live', ref('Health')), 503: jsonResponse('Not live', ref('Health')) } } },
    '/health/ready': {
      get: { summary: 'The node is ready for its role (bootstrap reached, reservation held where needed, store open)', responses: { 200: jsonResponse('Ready', ref('Health')), 503: jsonResponse('Not ready', ref('Health')) } },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'The exposition text', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/peers': { get: { summary: 'Connected peers', responses: { 200: jsonResponse('The peers', { type: 'array', items: ref('PeerView') }) } } },
    '/network': {
      get: { summary: "This node's view: peers (direct or relayed), reservations, refused peers", responses: { 200: jsonResponse('The view', ref('NetworkView')) } },
    },
    '/': { get: { summary: 'The operator\'s page: the live topology (and tasks, on a scheduler)', responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: jsonResponse('The OpenAPI 3.1 document', { type: 'object' }) } } },
  },
}

export function buildOpenApiDocument(info: OpenApiInfo, sections: readonly OpenApiSection[]): Record<string, unknown> {
  const registry = z.registry<{ id: string }>()
  const paths: Record<string, Record<string, unknown>> = {}
  for (const section of sections) {
    for (const [name, schema] of Object.entries(section.schemas ?? {})) registry.add(schema, { id: name })
    for (const [path, item] of Object.entries(section.paths)) paths[path] = { ...(paths[path] ?? {}), ...item }
  }
  const converted = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas
  // Schemas used by several (the recursive JSON value) come as zod's `__shared` document with
  // `$defs`, referred to as `#/components/schemas/__shared#/$defs/<name>`: not a reference an
  // OpenAPI tool resolves. Each becomes a component of its own, `Shared_<name>`.
  const { __shared: shared, ...named } = converted as Record<string, Record<string, unknown>>
  const sharedDefs = (shared?.$defs ?? {}) as Record<string, unknown>
  const components: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(sharedDefs)) components[`Shared_${name}`] = schema
  for (const [name, schema] of Object.entries(named)) {
    // a component is a schema object, not a standalone JSON Schema document
    const { $schema: _schema, $id: _id, ...rest } = schema
    components[name] = rest
  }
  return { openapi: '3.1.0', info, paths, components: { schemas: rewriteSharedRefs(components) as Record<string, unknown> } }
}

const SHARED_REF = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/

function rewriteSharedRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteSharedRefs)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (key === '$ref' && typeof item === 'string') {
        const shared = SHARED_REF.exec(item)
        return [key, shared !== null ? `#/components/schemas/Shared_${shared[1]}` : item]
      }
      return [key, rewriteSharedRefs(item)]
    }),
  )
}
