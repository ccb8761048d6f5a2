// Introspection: walks a zod config schema to find sections, leaf kinds, defaults and
// descriptions, so env coercion, unknown-key checks and the example file follow one schema.
import { z } from 'zod'

type AnySchema = z.core.$ZodType

/** How an environment variable's text is coerced for a key. */
export type LeafKind = 'boolean' | 'number' | 'string' | 'unit' | 'list' | 'table'

function def(schema: AnySchema): z.core.$ZodTypeDef & Record<string, unknown> {
  return schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>
}

/** Strips default/prefault/optional/nullable wrappers (not transforms). */
export function unwrap(schema: AnySchema): AnySchema {
  let current = schema
  for (;;) {
    const d = def(current)
    if (d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable' || d.type === 'readonly') {
      current = d.innerType as AnySchema
    } else {
      return current
    }
  }
}

/** The object shape of a (possibly wrapped) object schema, or undefined for a leaf. */
export function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const inner = unwrap(schema)
  const d = def(inner)
  if (d.type === 'object') return d.shape as Record<string, AnySchema>
  if (d.type === 'pipe') {
    const input = def(d.in as AnySchema)
    if (input.type === 'object') return shapeOf(d.in as AnySchema)
  }
  return undefined
}

/** The kind of value a leaf expects, for coercing environment text. */
export function leafKind(schema: AnySchema): LeafKind {
  const d = def(unwrap(schema))
  switch (d.type) {
    case 'boolean':
      return 'boolean'
    case 'number':
    case 'int':
      return 'number'
    case 'array':
      return 'list'
    case 'record':
      return 'table'
    case 'string':
    case 'enum':
    case 'literal':
      return 'string'
    default:
      return 'unit'
  }
}

/** The declared default (input form) of a field, if it has one. */
export function defaultOf(schema: AnySchema): { value: unknown } | undefined {
  let current = schema
  for (;;) {
    const d = def(current)
    if (d.type === 'default' || d.type === 'prefault') return { value: d.defaultValue }
    if (d.type === 'optional' || d.type === 'nullable' || d.type === 'readonly') {
      current = d.innerType as AnySchema
      continue
    }
    return undefined
  }
}

export interface FieldMeta {
  description?: string
  /** A value to show in the example file for a key without a default. */
  example?: unknown
}

/** Description and example registered with `.meta()` / `.describe()` at any wrapper level. */
export function metaOf(schema: AnySchema): FieldMeta {
  let current: AnySchema | undefined = schema
  const out: FieldMeta = {}
  while (current !== undefined) {
    const meta = z.globalRegistry.get(current)
    if (meta !== undefined) {
      if (out.description === undefined && typeof meta.description === 'string') out.description = meta.description
      if (out.example === undefined && meta.example !== undefined) out.example = meta.example
    }
    const d = def(current)
    current =
      d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable' || d.type === 'readonly'
        ? (d.innerType as AnySchema)
        : undefined
  }
  return out
}

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * The parsed configuration with snake_case keys renamed to camelCase, walking the schema
 * alongside: the keys of a table the schema declares as a record (user-chosen names such as
 * executor names, labels or environment variables) are kept exactly as written.
 */
export function camelCaseConfig(schema: AnySchema, value: unknown): unknown {
  const inner = unwrap(schema)
  const d = def(inner)
  if (d.type === 'pipe') {
    // a transform's output is what the value is now; its input still says what it was
    const out = def(unwrap(d.out as AnySchema))
    return camelCaseConfig((out.type === 'object' || out.type === 'record' || out.type === 'array' ? d.out : d.in) as AnySchema, value)
  }
  if (Array.isArray(value)) {
    return d.type === 'array' ? value.map((item) => camelCaseConfig(d.element as AnySchema, item)) : value
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value
  if (d.type === 'record') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, camelCaseConfig(d.valueType as AnySchema, v)]))
  }
  const shape = d.type === 'object' ? (d.shape as Record<string, AnySchema>) : undefined
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      const field = shape?.[k]
      return [camel(k), field === undefined ? v : camelCaseConfig(field, v)]
    }),
  )
}
