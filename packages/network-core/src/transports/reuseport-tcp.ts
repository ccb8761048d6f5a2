// TCP with port reuse, as go-libp2p's reuseport transport: the listener binds with SO_REUSEPORT
// and every outgoing connection is dialled FROM the listen port, so the NAT mapping a remote
// observes (identify) is the very mapping a hole punch dials through. Node cannot bind an
// outgoing socket to a port that is listening; node-unix-socket makes a SO_REUSEADDR|SO_REUSEPORT
// socket bound to it, which backs the net.Socket that @libp2p/tcp connects (`fd` dial option).
// Limits: IPv4 and IPv6 wildcard or specific listeners; a dial whose 4-tuple is taken (a live or
// TIME_WAIT connection to the same remote address) falls back to an ephemeral port, except a
// hole-punch dial, which is useless from any other port and fails instead.
import { createServer } from 'node:net'
import type {
  ComponentLogger,
  Connection,
  CreateListenerOptions,
  DialTransportOptions,
  Listener,
  Logger,
  MultiaddrConnection,
  Transport,
  Upgrader,
} from '@libp2p/interface'
import { serviceCapabilities, transportSymbol } from '@libp2p/interface'
import { type TCPOptions, tcp } from '@libp2p/tcp'
import { getNetConfig } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createReuseportFd } from 'node-unix-socket'

export interface ReuseportDialOptions extends DialTransportOptions {
  /** false: act as the responder (multistream, TLS and yamux server) on this outgoing connection. */
  initiator?: boolean
  /** A hole-punch dial: it must leave from the listen port, or not at all. */
  holePunch?: boolean
}

/** Errors of a dial whose local port + remote address pair is already in use. */
const TUPLE_TAKEN = new Set(['EADDRNOTAVAIL', 'EADDRINUSE'])

export class TupleInUseError extends Error {
  static override readonly name = 'TupleInUseError'
  override readonly name = 'TupleInUseError'
}

export class NoListenPortError extends Error {
  static override readonly name = 'NoListenPortError'
  override readonly name = 'NoListenPortError'
}

interface BoundPort {
  family: 4 | 6
  host: string
  port: number
}

export interface ReuseportTcpComponents {
  logger: ComponentLogger
  [name: string]: unknown
}

class ReuseportTcp implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@hypha/reuseport-tcp'
  readonly [serviceCapabilities] = ['@libp2p/transport']
  readonly #inner: Transport
  readonly #log: Logger
  /** Ports the listeners are bound to, newest first. */
  #bound: BoundPort[] = []

  constructor(inner: Transport, components: ReuseportTcpComponents) {
    this.#inner = inner
    this.#log = components.logger.forComponent('hypha:transport:reuseport-tcp')
  }

  get dialFilter(): Transport['dialFilter'] {
    return (addrs) => this.#inner.dialFilter(addrs)
  }

  get listenFilter(): Transport['listenFilter'] {
    return (addrs) => this.#inner.listenFilter(addrs)
  }

  /** The port this node's TCP listener of the given family is bound to, if any. */
  listenPort(family: 4 | 6): number | undefined {
    return this.#bound.find((b) => b.family === family)?.port
  }

  async dial(ma: Multiaddr, options: ReuseportDialOptions): Promise<Connection> {
    const dialOptions = options.initiator === false ? { ...options, upgrader: asResponder(options.upgrader) } : options
    const target = getNetConfig(ma)
    const family = target.type === 'ip6' ? 6 : 4
    // a listener on a loopback address cannot be the source of a connection that leaves the machine
    const bound = this.#bound.find((b) => b.family === family && (!isLoopback(b.host) || isLoopback(target.host)))
    if (bound === undefined) {
      if (options.holePunch === true) throw new NoListenPortError(`no TCP listener for IPv${family}: a hole punch must leave from the listen port`)
      return this.#inner.dial(ma, dialOptions)
    }
    // @libp2p/tcp spreads its dial options into net.connect(): `fd` makes the socket it creates
    // the one bound to our listen port. Its dial runs synchronously from here to net.connect and
    // only throws before it on an aborted signal (checked first), so the socket always owns the
    // fd and closes it with itself.
    options.signal?.throwIfAborted()
    const fd = createReuseportFd(bound.port, bound.host)
    try {
      return await this.#inner.dial(ma, { ...dialOptions, fd, readable: true, writable: true } as ReuseportDialOptions)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== undefined && TUPLE_TAKEN.has(code)) {
        if (options.holePunch === true) throw new TupleInUseError(`${code}: the listen port already has a connection to ${ma.toString()}`)
        this.#log('%s dialling %a from port %d, dialling from an ephemeral port', code, ma, bound.port)
        return this.#inner.dial(ma, dialOptions)
      }
      throw err
    }
  }

  createListener(options: CreateListenerOptions): Listener {
    const listener = this.#inner.createListener(options)
    const listen = listener.listen.bind(listener)
    let entry: BoundPort | undefined
    listener.listen = async (ma: Multiaddr): Promise<void> => {
      await assertPortFree(ma)
      await listen(ma)
      const { host, type } = getNetConfig(ma)
      const port = listener.getAddrs().map((a) => getNetConfig(a).port)[0]
      if (port === undefined || (type !== 'ip4' && type !== 'ip6')) return
      entry = { family: type === 'ip6' ? 6 : 4, host, port }
      this.#bound = [entry, ...this.#bound]
      this.#log('dialling from %s:%d', host, port)
    }
    listener.addEventListener('close', () => {
      this.#bound = this.#bound.filter((b) => b !== entry)
    })
    return listener
  }
}

/**
 * libp2p's upgrader acts as the multistream and security responder when a dial says
 * `initiator: false`, but yamux picks its side (odd or even stream ids) from the connection's
 * `direction`, which the TCP dial sets to 'outbound'. A simultaneous open then has two yamux
 * clients ("Both endpoints are clients"). Marking the connection inbound keeps the three layers
 * in agreement.
 */
function asResponder(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property, receiver) {
      if (property === 'upgradeOutbound') {
        return (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => {
          ;(maConn as { direction: 'inbound' | 'outbound' }).direction = 'inbound'
          return target.upgradeOutbound(maConn, opts)
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * SO_REUSEPORT lets a second process of the same user bind a port that is already listening, and
 * the kernel would then share inbound connections between the two nodes. A plain bind first keeps
 * "address in use" an error, as it is without port reuse.
 */
async function assertPortFree(ma: Multiaddr): Promise<void> {
  const { host, port } = getNetConfig(ma)
  if (port === undefined || port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(Object.assign(new Error(`TCP port ${port} on ${host} is already in use (${err.code ?? err.message})`), { code: err.code }))
    })
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1'
}

export function reuseportTcp(init: TCPOptions = {}): (components: ReuseportTcpComponents) => Transport {
  const inner = tcp({ ...init, listenOpts: { ...init.listenOpts, reusePort: true } as TCPOptions['listenOpts'] })
  return (components) => new ReuseportTcp(inner(components as Parameters<typeof inner>[0]), components)
}
