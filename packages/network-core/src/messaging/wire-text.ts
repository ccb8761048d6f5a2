// Text that crosses the wire in error replies (request/response, bulk transfer) and lands in
// the remote's logs: bounded so an error reply always fits in a frame and a peer cannot make
// another log megabytes; schema failures named by path, the same way in every protocol.
import type { z } from 'zod'

export const MAX_ERROR_MESSAGE_CHARS = 1024
export const MAX_CODE_CHARS = 64

export function truncate(text: string, max = MAX_ERROR_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text
}

/** Names every failing zod path, e.g. `items[1].name: Invalid input: expected string`. */
export function formatZodError(error: z.ZodError): string {
  return truncate(error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; '))
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)'
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

