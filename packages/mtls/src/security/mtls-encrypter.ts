// The libp2p connection encrypter for TCP and relayed connections: TLS 1.3 on node:tls,
// mutual, each side presenting its CA-signed chain. OpenSSL performs the handshake (proving
// possession of the leaf key); our CertificateVerifier decides trust, dates and revocation,
// then both sides exchange an explicit verdict. The remote PeerId is the verified leaf key's.
import { type TLSSocket, connect as tlsConnect, TLSSocket as TLSSocketClass } from 'node:tls'
import type {
  ComponentLogger,
  ConnectionEncrypter,
  Logger,
  MessageStream,
  SecureConnectionOptions,
  SecuredConnection,
  StreamMuxerFactory,
  Upgrader,
} from '@libp2p/interface'
import { serviceCapabilities } from '@libp2p/interface'
import { toMessageStream, toNodeDuplex } from '@libp2p/tls/utils'
import type { NodeIdentity } from '../identity/node-identity.js'
import type { VerifiedPeer } from '../verify/chain-verifier.js'
import { CertificateRefusedError, isRefusal } from '../verify/errors.js'
import { readExactly } from './read-exactly.js'
import { closeThroughTls, takeOverTcpSocket } from './socket-takeover.js'
import { TlsSocketMessageStream } from './tls-socket-stream.js'
import { VERDICT_HEADER_BYTES, decodeVerdictHeader, decodeVerdictText, encodeVerdict } from './verdict.js'

export const MTLS_PROTOCOL = '/hypha/mtls/1.0.0'

export interface MtlsEncrypterComponents {
  logger: ComponentLogger
  upgrader: Upgrader
}

class MtlsEncrypter implements ConnectionEncrypter {
  readonly protocol = MTLS_PROTOCOL
  readonly [Symbol.toStringTag] = '@hypha/mtls'
  readonly [serviceCapabilities] = ['@libp2p/connection-encryption']
  readonly #identity: NodeIdentity
  readonly #components: MtlsEncrypterComponents
  readonly #log: Logger

  constructor(identity: NodeIdentity, components: MtlsEncrypterComponents) {
    this.#identity = identity
    this.#components = components
    this.#log = components.logger.forComponent('hypha:mtls:encrypter')
  }

  async secureInbound(connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return this.#secure(connection, true, options)
  }

  async secureOutbound(connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return this.#secure(connection, false, options)
  }

  async #secure(connection: MessageStream, isServer: boolean, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const remoteAddr = remoteAddressOf(connection)
    const muxers = options?.skipStreamMuxerNegotiation === true ? new Map<string, StreamMuxerFactory>() : this.#components.upgrader.getStreamMuxers()
    let streamMuxer: StreamMuxerFactory | undefined
    const tlsOptions = {
      secureContext: this.#identity.secureContext,
      minVersion: 'TLSv1.3' as const,
      maxVersion: 'TLSv1.3' as const,
      // Trust is decided by our verifier below (the same one QUIC admission uses), not by
      // OpenSSL's verdict, which would refuse everyone for one stale CRL and hide the reason.
      rejectUnauthorized: false,
      // Early muxer negotiation through ALPN saves a round trip, as @libp2p/tls does.
      ALPNProtocols: [...muxers.keys(), 'libp2p'],
    }
    // TCP: TLS on the socket itself; anything else (relayed, protected): through a JS Duplex
    const tcpSocket = takeOverTcpSocket(connection)
    const transport = tcpSocket ?? toNodeDuplex(connection)
    const socket: TLSSocket = isServer
      ? new TLSSocketClass(transport, {
          ...tlsOptions,
          isServer: true,
          requestCert: true,
          ALPNCallback: ({ protocols }) => {
            const chosen = protocols.find((p) => muxers.has(p))
            streamMuxer = chosen !== undefined ? muxers.get(chosen) : undefined
            return chosen ?? (protocols.includes('libp2p') ? 'libp2p' : undefined)
          },
        })
      : tlsConnect({ ...tlsOptions, socket: transport, checkServerIdentity: () => undefined })
    transport.on('error', (err) => socket.destroy(err))
    // Errors after a refusal (the peer resets while we send our verdict) must not go unhandled;
    // the outcome is already decided by then.
    socket.on('error', (err) => this.#log.trace('tls socket error - %e', err))

    const onAbort = (): void => {
      socket.destroy(new CertificateRefusedError('tls-handshake', 'handshake timed out'))
    }
    options?.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await handshake(socket)
      const remote = await this.#verifyRemote(socket, options, remoteAddr)
      if (!isServer && typeof socket.alpnProtocol === 'string' && socket.alpnProtocol !== 'libp2p') {
        streamMuxer = muxers.get(socket.alpnProtocol)
      }
      this.#log('%s connection secured with %p', isServer ? 'inbound' : 'outbound', remote.peerId)
      if (tcpSocket !== undefined) closeThroughTls(connection, socket)
      return {
        remotePeer: remote.peerId,
        connection: tcpSocket !== undefined ? new TlsSocketMessageStream(connection, socket) : toMessageStream(connection, socket),
        ...(streamMuxer !== undefined ? { streamMuxer } : {}),
      }
    } catch (err) {
      socket.destroy()
      connection.abort(err as Error)
      throw err
    } finally {
      options?.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Verifies the remote chain, sends our verdict, then reads theirs. */
  async #verifyRemote(
    socket: TLSSocket,
    options: SecureConnectionOptions | undefined,
    remoteAddr: string | undefined,
  ): Promise<VerifiedPeer> {
    const via = 'tls' as const
    let remote: VerifiedPeer
    try {
      remote = await this.#identity.verifier.verify(peerChainOf(socket), options?.remotePeer)
    } catch (err) {
      if (!isRefusal(err)) throw err
      this.#identity.refusePeer(err, { via, by: 'local', ...(remoteAddr !== undefined ? { remoteAddr } : {}) })
      await writeAndEnd(socket, encodeVerdict({ accepted: false, reason: err.reason, detail: err.message }))
      throw err
    }
    socket.write(encodeVerdict({ accepted: true }))
    const header = decodeVerdictHeader(await readExactly(socket, VERDICT_HEADER_BYTES, options?.signal))
    if (!header.accepted) {
      const text = decodeVerdictText(await readExactly(socket, header.textBytes, options?.signal).catch(() => new Uint8Array()))
      const err = new CertificateRefusedError('refused-by-remote', `${text.reason}: ${text.detail}`)
      err.peerId = remote.peerId
      this.#identity.refusePeer(err, { via, by: 'remote', ...(remoteAddr !== undefined ? { remoteAddr } : {}) })
      throw err
    }
    this.#identity.acceptPeer(remote, via)
    return remote
  }
}

export function mtlsEncrypter(identity: NodeIdentity): (components: MtlsEncrypterComponents) => ConnectionEncrypter {
  return (components) => new MtlsEncrypter(identity, components)
}

async function handshake(socket: TLSSocket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      cleanup()
      reject(new CertificateRefusedError('tls-handshake', err.message))
    }
    const onClose = (): void => {
      cleanup()
      reject(new CertificateRefusedError('tls-handshake', 'connection closed during the TLS handshake'))
    }
    const onSecure = (): void => {
      cleanup()
      resolve()
    }
    const cleanup = (): void => {
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.off('secure', onSecure)
      socket.off('secureConnect', onSecure)
    }
    socket.once('error', onError)
    socket.once('close', onClose)
    // 'secure' fires on both sides of a TLSSocket; 'secureConnect' on tls.connect clients.
    socket.once('secure', onSecure)
    socket.once('secureConnect', onSecure)
  })
}

/**
 * The DER chain the peer presented, leaf first. getPeerCertificate(true) is read once:
 * getPeerX509Certificate() corrupts the chain on a second call (Node bug).
 */
function peerChainOf(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = []
  const seen = new Set<string>()
  let current = socket.getPeerCertificate(true)
  while (current?.raw !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256)
    chain.push(new Uint8Array(current.raw))
    current = current.issuerCertificate
  }
  return chain
}

async function writeAndEnd(socket: TLSSocket, frame: Uint8Array): Promise<void> {
  await new Promise<void>((resolve) => {
    socket.end(frame, () => resolve())
    setTimeout(resolve, 1000).unref()
  })
}

function remoteAddressOf(connection: MessageStream): string | undefined {
  const addr = (connection as { remoteAddr?: { toString(): string } }).remoteAddr
  return addr?.toString()
}
