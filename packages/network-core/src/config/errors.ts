// Errors: ConfigError and its issue list, the one-line-per-problem message format, and the
// translation of zod issues and unknown keys into issues that name key, value and expectation.
import type { z } from 'zod'

export interface ConfigIssue {
  /** Dotted key path as written in TOML, e.g. `network.transport.dial_timeout` or `network.listen_addresses[1]`. */
  path: string
  /** The offending value (undefined when the key is missing). */
  value: unknown
  /** What was expected, or how to fix it. */
  expected: string
  /** Where the value came from: the file name, `env HYPHA_...`, or `defaults`. */
  source: string
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[]) {
    super(formatIssues(issues))
    this.issues = issues
    // A configuration mistake is the user's, not the code's: print the list, not a stack trace.
    this.stack = `${this.name}: ${this.message}`
  }
}

export function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)'
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    text = String(value)
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

export function formatIssue(issue: ConfigIssue): string {
  if (issue.path === '') return `  ${issue.source}: ${issue.expected}`
  return `  ${issue.path} = ${formatValue(issue.value)} (${issue.source}): ${issue.expected}`
}

export function formatIssues(issues: ConfigIssue[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  return [`Invalid configuration (${count}):`, ...issues.map(formatIssue)].join('\n')
}

/** `['network', 'listen_addresses', 1]` -> `network.listen_addresses[1]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The closest known key within edit distance 2, if any. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

export function unknownKeyExpected(key: string, known: readonly string[]): string {
  const suggestion = suggestKey(key, known)
  const list = known.length > 0 ? `known keys here: ${known.join(', ')}` : 'this section takes no keys'
  return suggestion === undefined ? `unknown key (${list})` : `unknown key: did you mean "${suggestion}"?`
}

function describeType(expected: string): string {
  switch (expected) {
    case 'boolean':
      return 'true or false'
    case 'int':
      return 'an integer'
    case 'number':
      return 'a number'
    case 'string':
      return 'a string'
    case 'array':
      return 'a list'
    case 'object':
      return 'a table'
    case 'record':
      return 'a table of key = value (in the environment: key=value,key2=value2)'
    default:
      return expected
  }
}

/** What a zod issue expected, phrased for a person editing a TOML file. */
export function expectedFromZod(issue: z.core.$ZodIssue, value: unknown): string {
  // A schema's own `error` text (not one of zod's defaults) already says what is expected.
  const custom = !/^(Invalid|Too small|Too big|Unrecognized)/.test(issue.message)
  const required = value === undefined ? ' (required)' : ''
  if (issue.code === 'custom' || custom) return issue.message + (issue.code === 'invalid_type' ? required : '')
  switch (issue.code) {
    case 'invalid_type':
      return describeType(issue.expected) + required
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'too_small': {
      const what = issue.origin === 'array' ? 'a list with at least' : 'a value >='
      return `${what} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`
    }
    case 'too_big': {
      const what = issue.origin === 'array' ? 'a list with at most' : 'a value <='
      return `${what} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`
    }
    default:
      return issue.message
  }
}
