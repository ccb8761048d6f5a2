// Reading the operator's input files with errors that name the file, and writing outputs:
// private keys mode 0600 and never silently replaced, certificates and CRLs 0644. Every file
// is written to a temporary name and renamed into place, because running nodes watch their
// certificate and CRL files and must never load a half-written one.
import { createPrivateKey, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { print } from './console.js'
import { CliError, errorCode, errorMessage } from './errors.js'

const KEY_MODE = 0o600
const PUBLIC_MODE = 0o644

/** Reads a file the operator named; `what` says what it should be ("CA certificate"). */
export async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new CliError(describeReadError(err, path, what))
  }
}

export async function readInputText(path: string, what: string): Promise<string> {
  return (await readInput(path, what)).toString('utf8')
}

function describeReadError(err: unknown, path: string, what: string): string {
  switch (errorCode(err)) {
    case 'ENOENT':
      return `${what} file '${path}' does not exist`
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${what} file '${path}': permission denied`
    case 'EISDIR':
      return `${what} file '${path}' is a directory, not a file`
    default:
      return `cannot read ${what} file '${path}': ${errorMessage(err)}`
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return false
    }
    throw new CliError(`cannot check '${path}': ${errorMessage(err)}`)
  }
}

export interface OutputFile {
  path: string
  content: string
  /** Private keys get mode 0600 and are not replaced without --force. */
  secret: boolean
  /** Shown after the path, e.g. "root CA certificate". */
  label: string
}

export async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new CliError(`cannot create output directory '${dir}': ${errorMessage(err)}`)
  }
}

/**
 * Writes a command's outputs. Key files that exist with different content are refused unless
 * `force`, checked for all files before any is written so a refusal leaves nothing half done.
 * A key file that already holds exactly this key (same-key renewal in place) is kept.
 */
export async function writeOutputs(files: readonly OutputFile[], force: boolean): Promise<void> {
  const unchanged = new Set<string>()
  for (const file of files.filter((f) => f.secret)) {
    const existing = await readExisting(file.path)
    if (existing === undefined) {
      continue
    }
    if (existing === file.content || samePrivateKey(existing, file.content)) {
      unchanged.add(file.path)
    } else if (!force) {
      throw new CliError(`refusing to overwrite existing key file '${file.path}' (use --force to replace it)`)
    }
  }
  for (const file of files) {
    if (unchanged.has(file.path)) {
      await chmodOrFail(file.path, KEY_MODE)
      print(`kept   ${file.path} (${file.label}, unchanged)`)
      continue
    }
    await writeAtomically(file.path, file.content, file.secret ? KEY_MODE : PUBLIC_MODE)
    print(`wrote  ${file.path} (${file.label}${file.secret ? ', mode 0600' : ''})`)
  }
}

/** Whether two PEM texts hold the same private key (formatting aside). */
function samePrivateKey(a: string, b: string): boolean {
  try {
    const der = (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' })
    return der(a).equals(der(b))
  } catch {
    return false
  }
}

async function readExisting(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return undefined
    }
    throw new CliError(`cannot read existing file '${path}': ${errorMessage(err)}`)
  }
}

/** Creates a temporary file with `mode` from the start (no window where a key is readable), then renames it over `path`. */
export async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' })
    await chmod(temporary, mode) // the umask may have cleared bits of `mode`; be explicit
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw new CliError(`cannot write '${path}': ${errorMessage(err)}`)
  }
}

async function chmodOrFail(path: string, mode: number): Promise<void> {
  try {
    await chmod(path, mode)
  } catch (err) {
    throw new CliError(`cannot set the mode of '${path}': ${errorMessage(err)}`)
  }
}
