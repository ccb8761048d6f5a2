// Revocation from CRL files, checked by our own code rather than OpenSSL's all-or-nothing
// `crl` option: a CA without a CRL is simply not revocation-checked, and a CRL past its
// nextUpdate still revokes what it lists but is reported stale instead of locking every peer out.
import type { X509Certificate } from 'node:crypto'
import { normaliseSerial } from '../pki/authority.js'
import { decodeCrls, toArrayBuffer } from '../pki/pem.js'
import { readNamedFile } from '../read-named-file.js'
import { nodeCrypto, x509 } from '../pki/x509.js'

interface LoadedCrl {
  source: string
  crl: x509.X509Crl
  serials: Set<string>
}

export interface StaleCrl {
  source: string
  issuer: string
  nextUpdate: Date
}

export class RevocationList {
  readonly #crls: LoadedCrl[]
  /** Revoked serials per issuing CA (keyed by its SHA-256 fingerprint), only from CRLs whose signature that CA made. */
  readonly #byIssuer = new Map<string, Promise<Set<string>>>()

  private constructor(crls: LoadedCrl[]) {
    this.#crls = crls
  }

  static empty(): RevocationList {
    return new RevocationList([])
  }

  static fromDer(entries: ReadonlyArray<{ source: string; der: Uint8Array }>): RevocationList {
    return new RevocationList(
      entries.map(({ source, der }) => {
        let crl: x509.X509Crl
        try {
          crl = new x509.X509Crl(toArrayBuffer(der))
        } catch (err) {
          throw new Error(`${source}: not a valid CRL (${(err as Error).message})`)
        }
        return { source, crl, serials: new Set(crl.entries.map((e) => normaliseSerial(e.serialNumber))) }
      }),
    )
  }

  static async fromFiles(paths: readonly string[]): Promise<RevocationList> {
    const entries: Array<{ source: string; der: Uint8Array }> = []
    for (const path of paths) {
      const content = await readNamedFile(path, 'CRL')
      const ders = decodeCrls(content)
      if (ders.length === 0) {
        throw new Error(`${path}: no CRL found (expected PEM "X509 CRL" blocks or DER)`)
      }
      entries.push(...ders.map((der) => ({ source: path, der })))
    }
    return RevocationList.fromDer(entries)
  }

  get size(): number {
    return this.#crls.length
  }

  /** CRLs past their nextUpdate: still applied, but the operator must publish a fresh one. */
  stale(now: Date = new Date()): StaleCrl[] {
    return this.#crls
      .filter(({ crl }) => crl.nextUpdate !== undefined && crl.nextUpdate < now)
      .map(({ source, crl }) => ({ source, issuer: crl.issuer, nextUpdate: crl.nextUpdate as Date }))
  }

  async isRevoked(certificate: X509Certificate, issuer: X509Certificate): Promise<boolean> {
    if (this.#crls.length === 0) {
      return false
    }
    let revoked = this.#byIssuer.get(issuer.fingerprint256)
    if (revoked === undefined) {
      revoked = this.#collect(issuer)
      this.#byIssuer.set(issuer.fingerprint256, revoked)
    }
    return (await revoked).has(normaliseSerial(certificate.serialNumber))
  }

  async #collect(issuer: X509Certificate): Promise<Set<string>> {
    const serials = new Set<string>()
    const issuerCert = new x509.X509Certificate(toArrayBuffer(issuer.raw))
    for (const loaded of this.#crls) {
      // A CRL counts only when the CA it names really signed it.
      if (await isCrlSignedBy(loaded.crl, issuerCert)) {
        for (const serial of loaded.serials) serials.add(serial)
      }
    }
    return serials
  }
}

/** True when `crl` names `issuer` as its issuer and carries that CA's valid signature. */
export async function isCrlSignedBy(crl: x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  if (crl.issuerName.toString() !== issuer.subjectName.toString()) return false
  return crl.verify({ publicKey: await issuer.publicKey.export(nodeCrypto) }, nodeCrypto)
}
