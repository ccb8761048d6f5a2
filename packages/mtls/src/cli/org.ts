// `org`: creates an organisation (intermediate) CA signed by the root, and the trust bundle
// (organisation CA + root) that the organisation's nodes load as their CA file.
import { join } from 'node:path'
import { createIntermediateCa, exportPrivateKeyPem } from '../pki/authority.js'
import { organisationCaFileNames } from '../pki/output-files.js'
import { fileStem, parseCommandArgs, parseDays, required } from './args.js'
import { print, warn } from './console.js'
import { ensureDirectory, writeOutputs } from './files.js'
import { dn, fromPeculiar, outlivesIssuer, readCa, toPem } from './material.js'

const OPTIONS = {
  'root-cert': { type: 'string' },
  'root-key': { type: 'string' },
  organization: { type: 'string', short: 'o' },
  org: { type: 'string' },
  name: { type: 'string', short: 'n' },
  dir: { type: 'string', short: 'd' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const

export async function runOrg(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('org', argv, OPTIONS)
  const rootCertPath = required('org', values['root-cert'], '--root-cert')
  const rootKeyPath = required('org', values['root-key'], '--root-key')
  const organisation = fileStem(
    required('org', values.organization ?? values.org, '-o/--organization'),
    '-o/--organization',
  )
  const days = parseDays(values.days)
  const dir = values.dir ?? '.'
  const names = organisationCaFileNames(organisation)

  const root = await readCa(rootCertPath, rootKeyPath, 'root CA')
  await ensureDirectory(dir)
  const ca = await createIntermediateCa(root.issuer, { organisation, commonName: values.name, days })
  const certificate = fromPeculiar(ca.certificate)
  await writeOutputs(
    [
      { path: join(dir, names.cert), content: toPem([certificate]), secret: false, label: 'organisation CA certificate' },
      {
        path: join(dir, names.key),
        content: await exportPrivateKeyPem(ca.keys.privateKey),
        secret: true,
        label: 'organisation CA private key',
      },
      {
        path: join(dir, names.trust),
        content: toPem([certificate, root.certificate, ...root.bundled]),
        secret: false,
        label: 'trust bundle: organisation CA + root',
      },
    ],
    values.force ?? false,
  )
  const outlives = outlivesIssuer(certificate, root.certificate)
  if (outlives !== undefined) {
    warn(outlives)
  }
  print(`organisation CA "${dn(certificate.subject)}" valid until ${new Date(certificate.validTo).toISOString()}`)
  return 0
}
