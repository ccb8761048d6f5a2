// `cert-info FILE [--trust FILE] [--crl FILE...]`: what a node certificate says (subject,
// issuer, validity, PeerId, roles, names) and where it stands: expired or not, revoked by a CRL
// of its issuer or not, and with --trust whether it verifies as a node would verify it.
// Exit 1 when the certificate is expired, revoked or refused.
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import {
  type CertificateRefusedError,
  CertificateVerifier,
  decodeCertificates,
  isRefusal,
  peerIdOfCertificate,
  RevocationList,
  rolesOfCertificate,
} from '@hypha/mtls'
import { InspectError } from '../errors.js'
import { json, type Output, paint } from '../output.js'

export interface CertInfo {
  file: string
  subject: string
  issuer: string
  serial: string
  notBefore: string
  notAfter: string
  /** Days until notAfter (negative: expired that many days ago). */
  daysLeft: number
  peerId: string | null
  roles: string[]
  subjectAltNames: string[]
  /** Certificates after the first one in the file (the chain the node presents). */
  chain: string[]
  revocation: 'revoked' | 'not-revoked' | 'unchecked'
  /** With --trust: 'verified' or the refusal reason a node would give (expired, untrusted, revoked, ...). */
  verification: string | null
  verificationDetail?: string
}

export async function certInfo(file: string, options: { trust?: string; crls: string[]; now?: Date }): Promise<CertInfo> {
  const certificates = await readCertificates(file, 'certificate')
  const leaf = certificates[0] as X509Certificate
  const now = options.now ?? new Date()
  let peerId: string | null = null
  try {
    peerId = peerIdOfCertificate(leaf).toString()
  } catch {
    // not an Ed25519 key: not a Hypha node certificate (a CA certificate, say); shown without a PeerId
  }
  const revocationList =
    options.crls.length > 0
      ? await RevocationList.fromFiles(options.crls).catch((err: Error) => Promise.reject(new InspectError(err.message)))
      : undefined
  const trust = options.trust !== undefined ? await readCertificates(options.trust, 'trust bundle') : []
  const issuer = [...certificates.slice(1), ...trust].find((candidate) => leaf.checkIssued(candidate) && leaf.verify(candidate.publicKey))
  let revocation: CertInfo['revocation'] = 'unchecked'
  if (revocationList !== undefined && issuer !== undefined) {
    revocation = (await revocationList.isRevoked(leaf, issuer)) ? 'revoked' : 'not-revoked'
  }
  let verification: string | null = null
  let verificationDetail: string | undefined
  if (options.trust !== undefined) {
    const verifier = new CertificateVerifier({ trustAnchors: trust, revocation: revocationList ?? RevocationList.empty(), now: () => now })
    try {
      await verifier.verify(certificates.map((c) => new Uint8Array(c.raw)))
      verification = 'verified'
    } catch (err) {
      if (!isRefusal(err)) throw err
      verification = (err as CertificateRefusedError).reason
      verificationDetail = (err as Error).message
    }
  }
  return {
    file,
    subject: leaf.subject.replaceAll('\n', ', '),
    issuer: leaf.issuer.replaceAll('\n', ', '),
    serial: leaf.serialNumber.toLowerCase(),
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    daysLeft: Math.floor((Date.parse(leaf.validTo) - now.getTime()) / 86_400_000),
    peerId,
    roles: [...rolesOfCertificate(leaf)],
    subjectAltNames: (leaf.subjectAltName ?? '').split(/,\s*/).filter((s) => s !== ''),
    chain: certificates.slice(1).map((c) => c.subject.replaceAll('\n', ', ')),
    revocation,
    verification,
    ...(verificationDetail !== undefined ? { verificationDetail } : {}),
  }
}

export async function certInfoCommand(
  file: string,
  options: { trust?: string; crls: string[]; json: boolean },
  output: Output,
): Promise<number> {
  const info = await certInfo(file, options)
  const bad = info.daysLeft < 0 || info.revocation === 'revoked' || (info.verification !== null && info.verification !== 'verified')
  if (options.json) {
    output.write(json(info))
    return bad ? 1 : 0
  }
  const validity = info.daysLeft < 0 ? paint(output, 'red', `EXPIRED ${-info.daysLeft} days ago`) : `${info.daysLeft} days left`
  const rows: Array<[string, string]> = [
    ['Subject', info.subject],
    ['Issuer', info.issuer],
    ['Serial', info.serial],
    ['Valid', `${info.notBefore} .. ${info.notAfter} (${validity})`],
    ['PeerId', info.peerId ?? '- (not an Ed25519 node key)'],
    ['Roles', info.roles.join(', ') || '- (roleless)'],
    ['Names', info.subjectAltNames.join(', ') || '-'],
    ['Chain', info.chain.join(' <- ') || '- (the certificate alone)'],
    [
      'Revocation',
      info.revocation === 'revoked'
        ? paint(output, 'red', "REVOKED by its issuer's CRL")
        : info.revocation === 'not-revoked'
          ? 'not revoked'
          : 'not checked (give --crl and the issuer via the chain or --trust)',
    ],
  ]
  if (info.verification !== null) {
    rows.push([
      'Verification',
      info.verification === 'verified'
        ? paint(output, 'green', 'verified')
        : paint(output, 'red', `refused: ${info.verification} (${info.verificationDetail})`),
    ])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  output.write(rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n') + '\n')
  return bad ? 1 : 0
}

async function readCertificates(path: string, what: string): Promise<X509Certificate[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new InspectError(`cannot read the ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const ders = decodeCertificates(text)
  if (ders.length === 0) throw new InspectError(`'${path}' holds no PEM certificate`)
  return ders.map((der) => new X509Certificate(der))
}
