// `node`: issues a node certificate (its key is the node's libp2p key, so the certificate
// fixes the PeerId) and writes what a node loads: its chain (node certificate + intermediates,
// never the root), its key, and the trust bundle. `--key` certifies an existing key instead of
// generating one: same-key renewal, which keeps the PeerId.
import type { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { createNodeCertificate, exportPrivateKeyPem } from '../pki/authority.js'
import { isCertificateRole, NODE_ROLES } from '../pki/roles.js'
import { nodeFileNames, trustBundleSiblingOf } from '../pki/output-files.js'
import { CertificateVerifier } from '../verify/chain-verifier.js'
import { isRefusal } from '../verify/errors.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { RevocationList } from '../verify/revocation.js'
import { fileStem, parseCommandArgs, parseDays, required, splitList } from './args.js'
import { print, warn } from './console.js'
import { CliError, UsageError } from './errors.js'
import { ensureDirectory, exists, writeOutputs } from './files.js'
import {
  fromPeculiar,
  isSelfSigned,
  type LoadedCa,
  outlivesIssuer,
  readCa,
  readCertificates,
  readEd25519Key,
  toPem,
} from './material.js'

const OPTIONS = {
  name: { type: 'string', short: 'n' },
  'ca-cert': { type: 'string' },
  'ca-key': { type: 'string' },
  san: { type: 'string', short: 's', multiple: true },
  role: { type: 'string', short: 'r', multiple: true },
  key: { type: 'string' },
  trust: { type: 'string' },
  dir: { type: 'string', short: 'd' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const

/** Letters, digits, hyphens, underscores, dots and a leading wildcard label: what a DNS SAN may hold. */
const DNS_NAME = /^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/

export async function runNode(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('node', argv, OPTIONS)
  const name = fileStem(required('node', values.name, '-n/--name'), '-n/--name')
  const caCertPath = required('node', values['ca-cert'], '--ca-cert')
  const caKeyPath = required('node', values['ca-key'], '--ca-key')
  const subjectAltNames = splitList(values.san)
  for (const [flag, value] of [['-n/--name', name], ...subjectAltNames.map((san) => ['-s/--san', san])] as const) {
    if (isIP(value) === 0 && !DNS_NAME.test(value)) {
      throw new UsageError(`${flag} '${value}' is neither a DNS name nor an IP address (it goes into the certificate's SANs)`)
    }
  }
  const roles = splitList(values.role)
  for (const role of roles) {
    if (!isCertificateRole(role)) throw new UsageError(`-r/--role '${role}' is not a role: expected ${NODE_ROLES.join(', ')}`)
  }
  const days = parseDays(values.days)
  const dir = values.dir ?? '.'
  const names = nodeFileNames(name)

  const ca = await readCa(caCertPath, caKeyPath, 'CA')
  const existingKey = values.key === undefined ? undefined : await readEd25519Key(values.key, 'node key')
  const trust = await resolveTrust(values.trust, ca, caCertPath)

  const issued = await createNodeCertificate(ca.issuer, {
    name,
    subjectAltNames,
    roles: roles.filter(isCertificateRole),
    days,
    keys: existingKey === undefined ? undefined : { privateKey: existingKey.privateKey, publicKey: existingKey.publicKey },
  })
  const leaf = fromPeculiar(issued.certificate)
  // What the node presents: itself and the CAs between it and the root (peers need the intermediates).
  const chain = [leaf, ...(isSelfSigned(ca.certificate) ? [] : [ca.certificate, ...ca.bundled.filter((c) => !isSelfSigned(c))])]
  await checkVerifies(chain, trust)

  await ensureDirectory(dir)
  await writeOutputs(
    [
      { path: join(dir, names.cert), content: toPem(chain), secret: false, label: 'node certificate chain' },
      {
        path: join(dir, names.key),
        content: existingKey?.pem ?? (await exportPrivateKeyPem(issued.keys.privateKey)),
        secret: true,
        label: existingKey === undefined ? 'node private key' : `node private key from ${values.key ?? ''}`,
      },
      { path: join(dir, names.trust), content: toPem(trust.certificates), secret: false, label: `trust bundle from ${trust.source}` },
    ],
    values.force ?? false,
  )
  const outlives = outlivesIssuer(leaf, ca.certificate)
  if (outlives !== undefined) {
    warn(outlives)
  }
  print(`node "${name}" valid until ${new Date(leaf.validTo).toISOString()}`)
  print(`PeerId: ${peerIdOfCertificate(leaf).toString()}`)
  print(`roles: ${roles.length > 0 ? [...new Set(roles)].join(', ') : '(none: a roleless certificate)'}`)
  return 0
}

interface Trust {
  certificates: X509Certificate[]
  /** Where the bundle came from, for messages. */
  source: string
}

/** The CA chain up to the root for NAME-trust.pem (see the usage text for the order of choices). */
async function resolveTrust(trustPath: string | undefined, ca: LoadedCa, caCertPath: string): Promise<Trust> {
  if (trustPath !== undefined) {
    return { certificates: await readCertificates(trustPath, 'trust bundle'), source: trustPath }
  }
  if (isSelfSigned(ca.certificate)) {
    return { certificates: [ca.certificate], source: caCertPath }
  }
  if (ca.bundled.some(isSelfSigned)) {
    return { certificates: [ca.certificate, ...ca.bundled], source: caCertPath }
  }
  const sibling = trustBundleSiblingOf(caCertPath)
  if (sibling !== undefined && (await exists(sibling))) {
    return { certificates: await readCertificates(sibling, 'trust bundle'), source: sibling }
  }
  throw new CliError(
    `cannot find the root CA above '${caCertPath}'${sibling === undefined ? '' : ` ('${sibling}' does not exist)`}: ` +
      'pass --trust FILE with the CA chain up to the root (e.g. the ORG-ca-trust.pem written by `org`)',
  )
}

/** Refuses to write a certificate that the trust bundle it ships with would not accept. */
async function checkVerifies(chain: X509Certificate[], trust: Trust): Promise<void> {
  const verifier = new CertificateVerifier({ trustAnchors: trust.certificates, revocation: RevocationList.empty() })
  try {
    await verifier.verify(chain.map((c) => new Uint8Array(c.raw)))
  } catch (err) {
    if (isRefusal(err)) {
      throw new CliError(`the new certificate does not verify against the trust bundle from '${trust.source}': ${err.message}`)
    }
    throw err
  }
}
