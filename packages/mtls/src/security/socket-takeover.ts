// Native TLS for TCP connections: node:tls runs on the TCP socket itself instead of on a JS
// Duplex bridged from libp2p's MessageStream.
//
// Why: through the bridge (toNodeDuplex -> JSStreamSocket) every TLS record crosses JS twice
// more, once into a Duplex and once out of it; measured on this machine that bridge alone
// costs ~45% of TLS throughput (docs/benchmarks.md). When TLS wraps the net.Socket, OpenSSL
// reads and writes the socket's file descriptor in C++ (TLSWrap on the TCP handle) and JS only
// sees plaintext.
//
// How: @libp2p/tcp's connection (TCPSocketMultiaddrConnection) exposes its net.Socket as
// `socket`. Before TLS takes the handle over, the connection must stop reading it, and the
// bytes it already read but nobody consumed (the peer's ClientHello can arrive while
// multistream-select finishes; its leftovers are pushed back into the connection's read
// buffer) go back into the socket (`unshift`), where node:tls picks them up when it wraps the
// socket. After that the connection object only carries lifecycle: closing it ends the socket,
// and the socket closing closes it (the TLS socket is destroyed with its parent, and the
// parent with it). Its inactivity timer keeps working: TLS activity refreshes the parent's.
//
// Anything else (a relayed connection, a protected connection, a transport other than TCP)
// has no socket to take and keeps the bridge.
import { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import type { AbortOptions, MessageStream } from '@libp2p/interface'
import { closeTlsGracefully } from './tls-socket-stream.js'

/** The part of @libp2p/tcp's connection (and AbstractMessageStream) the takeover touches. */
interface TcpMessageStream {
  socket: Socket
  readBuffer: { byteLength: number; subarray(): Uint8Array; consume(bytes: number): void }
  sendClose(options?: AbortOptions): Promise<void>
}

function isTcpMessageStream(connection: MessageStream): connection is MessageStream & TcpMessageStream {
  const candidate = connection as Partial<TcpMessageStream>
  return (
    candidate.socket instanceof Socket &&
    !(candidate.socket instanceof TLSSocket) &&
    !candidate.socket.destroyed &&
    typeof candidate.readBuffer?.consume === 'function' &&
    typeof candidate.sendClose === 'function'
  )
}

/**
 * Detaches a TCP connection's socket from libp2p's reader so node:tls can wrap it. Returns
 * undefined (and changes nothing) when the connection is not a plain TCP socket connection.
 */
export function takeOverTcpSocket(connection: MessageStream): Socket | undefined {
  if (!isTcpMessageStream(connection)) return undefined
  const { socket, readBuffer } = connection
  // stop the flow first: from here on nothing is read from the handle until TLS starts
  socket.pause()
  // the only 'data' listener is the connection's own reader (socket-to-conn.js)
  socket.removeAllListeners('data')
  if (readBuffer.byteLength > 0) {
    const pending = readBuffer.subarray()
    readBuffer.consume(readBuffer.byteLength)
    socket.unshift(pending)
  }
  return socket
}

/**
 * Once TLS owns the socket, the TCP connection's own graceful close must go through TLS too.
 * libp2p closes a connection's maConn directly (alongside its muxer), and @libp2p/tcp's
 * sendClose() is `socket.destroySoon()` on the net.Socket: a bare FIN under TLS, then the file
 * descriptor closed with the peer's last bytes unread, which the kernel turns into a RST (it lost
 * data in flight and broke TCP hole punching, see tls-socket-stream.ts). A reset (sendReset,
 * `resetAndDestroy()` on the TCP handle) stays as it is: it is meant to be abrupt.
 */
export function closeThroughTls(connection: MessageStream, tlsSocket: TLSSocket): void {
  if (!isTcpMessageStream(connection)) return
  connection.sendClose = (options?: AbortOptions) => closeTlsGracefully(tlsSocket, options)
}
