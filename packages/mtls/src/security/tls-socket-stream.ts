// The secured connection of a TCP connection whose socket node:tls took over
// (socket-takeover.ts): a libp2p MessageStream of the TLS socket's plaintext, as @libp2p/tls's
// toMessageStream is for the bridged path, with a graceful close.
//
// Why not toMessageStream here: its close() is `destroySoon()`, which destroys the socket as soon
// as our side's FIN is out. Over the bridge that was harmless (the TCP socket underneath kept
// reading to the peer's FIN), but with TLS on the socket itself the peer's last bytes (its yamux
// GoAway, its close_notify) are then still unread, and the kernel answers a close() with unread
// data by a RST instead of a FIN. A RST loses data in flight, leaves no TIME_WAIT and wipes the
// NATs' conntrack entries of the 4-tuple, which TCP hole punching dials again (the NAT lab's
// fresh links fell from 20/20 to 10/20 direct). So close() ends our side, reads on until the peer
// ends its side too (or CLOSE_GRACE_MS pass), and only then lets the socket go.
import type { TLSSocket } from 'node:tls'
import type { AbortOptions, MessageStream, MessageStreamDirection } from '@libp2p/interface'
import { AbstractMessageStream, type SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** How long a close waits for the peer's FIN before the socket is destroyed anyway. */
export const CLOSE_GRACE_MS = 2_000

export class TlsSocketMessageStream extends AbstractMessageStream {
  readonly #socket: TLSSocket
  readonly #transport: MessageStream
  #closing: Promise<void> | undefined

  /**
   * @param transport - the TCP connection (lifecycle only: its data now flows through `socket`)
   * @param socket - the TLS socket wrapping the connection's net.Socket
   */
  constructor(transport: MessageStream, socket: TLSSocket) {
    super({
      log: transport.log,
      inactivityTimeout: transport.inactivityTimeout,
      maxReadBufferLength: transport.maxReadBufferLength,
      direction: transport.direction as MessageStreamDirection,
    })
    this.#socket = socket
    this.#transport = transport
    // closed before this stream existed: nothing left to tear down
    if (socket.closed) this.#closing = Promise.resolve()
    socket.on('data', (buf: Uint8Array) => this.onData(buf))
    socket.on('error', (err) => transport.abort(err))
    socket.on('drain', () => this.safeDispatchEvent('drain'))
    // the socket closing (the peer ended, a reset, our close) closes the TCP connection object
    socket.once('close', () => {
      this.#closing ??= transport.close().catch((err: Error) => transport.abort(err))
    })
    transport.addEventListener('close', (evt) => {
      socket.destroy()
      // mirror the transport's close reason (a local failure, a remote reset, a clean close)
      if (evt.error != null) {
        if (evt.local === true) this.abort(evt.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
    })
  }

  override async close(options?: AbortOptions): Promise<void> {
    if (this.#closing === undefined) await closeTlsGracefully(this.#socket, options)
    await this.#closing
  }

  sendData(data: Uint8ArrayList): SendResult {
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.#socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  sendReset(err: Error): void {
    this.#socket.destroy()
    this.#transport.abort(err)
  }

  sendPause(): void {
    this.#socket.pause()
  }

  sendResume(): void {
    this.#socket.resume()
  }
}

/**
 * Ends a TLS socket the way TCP means to be ended: our close_notify and FIN, then on reading
 * until the peer's FIN (allowHalfOpen is false, so the socket closes itself then), destroyed
 * after CLOSE_GRACE_MS or on abort if the peer never ends its side.
 */
export async function closeTlsGracefully(socket: TLSSocket, options?: AbortOptions): Promise<void> {
  if (socket.destroyed) return
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.end()
  // read on to the peer's FIN even if the stream above paused reading (backpressure): unread
  // bytes at close() are what makes the kernel send a RST
  socket.resume()
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
  const onAbort = (): void => {
    socket.destroy()
  }
  options?.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await closed
  } finally {
    clearTimeout(timer)
    options?.signal?.removeEventListener('abort', onAbort)
  }
}
