// Admission for connections our TLS encrypter did not secure (QUIC, whose libp2p-TLS runs
// inside Rust with no CA hook). Right after such a connection opens, both sides exchange
// certificate chains on ADMISSION_PROTOCOL and verify them with the same verifier the
// encrypter uses; the chain's key must be the PeerId QUIC already authenticated. Until a
// connection is admitted every other protocol, inbound or outbound, waits; a connection that
// fails or never completes admission is closed.
import type {
  ComponentLogger,
  Connection,
  Libp2pEvents,
  Logger,
  PeerStore,
  Startable,
  Stream,
  StreamMiddleware,
  TypedEventTarget,
} from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'
import type { NodeIdentity } from '../identity/node-identity.js'
import type { VerifiedPeer } from '../verify/chain-verifier.js'
import { CertificateRefusedError, isRefusal } from '../verify/errors.js'
import { MTLS_PROTOCOL } from './mtls-encrypter.js'
import { decodeVerdictHeader, decodeVerdictText, encodeVerdict, VERDICT_HEADER_BYTES } from './verdict.js'

export const ADMISSION_PROTOCOL = '/hypha/admission/1.0.0'
/** A certificate is well under 2 KiB; a chain of 6 with slack. */
const MAX_FRAME_BYTES = 16 * 1024
const MAX_CHAIN = 6
/** How long a refusing side waits for the remote's own verdict before closing. */
const REMOTE_VERDICT_GRACE_MS = 2_000

export interface MtlsAdmissionInit {
  /** How long a connection may stay unadmitted before it is closed (ms). */
  timeoutMs?: number
}

export interface MtlsAdmissionComponents {
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** Where a refused peer's traces (the address of its connection) are removed from. */
  peerStore?: PeerStore
}

interface Pending {
  promise: Promise<void>
  resolve(): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

export class MtlsAdmission implements Startable {
  readonly [Symbol.toStringTag] = '@hypha/mtls-admission'
  readonly #identity: NodeIdentity
  readonly #components: MtlsAdmissionComponents
  readonly #timeoutMs: number
  readonly #log: Logger
  /** Admission state of every connection that needs it, by connection id. */
  readonly #pending = new Map<string, Pending>()
  readonly #admitted = new Set<string>()
  readonly #protected = new Set<string>()

  constructor(identity: NodeIdentity, components: MtlsAdmissionComponents, init: MtlsAdmissionInit = {}) {
    this.#identity = identity
    this.#components = components
    this.#timeoutMs = init.timeoutMs ?? 10_000
    this.#log = components.logger.forComponent('hypha:mtls:admission')
  }

  async start(): Promise<void> {
    await this.#components.registrar.handle(ADMISSION_PROTOCOL, (stream, connection) => this.#respond(stream, connection), {
      runOnLimitedConnection: true,
    })
    this.#components.events.addEventListener('connection:open', this.#onConnectionOpen)
    this.#components.events.addEventListener('connection:close', this.#onConnectionClose)
    this.#components.events.addEventListener('self:peer:update', this.#protectAll)
  }

  afterStart(): void {
    // Services register their protocols during start(); protect them all once everything runs,
    // and again whenever a protocol is added later (the registrar updates our own peer record).
    this.#protectAll()
  }

  async stop(): Promise<void> {
    this.#components.events.removeEventListener('connection:open', this.#onConnectionOpen)
    this.#components.events.removeEventListener('connection:close', this.#onConnectionClose)
    this.#components.events.removeEventListener('self:peer:update', this.#protectAll)
    await this.#components.registrar.unhandle(ADMISSION_PROTOCOL)
    for (const pending of this.#pending.values()) clearTimeout(pending.timer)
    this.#pending.clear()
    this.#admitted.clear()
  }

  /** Connections secured by the mtls encrypter were verified in the TLS handshake. */
  needsAdmission(connection: Connection): boolean {
    return connection.encryption !== MTLS_PROTOCOL
  }

  isAdmitted(connection: Connection): boolean {
    return !this.needsAdmission(connection) || this.#admitted.has(connection.id)
  }

  /** Resolves once the connection is admitted; rejects when it is refused or times out. */
  async waitForAdmission(connection: Connection): Promise<void> {
    if (!this.needsAdmission(connection)) return
    await this.#stateOf(connection).promise
  }

  /** Makes every registered protocol wait for admission. Idempotent. */
  readonly #protectAll = (): void => {
    for (const protocol of this.#components.registrar.getProtocols()) {
      if (protocol === ADMISSION_PROTOCOL || this.#protected.has(protocol)) continue
      this.#protect(protocol)
    }
  }

  #protect(protocol: string): void {
    const registrar = this.#components.registrar
    // libp2p 3.3 appends the protocol handler to the stored middleware array on every inbound
    // stream and runs that same array for outbound streams, so later streams would run the
    // handler again, outbound ones included (identify answering its own request). The guard
    // therefore keeps the array at exactly itself, synchronously, and for inbound streams calls
    // the registered handler itself once the connection is admitted.
    const chain: StreamMiddleware[] = [
      async (stream, connection, next) => {
        chain.length = 1
        await this.waitForAdmission(connection)
        if (stream.direction === 'inbound') {
          await registrar.getHandler(stream.protocol).handler(stream, connection)
        }
        next(stream, connection)
      },
    ]
    registrar.use(protocol, chain)
    this.#protected.add(protocol)
  }

  readonly #onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (!this.needsAdmission(connection)) return
    this.#stateOf(connection)
    if (connection.direction === 'outbound') {
      this.#initiate(connection).catch((err: unknown) => this.#fail(connection, err))
    }
  }

  readonly #onConnectionClose = (evt: CustomEvent<Connection>): void => {
    this.#admitted.delete(evt.detail.id)
    const pending = this.#pending.get(evt.detail.id)
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      pending.reject(new CertificateRefusedError('admission-timeout', 'connection closed before admission'))
      this.#pending.delete(evt.detail.id)
    }
  }

  #stateOf(connection: Connection): Pending {
    let pending = this.#pending.get(connection.id)
    if (pending === undefined) {
      const { promise, resolve, reject } = Promise.withResolvers<void>()
      promise.catch(() => undefined) // observed by waiters; never an unhandled rejection
      const timer = setTimeout(() => {
        this.#fail(connection, new CertificateRefusedError('admission-timeout', `no admission within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      timer.unref()
      pending = { promise, resolve, reject, timer }
      this.#pending.set(connection.id, pending)
    }
    return pending
  }

  /** Outbound side: opens the admission stream, then runs the exchange. */
  async #initiate(connection: Connection): Promise<void> {
    const deadline = this.#deadline()
    try {
      const stream = await connection.newStream(ADMISSION_PROTOCOL, { signal: deadline.signal, runOnLimitedConnection: true })
      await this.#exchange(stream, connection, deadline.signal)
    } finally {
      deadline.clear()
    }
  }

  /** Inbound side: the remote opened the admission stream. */
  async #respond(stream: Stream, connection: Connection): Promise<void> {
    const deadline = this.#deadline()
    try {
      await this.#exchange(stream, connection, deadline.signal)
    } catch (err) {
      this.#fail(connection, err)
    } finally {
      deadline.clear()
    }
  }

  /**
   * The exchange's time budget. Not AbortSignal.timeout(): Node keeps a timeout signal that has
   * listeners alive until it fires, and with it whatever a listener left on it still reaches (the
   * stream, the connection) for the whole timeout after the exchange ended. A cleared timer lets
   * the exchange go at once. (The churn benchmark found the same pattern in p-event, patched.)
   */
  #deadline(): { signal: AbortSignal; clear(): void } {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new CertificateRefusedError('admission-timeout', `no admission within ${this.#timeoutMs} ms`)), this.#timeoutMs)
    timer.unref()
    return { signal: controller.signal, clear: () => clearTimeout(timer) }
  }

  /**
   * Both sides do the same, as in the TLS encrypter: send our chain, verify theirs (refusing
   * with a reason they will see), send our verdict, read theirs. Each side thus logs its own
   * reason for a refusal, whichever side dialled.
   */
  async #exchange(stream: Stream, connection: Connection, signal: AbortSignal): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    await writeChain(lp, this.#identity.material.chainDer, signal)
    const chain = await readChain(lp, signal)
    let remote: VerifiedPeer
    try {
      remote = await this.#identity.verifier.verify(chain, connection.remotePeer)
    } catch (err) {
      if (isRefusal(err)) {
        err.peerId ??= connection.remotePeer
        this.#identity.refusePeer(err, { via: 'admission', by: 'local', remoteAddr: connection.remoteAddr.toString() })
        ;(err as ReportedRefusal).reported = true
        // Tell the remote why, and give it the moment it needs to check our chain and log its
        // own reason, before the connection is torn down (an abort discards unread data).
        await lp.write(encodeVerdict({ accepted: false, reason: err.reason, detail: err.message }), { signal }).catch(() => undefined)
        await lp.read({ signal: AbortSignal.any([signal, AbortSignal.timeout(REMOTE_VERDICT_GRACE_MS)]) }).catch(() => undefined)
      }
      throw err
    }
    await lp.write(encodeVerdict({ accepted: true }), { signal })
    await readVerdict(lp, signal)
    this.#admit(connection, remote)
    await stream.close({ signal })
  }

  #admit(connection: Connection, remote: VerifiedPeer): void {
    const pending = this.#stateOf(connection)
    clearTimeout(pending.timer)
    this.#admitted.add(connection.id)
    this.#identity.acceptPeer(remote, 'admission')
    this.#log('admitted %p on connection %s', connection.remotePeer, connection.id)
    pending.resolve()
  }

  #fail(connection: Connection, err: unknown): void {
    const pending = this.#pending.get(connection.id)
    const refusal = isRefusal(err)
      ? err
      : new CertificateRefusedError('protocol-error', `admission failed: ${describeFailure(err)}`)
    refusal.peerId ??= connection.remotePeer
    if ((refusal as ReportedRefusal).reported !== true) {
      this.#identity.refusePeer(refusal, {
        via: 'admission',
        by: refusal.reason === 'refused-by-remote' ? 'remote' : 'local',
        remoteAddr: connection.remoteAddr.toString(),
      })
    }
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      pending.reject(refusal)
    }
    connection.abort(refusal)
    // A peer refused for its certificate leaves no trace in the peer store (libp2p recorded the
    // connection's address when it opened). Stream failures are not verdicts: a peer whose
    // admission merely broke off keeps its entry.
    if (refusal.reason !== 'protocol-error' && refusal.reason !== 'refused-by-remote') {
      this.#components.peerStore?.delete(connection.remotePeer).catch(() => undefined)
    }
  }
}

export function mtlsAdmission(identity: NodeIdentity, init: MtlsAdmissionInit = {}): (components: MtlsAdmissionComponents) => MtlsAdmission {
  return (components) => new MtlsAdmission(identity, components, init)
}

type Lp = ReturnType<typeof lpStream>
type ReportedRefusal = CertificateRefusedError & { reported?: boolean }

async function writeChain(lp: Lp, chain: readonly Uint8Array[], signal: AbortSignal): Promise<void> {
  for (const der of chain) await lp.write(der, { signal })
  await lp.write(new Uint8Array(), { signal })
}

async function readChain(lp: Lp, signal: AbortSignal): Promise<Uint8Array[]> {
  const chain: Uint8Array[] = []
  for (;;) {
    const frame = (await lp.read({ signal })).subarray()
    if (frame.byteLength === 0) return chain
    if (chain.length === MAX_CHAIN) {
      throw new CertificateRefusedError('protocol-error', `peer sent more than ${MAX_CHAIN} certificates`)
    }
    chain.push(frame)
  }
}

async function readVerdict(lp: Lp, signal: AbortSignal): Promise<void> {
  const frame = (await lp.read({ signal })).subarray()
  if (frame.byteLength < VERDICT_HEADER_BYTES) {
    throw new CertificateRefusedError('protocol-error', 'truncated admission verdict')
  }
  const header = decodeVerdictHeader(frame.subarray(0, VERDICT_HEADER_BYTES))
  if (!header.accepted) {
    const text = decodeVerdictText(frame.subarray(VERDICT_HEADER_BYTES))
    throw new CertificateRefusedError('refused-by-remote', `${text.reason}: ${text.detail}`)
  }
}

/** A readable cause: stream failures arrive as Events (a close or reset), not Errors. */
function describeFailure(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof Event !== 'undefined' && err instanceof Event) return `the admission stream ended (${err.type}) before the verdict`
  return String(err)
}
