// Units: parses human-friendly durations ("500ms", "10s", "5m", "1h") and sizes ("64KiB",
// "4MiB", "1GB") into milliseconds and bytes, plus the zod schemas built on those parsers.
import { z } from 'zod'

export const DURATION_EXPECTED = 'a duration such as "500ms", "10s", "5m", "1h" or an integer of milliseconds'
export const SIZE_EXPECTED = 'a size such as "64KiB", "4MiB", "1GiB", "1MB" or an integer of bytes'
export const RATE_EXPECTED = 'a size per second such as "10MiB" (or "10MiB/s"), an integer of bytes per second, or 0 for unlimited'

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
}

function parseWithUnits(input: unknown, units: Record<string, number>, lowerCase: boolean): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined
  }
  if (typeof input !== 'string') return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$/.exec(input)
  if (match === null) return undefined
  const unit = lowerCase ? (match[2] ?? '').toLowerCase() : (match[2] ?? '')
  const factor = units[unit]
  if (factor === undefined) return undefined
  const value = Math.round(Number(match[1]) * factor)
  return Number.isSafeInteger(value) ? value : undefined
}

/** Milliseconds for "500ms", "1.5s", "5m", "1h", "2d" or a non-negative integer; undefined if invalid. */
export function parseDuration(input: unknown): number | undefined {
  return parseWithUnits(input, DURATION_UNITS, false)
}

/** Bytes for "64KiB", "4MiB", "1GB", "512B" (units case-insensitive) or a non-negative integer. */
export function parseSize(input: unknown): number | undefined {
  return parseWithUnits(input, SIZE_UNITS, true)
}

/** Bytes per second: a size with an optional "/s" suffix; 0 means unlimited. */
export function parseRate(input: unknown): number | undefined {
  if (typeof input === 'string') return parseSize(input.replace(/\s*\/\s*s\s*$/i, ''))
  return parseSize(input)
}

function unitSchema(parse: (input: unknown) => number | undefined, expected: string) {
  return z.unknown().transform((input, ctx): number => {
    const parsed = parse(input)
    if (parsed === undefined) {
      const hint =
        typeof input === 'string' && /^\s*\d+\s*$/.test(input) ? ' (a quoted number needs a unit; write the integer without quotes)' : ''
      ctx.addIssue({ code: 'custom', message: expected + hint, input })
      return z.NEVER
    }
    return parsed
  })
}

/** A duration in milliseconds. */
export const durationSchema = (): z.ZodPipe<z.ZodUnknown, z.ZodTransform<number, unknown>> => unitSchema(parseDuration, DURATION_EXPECTED)
/** A size in bytes. */
export const sizeSchema = (): z.ZodPipe<z.ZodUnknown, z.ZodTransform<number, unknown>> => unitSchema(parseSize, SIZE_EXPECTED)
/** A size per second in bytes per second (0 = unlimited). */
export const rateSchema = (): z.ZodPipe<z.ZodUnknown, z.ZodTransform<number, unknown>> => unitSchema(parseRate, RATE_EXPECTED)
