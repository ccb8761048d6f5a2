// Example: renders an annotated example TOML file from a config schema (every key, its
// default and a one-line comment), which the apps print with `init`.
import type { z } from 'zod'
import { envName } from './env.js'
import { defaultOf, metaOf, shapeOf } from './introspect.js'
import { type ConfigSchema, networkConfigSchema } from './schema.js'

function tomlValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`
  return JSON.stringify(value)
}

function renderTable(schema: z.core.$ZodType, path: string[], lines: string[]): void {
  const shape = shapeOf(schema)
  if (shape === undefined) return
  const leaves = Object.entries(shape).filter(([, child]) => shapeOf(child) === undefined)
  const tables = Object.entries(shape).filter(([, child]) => shapeOf(child) !== undefined)
  if (path.length > 0 && leaves.length > 0) {
    const description = metaOf(schema).description
    lines.push('', ...(description === undefined ? [] : [`# ${description}`]), `[${path.join('.')}]`)
  }
  for (const [key, child] of leaves) {
    const meta = metaOf(child)
    const fallback = defaultOf(child)
    const env = envName([...path, key])
    const note = fallback === undefined ? 'no default' : `default ${tomlValue(fallback.value)}`
    lines.push(`# ${meta.description ?? key} (${note}; env ${env})`)
    if (meta.example !== undefined) lines.push(`${key} = ${tomlValue(meta.example)}`)
    else if (fallback !== undefined) lines.push(`${key} = ${tomlValue(fallback.value)}`)
    else lines.push(`# ${key} =`)
  }
  for (const [key, child] of tables) renderTable(child, [...path, key], lines)
}

/**
 * An annotated example configuration for `role` (a name for the header), generated from
 * `schema` so that it always lists every key with its current default. It parses with parseConfig.
 */
export function exampleConfig(role?: string, schema: ConfigSchema = networkConfigSchema): string {
  const lines = [
    `# Hypha ${role ?? 'node'} configuration (TOML).`,
    '# Every key is optional unless noted; the values shown are the defaults.',
    '# Any key can be overridden by an environment variable, e.g. HYPHA_NETWORK__MAX_CONNECTIONS=200.',
    '# Durations: "500ms", "10s", "5m", "1h" or integer milliseconds. Sizes: "64KiB", "4MiB", "1GB" or integer bytes.',
  ]
  renderTable(schema, [], lines)
  return `${lines.join('\n')}\n`
}
