// GET a node's JSON and check it is what a Hypha node answers: a wrong URL (another service,
// an old node) fails with what was expected instead of a table of undefined.
import type { z } from 'zod'
import { InspectError, UsageError } from './errors.js'

const TIMEOUT_MS = 10_000

/** "http://host:port" from what the operator typed ("host:port" is taken as http). */
export function baseUrl(text: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `http://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`'${text}' is not a URL (expected http://HOST:PORT of a node's HTTP server)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`'${text}': only http:// and https:// URLs`)
  return url.toString().replace(/\/+$/, '')
}

export async function getJson<S extends z.ZodType>(url: string, schema: S, what: string): Promise<z.infer<S>> {
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    throw new InspectError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
  }
  const text = await response.text()
  if (!response.ok) throw new InspectError(`${url} answered ${response.status}: ${text.slice(0, 200)}`)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new InspectError(`${url} did not answer JSON: is it a Hypha node's HTTP address?`)
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    throw new InspectError(
      `${url} did not answer ${what} (${first?.path.join('.') || 'body'}: ${first?.message}): is it a Hypha node of this version?`,
    )
  }
  return parsed.data
}
