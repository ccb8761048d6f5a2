// The few Kubernetes API calls a pod makes to get its certificate from cert-manager: create,
// read and delete a CertificateRequest in its own namespace. In a pod it finds the API server
// the way client-go's in-cluster config does (KUBERNETES_SERVICE_HOST/PORT, the service
// account's token, CA and namespace files); outside one, a server URL (e.g. `kubectl proxy`'s
// http://127.0.0.1:8001) and an optional token. The token is re-read for every call: kubelet
// rotates projected tokens in place.
import { readFile } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'
const CERT_MANAGER_API = '/apis/cert-manager.io/v1'
/** An answer larger than this is not a CertificateRequest: refuse it rather than buffer it. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024
const REQUEST_TIMEOUT_MS = 30_000

export interface KubeApiConfig {
  /** https://host:port, or http:// for a local proxy. */
  server: string
  namespace: string
  /** File holding a bearer token (re-read per call); none through an authenticating proxy. */
  tokenFile?: string
  /** PEM bundle that signs the API server's certificate (https only). */
  caFile?: string
}

export interface KubeApiOverrides {
  server?: string
  namespace?: string
  tokenFile?: string
  caFile?: string
}

/** The in-cluster configuration, with any of its parts overridden; errors say which part is missing. */
export async function resolveKubeApiConfig(overrides: KubeApiOverrides = {}, env = process.env): Promise<KubeApiConfig> {
  const host = env.KUBERNETES_SERVICE_HOST
  const port = env.KUBERNETES_SERVICE_PORT ?? '443'
  const server =
    overrides.server ?? (host !== undefined && host !== '' ? `https://${host.includes(':') ? `[${host}]` : host}:${port}` : undefined)
  if (server === undefined) {
    throw new KubeApiError('not running in a pod (KUBERNETES_SERVICE_HOST is unset): give the API server with --server', 0)
  }
  const inCluster = overrides.server === undefined
  const namespace = overrides.namespace ?? (await readOptional(`${SERVICE_ACCOUNT_DIR}/namespace`))?.trim()
  if (namespace === undefined || namespace === '') {
    throw new KubeApiError(`no namespace: give --namespace (or mount ${SERVICE_ACCOUNT_DIR}/namespace)`, 0)
  }
  return {
    server: server.replace(/\/+$/, ''),
    namespace,
    ...(overrides.tokenFile !== undefined
      ? { tokenFile: overrides.tokenFile }
      : inCluster
        ? { tokenFile: `${SERVICE_ACCOUNT_DIR}/token` }
        : {}),
    ...(overrides.caFile !== undefined ? { caFile: overrides.caFile } : inCluster ? { caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt` } : {}),
  }
}

/** A failed API call: `status` is the HTTP status (0 when the server was not reached). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError'
  constructor(
    message: string,
    readonly status: number,
    /** The Status object's reason (AlreadyExists, Forbidden, NotFound, ...), when the server sent one. */
    readonly reason?: string,
  ) {
    super(message)
  }
}

export class KubeApi {
  constructor(readonly config: KubeApiConfig) {}

  createCertificateRequest<T extends object>(body: object): Promise<T> {
    return this.#call<T>('POST', this.#collection(), body)
  }

  getCertificateRequest<T extends object>(name: string): Promise<T> {
    return this.#call<T>('GET', `${this.#collection()}/${encodeURIComponent(name)}`)
  }

  async deleteCertificateRequest(name: string): Promise<void> {
    await this.#call('DELETE', `${this.#collection()}/${encodeURIComponent(name)}`)
  }

  #collection(): string {
    return `${CERT_MANAGER_API}/namespaces/${encodeURIComponent(this.config.namespace)}/certificaterequests`
  }

  async #call<T>(method: string, path: string, body?: object): Promise<T> {
    const url = new URL(`${this.config.server}${path}`)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.config.tokenFile !== undefined) {
      const token = (await readRequired(this.config.tokenFile, 'service account token')).trim()
      headers.authorization = `Bearer ${token}`
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    if (payload !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(payload.length)
    }
    const ca =
      url.protocol === 'https:' && this.config.caFile !== undefined ? await readRequired(this.config.caFile, 'API server CA') : undefined
    const response = await send(url, { method, headers, ...(ca !== undefined ? { ca } : {}) }, payload)
    const text = response.body.toString('utf8')
    const parsed = parseJson(text)
    if (response.status < 200 || response.status >= 300) {
      const status = isRecord(parsed) ? parsed : {}
      const message = typeof status.message === 'string' ? status.message : text.slice(0, 200)
      const reason = typeof status.reason === 'string' ? status.reason : undefined
      throw new KubeApiError(
        `${method} ${url.pathname}: HTTP ${response.status}${reason !== undefined ? ` ${reason}` : ''}: ${message}`,
        response.status,
        reason,
      )
    }
    return parsed as T
  }
}

interface RawResponse {
  status: number
  body: Buffer
}

function send(url: URL, options: { method: string; headers: Record<string, string>; ca?: string }, payload?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { ...options, timeout: REQUEST_TIMEOUT_MS },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_RESPONSE_BYTES) {
            response.destroy(
              new KubeApiError(
                `${options.method} ${url.pathname}: answer larger than ${MAX_RESPONSE_BYTES} bytes`,
                response.statusCode ?? 0,
              ),
            )
            return
          }
          chunks.push(chunk)
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () =>
      request.destroy(new KubeApiError(`${options.method} ${url.pathname}: no answer in ${REQUEST_TIMEOUT_MS} ms`, 0)),
    )
    request.on('error', (err) =>
      reject(err instanceof KubeApiError ? err : new KubeApiError(`${options.method} ${url.origin}: ${err.message}`, 0)),
    )
    request.end(payload)
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

async function readRequired(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new KubeApiError(`cannot read the ${what} '${path}': ${(err as Error).message}`, 0)
  }
}
