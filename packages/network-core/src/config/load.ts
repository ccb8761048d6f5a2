// Load: parseConfig (TOML text + env -> typed camelCase config, pure) and loadConfig (reads
// the file and checks that security files exist), both throwing one ConfigError with every issue.
import { existsSync, readFileSync } from 'node:fs'
import { parse, TomlError } from 'smol-toml'
import type { z } from 'zod'
import { applyEnvOverrides } from './env.js'
import { ConfigError, type ConfigIssue, expectedFromZod, formatPath, unknownKeyExpected } from './errors.js'
import { camelCaseConfig, shapeOf } from './introspect.js'
import { type ConfigOf, type ConfigSchema, networkConfigSchema } from './schema.js'

interface Parsed<S extends ConfigSchema> {
  config?: ConfigOf<S>
  issues: ConfigIssue[]
  /** The merged TOML + env data, before validation. */
  data: Record<string, unknown>
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = data
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

function unknownKeys(data: Record<string, unknown>, schema: z.core.$ZodType, prefix: string[], source: string): ConfigIssue[] {
  const shape = shapeOf(schema)
  if (shape === undefined) return []
  const known = Object.keys(shape)
  const issues: ConfigIssue[] = []
  for (const [key, value] of Object.entries(data)) {
    const child = shape[key]
    const path = [...prefix, key]
    if (child === undefined) {
      issues.push({ path: path.join('.'), value, expected: unknownKeyExpected(key, known), source })
    } else if (isTable(value)) {
      issues.push(...unknownKeys(value, child, path, source))
    }
  }
  return issues
}

function tomlIssue(err: unknown, source: string): ConfigIssue {
  if (err instanceof TomlError) {
    const reason = err.message.split('\n')[0]?.replace(/^Invalid TOML document:\s*/, '')
    const line = err.codeblock.split('\n').find((l) => l.trimStart().startsWith(`${err.line}:`))
    const text = line === undefined ? '' : ` near: ${line.replace(/^\s*\d+:\s?/, '').trim()}`
    return { path: '', value: undefined, expected: `TOML syntax error: ${reason}${text}`, source: `${source}:${err.line}:${err.column}` }
  }
  return { path: '', value: undefined, expected: `TOML syntax error: ${String(err)}`, source }
}

/** Like parseConfig, but returns the issues instead of throwing (used by loadConfig to add its own). */
export function collectConfig<S extends ConfigSchema>(tomlText: string, env: NodeJS.ProcessEnv, schema: S, source: string): Parsed<S> {
  const issues: ConfigIssue[] = []
  let data: Record<string, unknown> = {}
  let syntaxOk = true
  try {
    data = parse(tomlText) as Record<string, unknown>
  } catch (err) {
    issues.push(tomlIssue(err, source))
    syntaxOk = false
  }
  issues.push(...unknownKeys(data, schema, [], source))
  const overrides = applyEnvOverrides(data, env, schema)
  issues.push(...overrides.issues)
  if (!syntaxOk) return { issues, data }

  const sourceOf = (path: ReadonlyArray<PropertyKey>): string => {
    const keys = path.filter((p): p is string => typeof p === 'string')
    for (let i = keys.length; i > 0; i--) {
      const name = overrides.sources.get(keys.slice(0, i).join('.'))
      if (name !== undefined) return `env ${name}`
    }
    return source
  }
  const result = schema.safeParse(data)
  if (result.success) {
    return issues.length === 0 ? { config: camelCaseConfig(schema, result.data) as ConfigOf<S>, issues, data } : { issues, data }
  }
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') continue // reported above, with suggestions
    const value = valueAt(data, issue.path)
    issues.push({ path: formatPath(issue.path), value, expected: expectedFromZod(issue, value), source: sourceOf(issue.path) })
  }
  return { issues, data }
}

/**
 * Parses TOML text, applies HYPHA_* environment overrides and validates against `schema`.
 * Pure: does not touch the file system. Throws ConfigError listing every problem.
 */
export function parseConfig<S extends ConfigSchema = typeof networkConfigSchema>(
  tomlText: string,
  env: NodeJS.ProcessEnv = {},
  schema: S = networkConfigSchema as unknown as S,
  source = 'config',
): ConfigOf<S> {
  const parsed = collectConfig(tomlText, env, schema, source)
  if (parsed.config === undefined) throw new ConfigError(parsed.issues)
  return parsed.config
}

export interface LoadConfigOptions<S extends ConfigSchema> {
  /** TOML file to read; without it only defaults and environment apply. */
  file?: string
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv
  schema: S
}

function fileIssues(data: Record<string, unknown>, env: NodeJS.ProcessEnv, source: string): ConfigIssue[] {
  const security = data.security
  if (!isTable(security)) return []
  const issues: ConfigIssue[] = []
  const check = (path: string, envName: string, value: unknown): void => {
    if (typeof value === 'string' && value !== '' && !existsSync(value)) {
      issues.push({ path, value, expected: 'an existing file (not found)', source: env[envName] !== undefined ? `env ${envName}` : source })
    }
  }
  for (const key of ['cert', 'key', 'trust'] as const) check(`security.${key}`, `HYPHA_SECURITY__${key.toUpperCase()}`, security[key])
  const crl = security.crl
  if (Array.isArray(crl))
    crl.forEach((value, i) => {
      check(`security.crl[${i}]`, 'HYPHA_SECURITY__CRL', value)
    })
  return issues
}

/**
 * Reads `file` (if given), applies environment overrides, validates, and checks that the
 * security files it names exist. Relative paths are relative to the working directory.
 */
export function loadConfig<S extends ConfigSchema>(options: LoadConfigOptions<S>): ConfigOf<S> {
  const env = options.env ?? process.env
  const source = options.file ?? 'defaults'
  let text = ''
  if (options.file !== undefined) {
    try {
      text = readFileSync(options.file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const reason = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : String(err)
      throw new ConfigError([{ path: '', value: undefined, expected: `cannot read configuration file (${reason})`, source: options.file }])
    }
  }
  const parsed = collectConfig(text, env, options.schema, source)
  const issues = [...parsed.issues, ...fileIssues(parsed.data, env, source)]
  if (issues.length > 0 || parsed.config === undefined) throw new ConfigError(issues)
  return parsed.config
}
