// `init`: the role's annotated example configuration, to stdout or a file (never overwriting
// one without --force). `-n NAME` points the [security] paths at the files hypha-certutil and
// writeDevPki produce for a node called NAME: certs/NAME-cert.pem, certs/NAME-key.pem,
// certs/NAME-trust.pem.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type ConfigSchema, exampleConfig } from '@hypha/network-core'
import { UsageError } from './errors.js'

export interface InitOptions {
  role: string
  schema: ConfigSchema
  output?: string
  name?: string
  force?: boolean
}

export function initConfigText(options: Pick<InitOptions, 'role' | 'schema' | 'name'>): string {
  const text = exampleConfig(options.role, options.schema)
  const name = options.name
  if (name === undefined) return text
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`invalid node name "${name}": use letters, digits, ".", "_" or "-"`)
  return text
    .replace('"certs/node.crt"', `"certs/${name}-cert.pem"`)
    .replace('"certs/node.key"', `"certs/${name}-key.pem"`)
    .replace('"certs/trust.pem"', `"certs/${name}-trust.pem"`)
}

/** Writes the example; returns the file written (undefined when printed to stdout). */
export async function initCommand(options: InitOptions): Promise<string | undefined> {
  const text = initConfigText(options)
  if (options.output === undefined || options.output === '-') {
    process.stdout.write(text)
    return undefined
  }
  if (existsSync(options.output) && options.force !== true) {
    throw new UsageError(`${options.output} already exists (use --force to overwrite it)`)
  }
  await mkdir(dirname(options.output), { recursive: true })
  await writeFile(options.output, text)
  return options.output
}
