// A complete development PKI on disk in one call: root CA, organisation CA, an empty CRL and a
// certificate per node, with the same file names hypha-certutil writes. Used by the local stack
// (`npm start`) and by multi-node tests; production uses the organisation's own PKI.
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IdentityFiles } from '../identity/identity-material.js'
import {
  type Issuer,
  createCrl,
  createIntermediateCa,
  createNodeCertificate,
  createRootCa,
  exportPrivateKeyPem,
} from './authority.js'
import { certificatesToPem, crlToPem } from './pem.js'
import type { CertificateRole } from './roles.js'

export interface DevPkiOptions {
  dir: string
  organisation: string
  nodes: readonly string[]
  /** Extra subject alternative names for every node certificate. */
  subjectAltNames?: string[]
  /** The roles each node's certificate grants (a node not listed gets a roleless certificate). */
  roles?: Readonly<Record<string, readonly CertificateRole[]>>
}

export interface DevPki {
  trust: string
  crl: string
  caCert: string
  caKey: string
  nodes: Record<string, IdentityFiles>
  /** The organisation CA, to issue or revoke more certificates in tests. */
  ca: Issuer
}

export async function writeDevPki(options: DevPkiOptions): Promise<DevPki> {
  const { dir, organisation } = options
  await mkdir(dir, { recursive: true })
  const root = await createRootCa({ organisation })
  const rootIssuer: Issuer = { certificate: root.certificate, privateKey: root.keys.privateKey, chain: [] }
  const ca = await createIntermediateCa(rootIssuer, { organisation })
  const caIssuer: Issuer = { certificate: ca.certificate, privateKey: ca.keys.privateKey, chain: [root.certificate] }
  const der = (c: { rawData: ArrayBuffer }): Uint8Array => new Uint8Array(c.rawData)

  await writeFile(join(dir, `${organisation}-root-ca-cert.pem`), certificatesToPem([der(root.certificate)]))
  await writeKey(join(dir, `${organisation}-root-ca-key.pem`), await exportPrivateKeyPem(root.keys.privateKey))
  const caCert = join(dir, `${organisation}-ca-cert.pem`)
  const caKey = join(dir, `${organisation}-ca-key.pem`)
  await writeFile(caCert, certificatesToPem([der(ca.certificate)]))
  await writeKey(caKey, await exportPrivateKeyPem(ca.keys.privateKey))
  const trust = join(dir, `${organisation}-ca-trust.pem`)
  await writeFile(trust, certificatesToPem([der(ca.certificate), der(root.certificate)]))
  const crl = join(dir, `${organisation}-ca.crl.pem`)
  await writeFile(crl, crlToPem((await createCrl(caIssuer, {})).rawData))

  const nodes: Record<string, IdentityFiles> = {}
  for (const name of options.nodes) {
    const roles = options.roles?.[name]
    const issued = await createNodeCertificate(caIssuer, { name, subjectAltNames: options.subjectAltNames ?? [], ...(roles !== undefined ? { roles } : {}) })
    const cert = join(dir, `${name}-cert.pem`)
    const key = join(dir, `${name}-key.pem`)
    await writeFile(cert, certificatesToPem([der(issued.certificate), der(ca.certificate)]))
    await writeKey(key, await exportPrivateKeyPem(issued.keys.privateKey))
    await writeFile(join(dir, `${name}-trust.pem`), certificatesToPem([der(ca.certificate), der(root.certificate)]))
    nodes[name] = { cert, key, trust, crl: [crl] }
  }
  return { trust, crl, caCert, caKey, nodes, ca: caIssuer }
}

async function writeKey(path: string, pem: string): Promise<void> {
  await writeFile(path, pem, { mode: 0o600 })
  await chmod(path, 0o600)
}
