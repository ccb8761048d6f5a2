// A cert-manager CertificateRequest for a node's own Ed25519 key, and what its status means.
// cert-manager's csi-driver cannot do this job: it generates the pod's key itself and offers
// no Ed25519 (its attributes have no key algorithm), while a Hypha PeerId is an Ed25519 key.
// So the pod makes its key, signs a CSR with it and asks cert-manager directly; the key never
// leaves the pod, as with csi-driver.
import { isIP } from 'node:net'
import { type CertificateRole, roleUri } from '../pki/roles.js'
import { ED25519, nodeCrypto, x509 } from '../pki/x509.js'

/** cert-manager's names for the usages a node certificate needs; the CSR asks for the same. */
export const NODE_USAGES = ['digital signature', 'server auth', 'client auth'] as const

export interface IssuerRef {
  name: string
  kind: 'Issuer' | 'ClusterIssuer'
  group: string
}

export interface OwnerPod {
  name: string
  uid: string
}

export interface CertificateRequestInit {
  /** Common name and a DNS SAN (the pod name). */
  name: string
  roles: readonly CertificateRole[]
  /** Extra DNS names or IP addresses. */
  subjectAltNames?: readonly string[]
  keys: CryptoKeyPair
  issuer: IssuerRef
  /** Go duration cert-manager understands ("24h", "90m"). */
  duration: string
  /** The request is garbage-collected with this pod. */
  owner?: OwnerPod
}

/** The CertificateRequest object to POST (generateName: the API server picks a unique name). */
export async function certificateRequestBody(init: CertificateRequestInit): Promise<object> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: `CN=${init.name.replace(/([,+"\\<>;=])/g, '\\$1')}`,
      keys: init.keys,
      signingAlgorithm: ED25519,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...[...new Set([init.name, ...(init.subjectAltNames ?? [])])].map((value) =>
            isIP(value) !== 0 ? { type: 'ip' as const, value } : { type: 'dns' as const, value },
          ),
          ...init.roles.map((role) => ({ type: 'url' as const, value: roleUri(role) })),
        ]),
      ],
    },
    nodeCrypto,
  )
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'CertificateRequest',
    metadata: {
      generateName: `${init.name.slice(0, 52)}-`,
      labels: { 'app.kubernetes.io/managed-by': 'hypha-certutil' },
      ...(init.owner !== undefined
        ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: init.owner.name, uid: init.owner.uid }] }
        : {}),
    },
    spec: {
      request: Buffer.from(csr.toString('pem')).toString('base64'),
      issuerRef: init.issuer,
      duration: init.duration,
      usages: [...NODE_USAGES],
      isCA: false,
    },
  }
}

interface Condition {
  type?: string
  status?: string
  reason?: string
  message?: string
}

export interface CertificateRequestObject {
  metadata?: { name?: string }
  status?: { certificate?: string; ca?: string; conditions?: Condition[]; failureTime?: string }
}

export type RequestOutcome =
  | { state: 'issued'; certificatePem: string; caPem?: string }
  | { state: 'pending'; detail: string }
  | { state: 'failed'; detail: string }

/** Reads a CertificateRequest's status the way cert-manager documents it (Ready, Denied, InvalidRequest). */
export function requestOutcome(request: CertificateRequestObject): RequestOutcome {
  const conditions = request.status?.conditions ?? []
  const condition = (type: string) => conditions.find((c) => c.type === type && c.status === 'True')
  const denied = condition('Denied')
  if (denied !== undefined) {
    return { state: 'failed', detail: `denied${explain(denied)}` }
  }
  const invalid = condition('InvalidRequest')
  if (invalid !== undefined) {
    return { state: 'failed', detail: `invalid request${explain(invalid)}` }
  }
  const ready = conditions.find((c) => c.type === 'Ready')
  if (ready?.status === 'True' && request.status?.certificate !== undefined && request.status.certificate !== '') {
    const caPem = request.status.ca !== undefined && request.status.ca !== '' ? decode(request.status.ca) : undefined
    return { state: 'issued', certificatePem: decode(request.status.certificate), ...(caPem !== undefined ? { caPem } : {}) }
  }
  if (ready?.status === 'False' && ready.reason === 'Failed') {
    return { state: 'failed', detail: `issuance failed${explain(ready)}` }
  }
  return {
    state: 'pending',
    detail: ready !== undefined ? `Ready=${ready.status ?? '?'}${explain(ready)}` : 'not yet seen by cert-manager',
  }
}

function explain(condition: Condition): string {
  const parts = [condition.reason, condition.message].filter((p): p is string => p !== undefined && p !== '')
  return parts.length > 0 ? ` (${parts.join(': ')})` : ''
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8')
}
