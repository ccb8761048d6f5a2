// `root`: creates the self-signed root CA of a Hypha network. The root only signs
// organisation CAs (path length 1), so its key can stay offline after `org` has run.
import { join } from 'node:path'
import { createRootCa, exportPrivateKeyPem } from '../pki/authority.js'
import { rootCaFileNames } from '../pki/output-files.js'
import { fileStem, parseCommandArgs, parseDays, required } from './args.js'
import { print } from './console.js'
import { UsageError } from './errors.js'
import { ensureDirectory, writeOutputs } from './files.js'
import { dn, fromPeculiar, toPem } from './material.js'

const OPTIONS = {
  organization: { type: 'string', short: 'o' },
  org: { type: 'string' },
  name: { type: 'string', short: 'n' },
  country: { type: 'string' },
  dir: { type: 'string', short: 'd' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const

export async function runRoot(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('root', argv, OPTIONS)
  const organisation = fileStem(
    required('root', values.organization ?? values.org, '-o/--organization'),
    '-o/--organization',
  )
  const country = parseCountry(values.country)
  const days = parseDays(values.days)
  const dir = values.dir ?? '.'
  const names = rootCaFileNames(organisation)

  await ensureDirectory(dir)
  const root = await createRootCa({ organisation, commonName: values.name, country, days })
  const certificate = fromPeculiar(root.certificate)
  await writeOutputs(
    [
      { path: join(dir, names.cert), content: toPem([certificate]), secret: false, label: 'root CA certificate' },
      {
        path: join(dir, names.key),
        content: await exportPrivateKeyPem(root.keys.privateKey),
        secret: true,
        label: 'root CA private key',
      },
    ],
    values.force ?? false,
  )
  print(`root CA "${dn(certificate.subject)}" valid until ${new Date(certificate.validTo).toISOString()}`)
  return 0
}

function parseCountry(value: string | undefined): string | undefined {
  if (value === undefined) {
    return undefined
  }
  if (!/^[A-Za-z]{2}$/.test(value)) {
    throw new UsageError(`--country must be a two-letter country code (ISO 3166), got '${value}'`)
  }
  return value.toUpperCase()
}
