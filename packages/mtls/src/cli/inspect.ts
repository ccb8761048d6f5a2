// `inspect`: what is in a PEM (or DER) file, for an operator checking a deployment: each
// certificate with its validity, CA flag, SANs and, for node certificates, the PeerId the
// network will see; each CRL with its serials; each private key with the PeerId it implies
// (never the key itself). `--json` gives the same data for scripts.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { decodePemBlocks, toArrayBuffer } from '../pki/pem.js'
import { x509 } from '../pki/x509.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { parseCommandArgs } from './args.js'
import { PROGRAM, print } from './console.js'
import { CliError, errorMessage, UsageError } from './errors.js'
import { readInput } from './files.js'
import { dn, isSelfSigned, toPeculiar } from './material.js'
import { rolesOfCertificate } from '../pki/roles.js'

export interface CertificateInfo {
  subject: string
  issuer: string
  serial: string
  notBefore: string
  notAfter: string
  /** At the time of inspection. */
  status: 'valid' | 'expired' | 'not-yet-valid'
  keyType: string
  isCa: boolean
  selfSigned: boolean
  subjectAltNames: string[]
  /** Only for a node (non-CA) Ed25519 certificate. */
  peerId?: string
  /** Only for a node certificate: the roles it grants (empty: roleless). */
  roles?: string[]
  sha256: string
}

export interface CrlInfo {
  issuer: string
  thisUpdate: string
  nextUpdate?: string
  /** nextUpdate has passed: nodes still apply it, but a fresh CRL is due. */
  stale: boolean
  revoked: Array<{ serial: string; date: string; reason?: string }>
}

export interface PrivateKeyInfo {
  keyType: string
  peerId?: string
}

export interface InspectResult {
  file: string
  certificates: CertificateInfo[]
  crls: CrlInfo[]
  privateKeys: PrivateKeyInfo[]
}

export async function runInspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('inspect', argv, { json: { type: 'boolean' } }, true)
  if (positionals.length !== 1) {
    throw new UsageError(`inspect: expected one FILE, got ${positionals.length} (see '${PROGRAM} inspect --help')`)
  }
  const file = positionals[0] as string
  const result = inspectContent(file, await readInput(file, 'input'), new Date())
  if (values.json === true) {
    print(JSON.stringify(result, null, 2))
  } else {
    printText(result)
  }
  return 0
}

export function inspectContent(file: string, content: Buffer, now: Date): InspectResult {
  const result: InspectResult = { file, certificates: [], crls: [], privateKeys: [] }
  const text = content.toString('latin1')
  if (text.includes('-----BEGIN ')) {
    decodePemBlocks(text).forEach((block, index) => {
      const where = `'${file}' block ${index + 1} (${block.label})`
      if (block.label === 'CERTIFICATE') {
        result.certificates.push(certificateInfo(parse(where, () => new X509Certificate(block.der)), now))
      } else if (block.label === 'X509 CRL' || block.label === 'CRL') {
        result.crls.push(crlInfo(parse(where, () => new x509.X509Crl(toArrayBuffer(block.der))), now))
      } else if (block.label === 'PRIVATE KEY') {
        result.privateKeys.push(parse(where, () => privateKeyInfo(Buffer.from(block.der))))
      }
    })
  } else {
    inspectDer(file, content, now, result)
  }
  if (result.certificates.length + result.crls.length + result.privateKeys.length === 0) {
    throw new CliError(`'${file}' holds no certificate, CRL or private key`)
  }
  return result
}

function inspectDer(file: string, content: Buffer, now: Date, result: InspectResult): void {
  try {
    result.certificates.push(certificateInfo(new X509Certificate(content), now))
    return
  } catch {
    // not a DER certificate: try a CRL
  }
  try {
    result.crls.push(crlInfo(new x509.X509Crl(toArrayBuffer(content)), now))
  } catch {
    throw new CliError(`'${file}' is neither PEM nor a DER certificate or CRL`)
  }
}

function parse<T>(where: string, build: () => T): T {
  try {
    return build()
  } catch (err) {
    throw new CliError(`${where} is malformed: ${errorMessage(err)}`)
  }
}

function certificateInfo(certificate: X509Certificate, now: Date): CertificateInfo {
  const notBefore = new Date(certificate.validFrom)
  const notAfter = new Date(certificate.validTo)
  const keyType = certificate.publicKey.asymmetricKeyType ?? 'unknown'
  const info: CertificateInfo = {
    subject: dn(certificate.subject),
    issuer: dn(certificate.issuer),
    serial: certificate.serialNumber.toLowerCase(),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    status: now < notBefore ? 'not-yet-valid' : now > notAfter ? 'expired' : 'valid',
    keyType,
    isCa: certificate.ca,
    selfSigned: isSelfSigned(certificate),
    subjectAltNames: subjectAltNames(certificate),
    sha256: certificate.fingerprint256,
  }
  if (!certificate.ca && keyType === 'ed25519') {
    info.peerId = peerIdOfCertificate(certificate).toString()
  }
  if (!certificate.ca) info.roles = [...rolesOfCertificate(certificate)]
  return info
}

const SAN_LABELS: Record<string, string> = { dns: 'DNS', ip: 'IP', email: 'email', url: 'URI' }

function subjectAltNames(certificate: X509Certificate): string[] {
  const extension = toPeculiar(certificate).getExtension(x509.SubjectAlternativeNameExtension)
  return (extension?.names.items ?? []).map((name) => `${SAN_LABELS[name.type] ?? name.type}:${name.value}`)
}

function crlInfo(crl: x509.X509Crl, now: Date): CrlInfo {
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate.toISOString(),
    ...(crl.nextUpdate === undefined ? {} : { nextUpdate: crl.nextUpdate.toISOString() }),
    stale: crl.nextUpdate !== undefined && crl.nextUpdate < now,
    revoked: crl.entries.map((entry) => ({
      serial: entry.serialNumber.toLowerCase(),
      date: entry.revocationDate.toISOString(),
      ...(entry.reason === undefined ? {} : { reason: x509.X509CrlReason[entry.reason] }),
    })),
  }
}

function privateKeyInfo(pkcs8: Buffer): PrivateKeyInfo {
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  const keyType = key.asymmetricKeyType ?? 'unknown'
  if (keyType !== 'ed25519') {
    return { keyType }
  }
  const raw = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url')
  return { keyType, peerId: peerIdFromPublicKey(publicKeyFromRaw(raw)).toString() }
}

function printText(result: InspectResult): void {
  const row = (label: string, value: string) => print(`  ${`${label}:`.padEnd(12)} ${value}`)
  result.certificates.forEach((c, i) => {
    print(`certificate ${i + 1} of ${result.certificates.length}`)
    row('subject', c.subject)
    row('issuer', c.issuer + (c.selfSigned ? ' (self-signed)' : ''))
    row('serial', c.serial)
    row('not before', c.notBefore + (c.status === 'not-yet-valid' ? ' (NOT YET VALID)' : ''))
    row('not after', c.notAfter + (c.status === 'expired' ? ' (EXPIRED)' : ''))
    row('key', c.keyType)
    row('CA', c.isCa ? 'yes' : 'no')
    row('SANs', c.subjectAltNames.length === 0 ? '(none)' : c.subjectAltNames.join(', '))
    if (c.peerId !== undefined) {
      row('PeerId', c.peerId)
    }
    if (c.roles !== undefined) {
      row('roles', c.roles.length === 0 ? '(none: roleless)' : c.roles.join(', '))
    }
    row('SHA-256', c.sha256)
  })
  result.crls.forEach((crl, i) => {
    print(`CRL ${i + 1} of ${result.crls.length}`)
    row('issuer', crl.issuer)
    row('this update', crl.thisUpdate)
    row('next update', (crl.nextUpdate ?? '(none)') + (crl.stale ? ' (STALE: publish a new CRL)' : ''))
    row('revoked', crl.revoked.length === 0 ? '(none)' : String(crl.revoked.length))
    for (const entry of crl.revoked) {
      print(`    ${entry.serial}  ${entry.date}${entry.reason === undefined ? '' : `  ${entry.reason}`}`)
    }
  })
  result.privateKeys.forEach((key, i) => {
    print(`private key ${i + 1} of ${result.privateKeys.length}`)
    row('key', key.keyType)
    if (key.peerId !== undefined) {
      row('PeerId', key.peerId)
    }
  })
}
