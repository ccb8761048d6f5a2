// Keeps a pod's certificate issued by cert-manager: one Ed25519 key for the pod's life (kept
// in its directory, so a restarted sidecar keeps the PeerId), a CertificateRequest for it,
// tls.crt written atomically when issued, and the same again at two thirds of each
// certificate's life. The node's file watch picks every renewal up without a restart, which
// works because the key, hence the PeerId, stays the same.
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { exportPrivateKeyPem, generateEd25519KeyPair } from '../pki/authority.js'
import { type CertificateRole, rolesOfCertificate } from '../pki/roles.js'
import { ED25519, subtle } from '../pki/x509.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import {
  type CertificateRequestInit,
  type CertificateRequestObject,
  certificateRequestBody,
  requestOutcome,
} from './certificate-request.js'
import type { KubeApi } from './kube-api.js'

export const FILE_NAMES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const
/** Renew when this share of the certificate's life has passed (cert-manager's own default). */
const RENEW_AT = 2 / 3
/** setTimeout holds at most 2^31-1 ms (~24.8 days); longer waits are slept in steps. */
const MAX_SLEEP_MS = 24 * 60 * 60 * 1000
const RETRY_MIN_MS = 1_000
const RETRY_MAX_MS = 60_000

export interface PodCertificateLog {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
}

export interface PodCertificateInit {
  api: KubeApi
  dir: string
  request: Omit<CertificateRequestInit, 'keys'>
  /** How long one request may take to be issued. */
  timeoutMs: number
  pollMs?: number
  /** Also write the issuer's CA (status.ca) as ca.crt. Off by default: trust comes from the operator's bundle. */
  writeCa?: boolean
  log: PodCertificateLog
  now?: () => number
}

export interface IssuedCertificateInfo {
  requestName: string
  serial: string
  peerId: string
  notBefore: Date
  notAfter: Date
}

export class PodCertificateError extends Error {
  override readonly name = 'PodCertificateError'
}

export class PodCertificate {
  readonly #init: PodCertificateInit
  readonly #now: () => number
  #key: PodKey | undefined
  #currentRequest: string | undefined

  constructor(init: PodCertificateInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  /** Issues once, then renews until the signal aborts. Failures are retried while the current certificate is valid. */
  async run(signal: AbortSignal): Promise<void> {
    let issued = await this.issue(signal)
    let failures = 0
    while (!signal.aborted) {
      const wait = failures === 0 ? this.renewalDelay(issued) : Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1))
      if (!(await sleepFor(wait, signal))) return
      try {
        issued = await this.issue(signal)
        failures = 0
      } catch (err) {
        if (signal.aborted) return
        failures++
        this.#init.log.warn('certificate renewal failed, retrying', {
          error: (err as Error).message,
          attempt: failures,
          expires: issued.notAfter.toISOString(),
        })
      }
    }
  }

  /** Milliseconds from now until the certificate should be renewed (0 when already due). */
  renewalDelay(issued: Pick<IssuedCertificateInfo, 'notBefore' | 'notAfter'>): number {
    const life = issued.notAfter.getTime() - issued.notBefore.getTime()
    return Math.max(0, issued.notBefore.getTime() + life * RENEW_AT - this.#now())
  }

  /** One CertificateRequest for the pod's key, waited for and written out. */
  async issue(signal?: AbortSignal): Promise<IssuedCertificateInfo> {
    const key = await this.#ensureKey()
    const { api, dir } = this.#init
    const body = await certificateRequestBody({ ...this.#init.request, keys: key.pair })
    const created = await api.createCertificateRequest<CertificateRequestObject>(body)
    const name = created.metadata?.name
    if (name === undefined) {
      throw new PodCertificateError('the API server created a CertificateRequest without a name')
    }
    this.#init.log.info('certificate requested', { request: name, issuer: this.#init.request.issuer.name })
    const outcome = await this.#waitForIssue(name, signal)
    const certificate = this.#check(outcome.certificatePem, key)
    await writeAtomically(join(dir, FILE_NAMES.cert), outcome.certificatePem, 0o644)
    if (this.#init.writeCa === true && outcome.caPem !== undefined) {
      await writeAtomically(join(dir, FILE_NAMES.ca), outcome.caPem, 0o644)
    }
    const previous = this.#currentRequest
    this.#currentRequest = name
    if (previous !== undefined) {
      await api
        .deleteCertificateRequest(previous)
        .catch((err: Error) =>
          this.#init.log.warn('could not delete the previous CertificateRequest', { request: previous, error: err.message }),
        )
    }
    const info: IssuedCertificateInfo = {
      requestName: name,
      serial: certificate.serialNumber.toLowerCase(),
      peerId: peerIdOfCertificate(certificate).toString(),
      notBefore: new Date(certificate.validFrom),
      notAfter: new Date(certificate.validTo),
    }
    this.#init.log.info('certificate issued', {
      request: name,
      serial: info.serial,
      peerId: info.peerId,
      notAfter: info.notAfter.toISOString(),
      renewAt: new Date(this.#now() + this.renewalDelay(info)).toISOString(),
    })
    return info
  }

  async #waitForIssue(name: string, signal?: AbortSignal): Promise<{ certificatePem: string; caPem?: string }> {
    const deadline = this.#now() + this.#init.timeoutMs
    let last = 'not yet seen by cert-manager'
    for (;;) {
      const outcome = requestOutcome(await this.#init.api.getCertificateRequest<CertificateRequestObject>(name))
      if (outcome.state === 'issued') return outcome
      if (outcome.state === 'failed') {
        throw new PodCertificateError(`CertificateRequest ${name}: ${outcome.detail}`)
      }
      last = outcome.detail
      const left = deadline - this.#now()
      if (left <= 0) {
        throw new PodCertificateError(
          `CertificateRequest ${name} not issued in ${this.#init.timeoutMs} ms: ${last} (is the issuer ready, and are requests approved?)`,
        )
      }
      if (!(await sleepFor(Math.min(this.#init.pollMs ?? 1_000, left), signal))) {
        throw new PodCertificateError(`CertificateRequest ${name}: stopped while waiting`)
      }
    }
  }

  /** What cert-manager returned must certify this pod's key for the roles asked: anything else would not start a node. */
  #check(pem: string, key: PodKey): X509Certificate {
    let leaf: X509Certificate
    try {
      leaf = new X509Certificate(pem)
    } catch (err) {
      throw new PodCertificateError(`the issued certificate does not parse: ${(err as Error).message}`)
    }
    if (!leaf.checkPrivateKey(key.object)) {
      throw new PodCertificateError("the issued certificate is not for this pod's key")
    }
    if (leaf.ca) {
      throw new PodCertificateError('the issued certificate is a CA certificate, not a node certificate')
    }
    const granted = rolesOfCertificate(leaf)
    const missing = this.#init.request.roles.filter((role: CertificateRole) => !granted.has(role))
    if (missing.length > 0) {
      throw new PodCertificateError(`the issued certificate lacks the role(s) ${missing.join(', ')}: the issuer dropped the URI SANs`)
    }
    return leaf
  }

  /** The pod's key: the one already in the directory (a restarted sidecar), else a new one. */
  async #ensureKey(): Promise<PodKey> {
    if (this.#key !== undefined) return this.#key
    const path = join(this.#init.dir, FILE_NAMES.key)
    let pem = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw new PodCertificateError(`cannot read the key '${path}': ${err.message}`)
    })
    if (pem === undefined) {
      const generated = await generateEd25519KeyPair()
      pem = await exportPrivateKeyPem(generated.privateKey)
      await mkdir(this.#init.dir, { recursive: true })
      await writeAtomically(path, pem, 0o600)
      this.#init.log.info("generated this pod's Ed25519 key", { key: path })
    }
    this.#key = await importPodKey(pem, path)
    return this.#key
  }
}

interface PodKey {
  pair: CryptoKeyPair
  object: KeyObject
}

async function importPodKey(pem: string, path: string): Promise<PodKey> {
  let privateObject: KeyObject
  try {
    privateObject = createPrivateKey(pem)
  } catch (err) {
    throw new PodCertificateError(`the key '${path}' does not parse: ${(err as Error).message}`)
  }
  if (privateObject.asymmetricKeyType !== 'ed25519') {
    throw new PodCertificateError(`the key '${path}' is ${privateObject.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519`)
  }
  const pkcs8 = privateObject.export({ type: 'pkcs8', format: 'der' })
  const spki = createPublicKey(privateObject).export({ type: 'spki', format: 'der' })
  return {
    object: privateObject,
    pair: {
      privateKey: (await subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign'])) as CryptoKey,
      publicKey: (await subtle.importKey('spki', spki, ED25519, true, ['verify'])) as CryptoKey,
    },
  }
}

/** Writes to a temporary name and renames: a watching node never reads half a file. */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, content, { mode })
  await rename(temporary, path)
}

/** Sleeps ms (in steps setTimeout can hold); false when the signal aborted first. */
async function sleepFor(ms: number, signal?: AbortSignal): Promise<boolean> {
  let left = ms
  while (left > 0) {
    const step = Math.min(left, MAX_SLEEP_MS)
    try {
      await sleep(step, undefined, signal !== undefined ? { signal } : {})
    } catch {
      return false
    }
    left -= step
  }
  return signal?.aborted !== true
}
