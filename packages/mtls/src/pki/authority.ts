// Issues the Ed25519 hierarchy: root CA -> organisation (intermediate) CA -> node
// certificates, and CRLs. Used by the certutil CLI and by tests; production may use any PKI
// that issues Ed25519 certificates with the same profile.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { decodePemBlocks, encodePem, toArrayBuffer } from './pem.js'
import { ED25519, nodeCrypto, subtle, x509 } from './x509.js'
import { type CertificateRole, roleUri } from './roles.js'

const DAY_MS = 86_400_000
/** Certificates are back-dated a little so that clocks a few minutes apart still agree. */
const CLOCK_SKEW_MS = 5 * 60_000

export interface Issuer {
  certificate: x509.X509Certificate
  privateKey: CryptoKey
  /** Certificates above the issuer (its own issuers), excluding self-signed roots. */
  chain: x509.X509Certificate[]
}

export interface IssuedCertificate {
  certificate: x509.X509Certificate
  keys: CryptoKeyPair
}

export interface Validity {
  days?: number
  /** Explicit bounds, for tests of expired or not-yet-valid certificates. */
  notBefore?: Date
  notAfter?: Date
}

export interface RootCaOptions extends Validity {
  organisation: string
  commonName?: string
  country?: string
}

export interface IntermediateCaOptions extends Validity {
  organisation: string
  commonName?: string
}

export interface NodeCertificateOptions extends Validity {
  name: string
  /** DNS names or IP addresses; the node name is always included as a DNS name. */
  subjectAltNames?: string[]
  /** Certify an existing key pair (same-key renewal) instead of generating one. */
  keys?: CryptoKeyPair
  /** The roles the certificate grants (URI SANs `urn:hypha:role:<role>`); none: a roleless certificate. */
  roles?: readonly CertificateRole[]
}

export async function generateEd25519KeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair
}

export async function createRootCa(options: RootCaOptions): Promise<IssuedCertificate> {
  const keys = await generateEd25519KeyPair()
  const name = distinguishedName({
    CN: options.commonName ?? `${options.organisation} Root CA`,
    O: options.organisation,
    C: options.country,
  })
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    ...validityWindow(options, 3650),
    keys,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, nodeCrypto),
    ],
  }, nodeCrypto)
  return { certificate, keys }
}

export async function createIntermediateCa(
  issuer: Issuer,
  options: IntermediateCaOptions,
): Promise<IssuedCertificate> {
  const keys = await generateEd25519KeyPair()
  const certificate = await issue(issuer, keys.publicKey, {
    subject: distinguishedName({ CN: options.commonName ?? `${options.organisation} CA`, O: options.organisation }),
    validity: validityWindow(options, 1825),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  })
  return { certificate, keys }
}

export async function createNodeCertificate(
  issuer: Issuer,
  options: NodeCertificateOptions,
): Promise<IssuedCertificate> {
  const keys = options.keys ?? (await generateEd25519KeyPair())
  const organisation = issuer.certificate.subjectName.getField('O')[0]
  const names = [options.name, ...(options.subjectAltNames ?? [])]
  const altNames = [
    ...[...new Set(names)].map((value) => (isIP(value) !== 0 ? { type: 'ip' as const, value } : { type: 'dns' as const, value })),
    ...[...new Set(options.roles ?? [])].map((role) => ({ type: 'url' as const, value: roleUri(role) })),
  ]
  const certificate = await issue(issuer, keys.publicKey, {
    subject: distinguishedName({ CN: options.name, O: organisation }),
    validity: validityWindow(options, 365),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
    ],
  })
  return { certificate, keys }
}

export interface RevocationEntry {
  serialNumber: string
  revocationDate?: Date
  reason?: x509.X509CrlReason
}

export interface CrlOptions {
  /** Entries of an existing CRL of the same issuer to carry over (extending it). */
  previous?: x509.X509Crl
  revoke?: RevocationEntry[]
  /** Days until nextUpdate. */
  nextUpdateDays?: number
  thisUpdate?: Date
}

/** Signs a CRL holding the previous CRL's entries plus the new ones (serials deduplicated). */
export async function createCrl(issuer: Issuer, options: CrlOptions): Promise<x509.X509Crl> {
  const thisUpdate = options.thisUpdate ?? new Date()
  const entries = new Map<string, x509.X509CrlEntryParams>()
  for (const entry of options.previous?.entries ?? []) {
    entries.set(normaliseSerial(entry.serialNumber), {
      serialNumber: entry.serialNumber,
      revocationDate: entry.revocationDate,
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    })
  }
  for (const entry of options.revoke ?? []) {
    const key = normaliseSerial(entry.serialNumber)
    if (!entries.has(key)) {
      entries.set(key, {
        serialNumber: entry.serialNumber,
        revocationDate: entry.revocationDate ?? thisUpdate,
        ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      })
    }
  }
  return x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subject,
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + (options.nextUpdateDays ?? 30) * DAY_MS),
    entries: [...entries.values()],
    signingAlgorithm: ED25519,
    signingKey: issuer.privateKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey, false, nodeCrypto)],
  }, nodeCrypto)
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n'
}

export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const block = decodePemBlocks(pem).find((b) => b.label === 'PRIVATE KEY')
  if (block === undefined) {
    throw new Error('no PKCS#8 "PRIVATE KEY" block found')
  }
  return (await subtle.importKey('pkcs8', toArrayBuffer(block.der), ED25519, true, ['sign'])) as CryptoKey
}

/** Hex serial, lower case, without leading zeros: the form every comparison uses. */
export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '')
}

interface IssueParams {
  subject: string
  validity: { notBefore: Date; notAfter: Date }
  extensions: x509.Extension[]
}

async function issue(issuer: Issuer, publicKey: CryptoKey, params: IssueParams): Promise<x509.X509Certificate> {
  if (!issuer.certificate.getExtension(x509.BasicConstraintsExtension)?.ca) {
    throw new Error(`issuer "${issuer.certificate.subject}" is not a CA certificate`)
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: params.subject,
    issuer: issuer.certificate.subject,
    ...params.validity,
    publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: ED25519,
    extensions: [
      ...params.extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey, false, nodeCrypto),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey, false, nodeCrypto),
    ],
  }, nodeCrypto)
}

function validityWindow(options: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS)
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + CLOCK_SKEW_MS + (options.days ?? defaultDays) * DAY_MS)
  if (notAfter <= notBefore) {
    throw new Error('certificate validity must end after it begins')
  }
  return { notBefore, notAfter }
}

function distinguishedName(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeDnValue(value)}`)
    .join(', ')
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1')
}

/** 128 random bits, positive (high bit clear) as RFC 5280 requires. */
function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return bytes.toString('hex')
}
