// `revoke`: adds a certificate to its CA's CRL, creating the CRL or re-signing the existing
// one with all its entries kept. The file is replaced atomically because running nodes watch
// it and reload it on change; it is written as PEM "X509 CRL", the label Node's TLS expects.
import { dirname } from 'node:path'
import { createCrl, normaliseSerial } from '../pki/authority.js'
import { crlToPem, decodeCrls, toArrayBuffer } from '../pki/pem.js'
import { x509 } from '../pki/x509.js'
import { describe } from '../verify/chain-verifier.js'
import { isCrlSignedBy } from '../verify/revocation.js'
import { parseCommandArgs, parseDays, required } from './args.js'
import { print } from './console.js'
import { CliError, errorMessage, UsageError } from './errors.js'
import { ensureDirectory, exists, readInput, writeAtomically } from './files.js'
import { isIssuedBy, type LoadedCa, readCa, readCertificates, toPeculiar } from './material.js'

const OPTIONS = {
  'ca-cert': { type: 'string' },
  'ca-key': { type: 'string' },
  cert: { type: 'string' },
  crl: { type: 'string' },
  reason: { type: 'string' },
  days: { type: 'string' },
} as const

/** RFC 5280 reason names; removeFromCRL (delta CRLs only) is left out. */
const REASONS: ReadonlyMap<string, x509.X509CrlReason> = new Map(
  (
    [
      'unspecified',
      'keyCompromise',
      'cACompromise',
      'affiliationChanged',
      'superseded',
      'cessationOfOperation',
      'certificateHold',
      'privilegeWithdrawn',
      'aACompromise',
    ] as const
  ).map((name) => [name.toLowerCase(), x509.X509CrlReason[name]]),
)

export async function runRevoke(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('revoke', argv, OPTIONS)
  const caCertPath = required('revoke', values['ca-cert'], '--ca-cert')
  const caKeyPath = required('revoke', values['ca-key'], '--ca-key')
  const certPath = required('revoke', values.cert, '--cert')
  const crlPath = required('revoke', values.crl, '--crl')
  const reason = parseReason(values.reason)
  const nextUpdateDays = parseDays(values.days)

  const ca = await readCa(caCertPath, caKeyPath, 'CA')
  const [target] = await readCertificates(certPath, 'certificate to revoke')
  if (target === undefined) {
    throw new CliError(`'${certPath}' holds no certificate`)
  }
  if (!isIssuedBy(target, ca.certificate)) {
    throw new CliError(
      `${describe(target)} in '${certPath}' was not issued by the CA ${describe(ca.certificate)} in '${caCertPath}'; refusing to revoke it`,
    )
  }
  const previous = await readExistingCrl(crlPath, ca, caCertPath)
  // The serial exactly as encoded in the certificate (peculiar's hex of the DER integer).
  const serialNumber = toPeculiar(target).serialNumber
  const serial = normaliseSerial(serialNumber)
  const already = previous?.entries.some((entry) => normaliseSerial(entry.serialNumber) === serial) ?? false

  const crl = await createCrl(ca.issuer, { previous, revoke: [{ serialNumber, reason }], nextUpdateDays })
  await ensureDirectory(dirname(crlPath))
  await writeAtomically(crlPath, crlToPem(crl.rawData), 0o644)

  const summary = `${crlPath} lists ${crl.entries.length} revoked certificate${crl.entries.length === 1 ? '' : 's'}, next update ${crl.nextUpdate?.toISOString() ?? 'none'}`
  print(
    already
      ? `${describe(target)} was already revoked; re-signed ${summary}`
      : `revoked ${describe(target)}${values.reason === undefined ? '' : ` (${values.reason})`}; ${summary}`,
  )
  return 0
}

function parseReason(value: string | undefined): x509.X509CrlReason | undefined {
  if (value === undefined) {
    return undefined
  }
  const reason = REASONS.get(value.toLowerCase())
  if (reason === undefined) {
    const known = [...REASONS.keys()].map((key) => x509.X509CrlReason[REASONS.get(key) as x509.X509CrlReason])
    throw new UsageError(`--reason '${value}' is not an RFC 5280 reason; use one of ${known.join(', ')}`)
  }
  return reason
}

/** The CRL already at `path`, which must be this CA's; undefined when there is none yet (or the file is empty). */
async function readExistingCrl(path: string, ca: LoadedCa, caCertPath: string): Promise<x509.X509Crl | undefined> {
  if (!(await exists(path))) {
    return undefined
  }
  const content = await readInput(path, 'CRL')
  if (content.byteLength === 0) {
    return undefined
  }
  const ders = decodeCrls(content)
  if (ders.length !== 1) {
    throw new CliError(
      ders.length === 0
        ? `'${path}' exists but holds no CRL; refusing to replace it`
        : `'${path}' holds ${ders.length} CRLs; this command maintains a file with one CA's CRL`,
    )
  }
  let crl: x509.X509Crl
  try {
    crl = new x509.X509Crl(toArrayBuffer(ders[0] as Uint8Array))
  } catch (err) {
    throw new CliError(`'${path}' is not a valid CRL (${errorMessage(err)})`)
  }
  const issuer = toPeculiar(ca.certificate)
  if (!(await isCrlSignedBy(crl, issuer))) {
    throw new CliError(
      `the CRL in '${path}' (issuer "${crl.issuer}") is not signed by the CA ${describe(ca.certificate)} in '${caCertPath}'; refusing to extend it`,
    )
  }
  return crl
}
