// Helpers for the certutil tests (compiled with them; the CLI does not use this module): run
// main() in-process with stdout/stderr captured, temporary directories, and openssl detection.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeCertificates } from '../pki/pem.js'
import { main } from './certutil.js'

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

type Write = typeof process.stdout.write

/** Runs `hypha-certutil argv...` in this process, capturing what it writes. */
export async function certutil(...argv: string[]): Promise<RunResult> {
  const stdout: string[] = []
  const stderr: string[] = []
  const capture =
    (sink: string[]): Write =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const callback = rest.find((arg): arg is () => void => typeof arg === 'function')
      callback?.()
      return true
    }
  const originalOut = process.stdout.write
  const originalErr = process.stderr.write
  process.stdout.write = capture(stdout)
  process.stderr.write = capture(stderr)
  let code: number
  try {
    code = await main(argv)
  } finally {
    process.stdout.write = originalOut
    process.stderr.write = originalErr
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') }
}

/** Fails with the captured output when the command did not succeed (a readable test failure). */
export async function ok(...argv: string[]): Promise<RunResult> {
  const result = await certutil(...argv)
  if (result.code !== 0) {
    throw new Error(`hypha-certutil ${argv.join(' ')} exited ${result.code}: ${result.stderr}`)
  }
  return result
}

export function errorLines(result: RunResult): string[] {
  return result.stderr.split('\n').filter((line) => line !== '')
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `hypha-certutil-${prefix}-`))
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) {
    await rm(dir, { recursive: true, force: true })
  }
}

export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

export async function readCertificateDers(path: string): Promise<Uint8Array[]> {
  return decodeCertificates(await readFile(path, 'utf8'))
}

export const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0

export function openssl(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}
