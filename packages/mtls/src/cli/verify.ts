// `verify`: checks a node's certificate chain exactly as a node does when a peer connects
// (the same CertificateVerifier and RevocationList), so an operator can test a deployment's
// files offline. The refusal reason code (untrusted, expired, revoked, ...) leads the error.
import { decodeCrls } from '../pki/pem.js'
import { CertificateVerifier } from '../verify/chain-verifier.js'
import { isRefusal } from '../verify/errors.js'
import { RevocationList } from '../verify/revocation.js'
import { parseCommandArgs, required } from './args.js'
import { print, warn } from './console.js'
import { CliError, errorMessage } from './errors.js'
import { readInput } from './files.js'
import { dn, readCertificates } from './material.js'

const OPTIONS = {
  cert: { type: 'string' },
  trust: { type: 'string' },
  crl: { type: 'string', multiple: true },
} as const

export async function runVerify(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('verify', argv, OPTIONS)
  const certPath = required('verify', values.cert, '--cert')
  const trustPath = required('verify', values.trust, '--trust')
  const chain = await readCertificates(certPath, 'certificate')
  const anchors = await readCertificates(trustPath, 'trust bundle')
  const revocation = await readRevocation(values.crl ?? [])
  for (const stale of revocation.stale()) {
    warn(`CRL '${stale.source}' of "${stale.issuer}" is past its next update (${stale.nextUpdate.toISOString()}): publish a new one`)
  }

  const verifier = new CertificateVerifier({ trustAnchors: anchors, revocation })
  try {
    const verified = await verifier.verify(chain.map((c) => new Uint8Array(c.raw)))
    print(`OK: ${dn(verified.leaf.subject)} (PeerId ${verified.peerId.toString()})`)
    return 0
  } catch (err) {
    if (isRefusal(err)) {
      throw new CliError(err.message) // "<reason>: <detail>"
    }
    throw err
  }
}

async function readRevocation(paths: readonly string[]): Promise<RevocationList> {
  const entries: Array<{ source: string; der: Uint8Array }> = []
  for (const path of paths) {
    const ders = decodeCrls(await readInput(path, 'CRL'))
    if (ders.length === 0) {
      throw new CliError(`CRL file '${path}' holds no CRL (expected PEM "X509 CRL" blocks or DER)`)
    }
    entries.push(...ders.map((der) => ({ source: path, der })))
  }
  try {
    return RevocationList.fromDer(entries)
  } catch (err) {
    throw new CliError(errorMessage(err))
  }
}
