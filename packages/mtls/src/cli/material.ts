// Loads certificates and Ed25519 keys from the operator's files and checks they belong
// together: a CA key must match its CA certificate, or everything it signs would be
// unverifiable. Errors name the file and say what is wrong with it.
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import type { Issuer } from '../pki/authority.js'
import { importPrivateKeyPem } from '../pki/authority.js'
import { certificatesToPem, decodeCertificates, decodePemBlocks, toArrayBuffer } from '../pki/pem.js'
import { ED25519, subtle, x509 } from '../pki/x509.js'
import { describe } from '../verify/chain-verifier.js'
import { CliError, errorMessage } from './errors.js'
import { readInputText } from './files.js'

/** Certificates of a PEM file, in file order; at least one. */
export async function readCertificates(path: string, what: string): Promise<X509Certificate[]> {
  const text = await readInputText(path, what)
  const ders = decodeCertificates(text)
  if (ders.length === 0) {
    throw new CliError(`${what} file '${path}' holds no PEM CERTIFICATE block`)
  }
  return ders.map((der, index) => {
    try {
      return new X509Certificate(der)
    } catch (err) {
      throw new CliError(`${what} file '${path}': certificate ${index + 1} is malformed (${errorMessage(err)})`)
    }
  })
}

export interface LoadedKey {
  /** PKCS#8 PEM, as written to key files. */
  pem: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** SubjectPublicKeyInfo DER, to compare with a certificate's key. */
  spki: Buffer
}

export async function readEd25519Key(path: string, what: string): Promise<LoadedKey> {
  const text = await readInputText(path, what)
  const labels = decodePemBlocks(text).map((block) => block.label)
  if (labels.includes('ENCRYPTED PRIVATE KEY') && !labels.includes('PRIVATE KEY')) {
    throw new CliError(`${what} file '${path}' is encrypted; decrypt it first (openssl pkey -in ${path} -out FILE)`)
  }
  if (!labels.includes('PRIVATE KEY')) {
    throw new CliError(`${what} file '${path}' holds no PEM "PRIVATE KEY" (PKCS#8) block`)
  }
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey(text)
  } catch (err) {
    throw new CliError(`${what} file '${path}' is not a readable private key (${errorMessage(err)})`)
  }
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    throw new CliError(
      `${what} file '${path}' holds a key of type ${keyObject.asymmetricKeyType ?? 'unknown'}; Hypha uses Ed25519 keys only`,
    )
  }
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' })
  const pem = `${keyObject.export({ type: 'pkcs8', format: 'pem' }).toString().trimEnd()}\n`
  const privateKey = await importPrivateKeyPem(pem)
  const publicKey = (await subtle.importKey('spki', toArrayBuffer(spki), ED25519, true, ['verify'])) as CryptoKey
  return { pem, privateKey, publicKey, spki }
}

/** Node prints names one attribute a line; messages want "CN=a, O=b". */
export function dn(name: string): string {
  return name.split('\n').join(', ')
}

export function certificateSpki(certificate: X509Certificate): Buffer {
  return certificate.publicKey.export({ type: 'spki', format: 'der' })
}

export function isSelfSigned(certificate: X509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey)
}

export function isIssuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey)
}

export function toPeculiar(certificate: X509Certificate): x509.X509Certificate {
  return new x509.X509Certificate(toArrayBuffer(certificate.raw))
}

export function fromPeculiar(certificate: x509.X509Certificate): X509Certificate {
  return new X509Certificate(new Uint8Array(certificate.rawData))
}

export function toPem(certificates: readonly X509Certificate[]): string {
  return certificatesToPem(certificates.map((c) => new Uint8Array(c.raw)))
}

export interface LoadedCa {
  /** The CA certificate (first in its file). */
  certificate: X509Certificate
  /** Further certificates in the CA certificate file (its own chain, if bundled). */
  bundled: X509Certificate[]
  issuer: Issuer
}

/** A CA certificate and its key, checked to be a CA and to match. */
export async function readCa(certPath: string, keyPath: string, what: string): Promise<LoadedCa> {
  const [certificate, ...bundled] = await readCertificates(certPath, `${what} certificate`)
  if (certificate === undefined) {
    throw new CliError(`${what} certificate file '${certPath}' holds no certificate`)
  }
  if (!certificate.ca) {
    throw new CliError(`'${certPath}' holds ${describe(certificate)}, which is not a CA certificate`)
  }
  const key = await readEd25519Key(keyPath, `${what} key`)
  if (!key.spki.equals(certificateSpki(certificate))) {
    throw new CliError(`${what} key '${keyPath}' does not belong to the certificate in '${certPath}'`)
  }
  return {
    certificate,
    bundled,
    issuer: {
      certificate: toPeculiar(certificate),
      privateKey: key.privateKey,
      chain: bundled.filter((c) => !isSelfSigned(c)).map(toPeculiar),
    },
  }
}

/** A warning text when a certificate outlives the CA that signed it (it stops verifying with its CA). */
export function outlivesIssuer(certificate: X509Certificate, issuer: X509Certificate): string | undefined {
  const end = new Date(certificate.validTo)
  const issuerEnd = new Date(issuer.validTo)
  if (end > issuerEnd) {
    return `the new certificate is valid until ${end.toISOString()}, but its CA ${describe(issuer)} expires at ${issuerEnd.toISOString()}; it will stop verifying then`
  }
  return undefined
}
