// `cert-manager`: gets this pod's node certificate from cert-manager (a CertificateRequest for
// an Ed25519 key made here) and, with --watch, keeps renewing it: the sidecar that gives every
// replica of a Deployment its own certificate and PeerId (deploy/k8s, docs/operations.md).

import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { KubeApi, KubeApiError, resolveKubeApiConfig } from '../cert-manager/kube-api.js'
import { PodCertificate, PodCertificateError } from '../cert-manager/pod-certificate.js'
import { type CertificateRole, isCertificateRole, NODE_ROLES } from '../pki/roles.js'
import { parseCommandArgs, required, splitList } from './args.js'
import { PROGRAM } from './console.js'
import { CliError, UsageError } from './errors.js'

const OPTIONS = {
  issuer: { type: 'string' },
  'issuer-kind': { type: 'string' },
  'issuer-group': { type: 'string' },
  name: { type: 'string', short: 'n' },
  role: { type: 'string', short: 'r', multiple: true },
  san: { type: 'string', short: 's', multiple: true },
  dir: { type: 'string', short: 'd' },
  duration: { type: 'string' },
  timeout: { type: 'string' },
  watch: { type: 'boolean' },
  'write-ca': { type: 'boolean' },
  'owner-pod': { type: 'string' },
  'owner-uid': { type: 'string' },
  server: { type: 'string' },
  namespace: { type: 'string' },
  'token-file': { type: 'string' },
  'api-ca': { type: 'string' },
} as const

/** What cert-manager parses as a duration: Go's time.ParseDuration units we accept (h, m, s). */
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s))+$/
const DNS_LABELS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

export async function runCertManager(argv: string[], signal?: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs('cert-manager', argv, OPTIONS)
  const issuerName = required('cert-manager', values.issuer, '--issuer')
  const kind = values['issuer-kind'] ?? 'Issuer'
  if (kind !== 'Issuer' && kind !== 'ClusterIssuer') {
    throw new UsageError(`--issuer-kind must be Issuer or ClusterIssuer, got '${kind}'`)
  }
  const name = values.name ?? process.env.POD_NAME ?? hostname()
  if (!DNS_LABELS.test(name) || name.length > 253) {
    throw new UsageError(`-n/--name '${name}' is not a DNS name (lower-case letters, digits, '-' and '.'): it is the CN and a DNS SAN`)
  }
  const roles = splitList(values.role)
  for (const role of roles) {
    if (!isCertificateRole(role)) throw new UsageError(`-r/--role '${role}' is not a role: expected ${NODE_ROLES.join(', ')}`)
  }
  const subjectAltNames = splitList(values.san)
  for (const san of subjectAltNames) {
    if (isIP(san) === 0 && !DNS_LABELS.test(san)) throw new UsageError(`-s/--san '${san}' is neither a DNS name nor an IP address`)
  }
  const duration = values.duration ?? '24h'
  if (!GO_DURATION.test(duration)) {
    throw new UsageError(`--duration must be a duration like 24h, 90m or 1h30m, got '${duration}'`)
  }
  const timeoutSeconds = Number(values.timeout ?? '300')
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got '${values.timeout}'`)
  }
  const ownerName = values['owner-pod'] ?? process.env.POD_NAME
  const ownerUid = values['owner-uid'] ?? process.env.POD_UID
  const dir = required('cert-manager', values.dir, '-d/--dir')

  let api: KubeApi
  try {
    api = new KubeApi(
      await resolveKubeApiConfig({
        ...(values.server !== undefined ? { server: values.server } : {}),
        ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
        ...(values['token-file'] !== undefined ? { tokenFile: values['token-file'] } : {}),
        ...(values['api-ca'] !== undefined ? { caFile: values['api-ca'] } : {}),
      }),
    )
  } catch (err) {
    throw new CliError(`cert-manager: ${(err as Error).message}`)
  }
  const certificate = new PodCertificate({
    api,
    dir,
    request: {
      name,
      roles: roles as CertificateRole[],
      subjectAltNames,
      issuer: { name: issuerName, kind, group: values['issuer-group'] ?? 'cert-manager.io' },
      duration,
      ...(ownerName !== undefined && ownerUid !== undefined && ownerName !== '' && ownerUid !== ''
        ? { owner: { name: ownerName, uid: ownerUid } }
        : {}),
    },
    timeoutMs: timeoutSeconds * 1000,
    writeCa: values['write-ca'] === true,
    log: lineLog,
  })
  try {
    if (values.watch === true) {
      await certificate.run(signal ?? stopSignal())
    } else {
      await certificate.issue(signal)
    }
  } catch (err) {
    if (err instanceof PodCertificateError || err instanceof KubeApiError) {
      throw new CliError(`cert-manager: ${err.message}`)
    }
    throw err
  }
  return 0
}

/** One line per event on stdout, `key=value` fields: what `kubectl logs` on the sidecar shows. */
const lineLog = {
  info: (message: string, fields: Record<string, unknown> = {}) => process.stdout.write(`${PROGRAM}: ${message}${formatFields(fields)}\n`),
  warn: (message: string, fields: Record<string, unknown> = {}) =>
    process.stderr.write(`${PROGRAM}: warning: ${message}${formatFields(fields)}\n`),
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join('')
}

/** Aborts on SIGTERM/SIGINT: kubelet stops a sidecar with SIGTERM, which ends --watch with exit 0. */
function stopSignal(): AbortSignal {
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return controller.signal
}
