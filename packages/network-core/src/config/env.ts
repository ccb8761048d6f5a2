// Env: applies HYPHA_SECTION__KEY=value overrides at any depth onto the raw TOML data,
// coercing text by the schema's expected type and reporting variables that name no key.
import type { z } from 'zod'
import { type ConfigIssue, unknownKeyExpected } from './errors.js'
import { leafKind, shapeOf } from './introspect.js'

export const ENV_PREFIX = 'HYPHA_'

export interface EnvOverrides {
  /** Dotted key path (as in TOML) -> name of the variable that set it. */
  sources: Map<string, string>
  issues: ConfigIssue[]
}

/** The variable that overrides a key path: `network.transport.quic_enabled` -> HYPHA_NETWORK__TRANSPORT__QUIC_ENABLED. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.toUpperCase()).join('__')
}

function coerce(text: string, kind: ReturnType<typeof leafKind>): unknown {
  const trimmed = text.trim()
  switch (kind) {
    case 'boolean': {
      const lower = trimmed.toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(lower)) return true
      if (['false', '0', 'no', 'off'].includes(lower)) return false
      return text
    }
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : text
    case 'unit':
      return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed
    case 'list':
      return trimmed === ''
        ? []
        : trimmed
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '')
    case 'table': {
      // `key=value,key2=value2` (e.g. HYPHA_WORKER__LABELS=gpu=a100,zone=eu); anything else is
      // passed on as text, so the error names the variable and the expected form
      if (trimmed === '') return {}
      const pairs = trimmed.split(',').map((item) => item.trim()).filter((item) => item !== '')
      if (!pairs.every((pair) => /^[^=]+=/.test(pair))) return text
      return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]))
    }
    case 'string':
      return text
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
}

/**
 * Writes overrides into `data` (mutated). Only variables that start with HYPHA_ and contain
 * `__` are overrides; others (HYPHA_CONFIG, HYPHA_LOG_LEVEL...) are left to the apps.
 */
export function applyEnvOverrides(data: Record<string, unknown>, env: NodeJS.ProcessEnv, schema: z.core.$ZodType): EnvOverrides {
  const sources = new Map<string, string>()
  const issues: ConfigIssue[] = []
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX) && n.includes('__'))
    .sort()
  for (const name of names) {
    const text = env[name]
    if (text === undefined) continue
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__')
    // Resolve the whole path against the schema first, then write: a bad variable changes nothing.
    let node: z.core.$ZodType = schema
    let problem: string | undefined
    let at = path.length
    for (let i = 0; i < path.length && problem === undefined; i++) {
      const key = path[i]!
      const shape = shapeOf(node)
      const child = shape?.[key]
      if (shape === undefined || child === undefined) {
        problem =
          shape === undefined
            ? `${path.slice(0, i).join('.')} is not a section, so ${name} names no key`
            : `${name} names no configuration key: ${unknownKeyExpected(key, Object.keys(shape))}`
        at = i + 1
      } else {
        node = child
      }
    }
    if (problem === undefined && shapeOf(node) !== undefined) {
      const first = Object.keys(shapeOf(node) ?? {})[0] ?? 'key'
      problem = `${name} names the section [${path.join('.')}], not a key: set one variable per key, e.g. ${envName([...path, first])}`
    }
    if (problem !== undefined) {
      issues.push({ path: path.slice(0, at).join('.'), value: text, expected: problem, source: `env ${name}` })
      continue
    }
    let target = data
    for (const key of path.slice(0, -1)) {
      if (!isTable(target[key])) target[key] = {}
      target = target[key] as Record<string, unknown>
    }
    target[path[path.length - 1]!] = coerce(text, leafKind(node))
    sources.set(path.join('.'), name)
  }
  return { sources, issues }
}
