// Command-line parsing shared by the commands: node:util parseArgs in strict mode, with its
// errors turned into one-line usage errors that name the command, plus the checks of values
// (--days, names used in file names, comma-separated lists).
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import { fileStemProblem } from '../pki/output-files.js'
import { PROGRAM } from './console.js'
import { errorMessage, UsageError } from './errors.js'

/** Longest validity accepted by --days (100 years); X.509 dates end at 9999 anyway. */
const MAX_DAYS = 36_500

export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals })
  } catch (err) {
    // parseArgs messages can span lines ("... is ambiguous.\nDid you forget ..."): the first says it.
    const first = errorMessage(err).split('\n')[0]?.replace(/\.$/, '') ?? ''
    throw new UsageError(`${command}: ${first} (see '${PROGRAM} ${command} --help')`)
  }
}

/** True when --help or -h appears before a `--` terminator. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')
}

export function required(command: string, value: string | undefined, flag: string): string {
  if (value === undefined || value === '') {
    throw new UsageError(`${command}: missing required option ${flag} (see '${PROGRAM} ${command} --help')`)
  }
  return value
}

/** --days N: a positive whole number of days. */
export function parseDays(value: string | undefined, flag = '--days'): number | undefined {
  if (value === undefined) {
    return undefined
  }
  const days = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new UsageError(`${flag} must be a positive whole number of days, got '${value}'`)
  }
  if (days > MAX_DAYS) {
    throw new UsageError(`${flag} must be at most ${MAX_DAYS} days, got '${value}'`)
  }
  return days
}

/** A name that becomes part of output file names (-o ORG, -n NAME). */
export function fileStem(value: string, flag: string): string {
  const problem = fileStemProblem(value)
  if (problem !== undefined) {
    throw new UsageError(`${flag} '${value}' ${problem}: it is used in file names`)
  }
  return value
}

/** `-s a,b -s c` -> [a, b, c]; blanks dropped. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
}
