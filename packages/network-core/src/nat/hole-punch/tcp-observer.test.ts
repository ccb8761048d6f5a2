import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, IdentifyResult, PeerId } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { RELAY_HOP_PROTOCOL } from '../../connection/addresses.js'
import { observationTargets, TcpObserver, type TcpObserverInit } from './tcp-observer.js'

const strings = (addresses: Multiaddr[]): string[] => addresses.map(String)

describe('observationTargets', () => {
  it("dials the relay's TCP port at the IP it is reached on when it announces only loopback (the NAT lab's gateway before AutoNAT)", () => {
    const targets = observationTargets(
      [multiaddr('/ip4/11.152.0.2/udp/4001/quic-v1')],
      [multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1'), multiaddr('/ip4/127.0.0.1/tcp/4001')],
    )
    // never 127.0.0.1:4001: from a node listening on 4001 that is its own listener
    expect(strings(targets)).toEqual(['/ip4/11.152.0.2/tcp/4001'])
  })

  it('keeps other announced TCP addresses after those, and loopback ones when the relay is reached over loopback', () => {
    const listen = [
      multiaddr('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWNhDK4ENKuS4gQikEtHXuVXqgFfbbasGuQvqnZobHbm4K'),
      multiaddr('/ip4/203.0.113.7/tcp/4002'),
    ]
    expect(strings(observationTargets([multiaddr('/ip4/11.0.0.2/udp/4001/quic-v1')], listen))).toEqual([
      '/ip4/11.0.0.2/tcp/4001',
      '/ip4/11.0.0.2/tcp/4002',
      '/ip4/203.0.113.7/tcp/4002',
    ])
    expect(strings(observationTargets([multiaddr('/ip4/127.0.0.1/udp/9000/quic-v1')], listen))).toEqual([
      '/ip4/127.0.0.1/tcp/4001',
      '/ip4/127.0.0.1/tcp/4002',
      '/ip4/203.0.113.7/tcp/4002',
    ])
  })

  it('has nothing to dial for a relay without a TCP listener', () => {
    expect(observationTargets([multiaddr('/ip4/11.0.0.2/udp/4001/quic-v1')], [multiaddr('/ip4/11.0.0.2/udp/4001/quic-v1')])).toEqual([])
  })
})

describe('TcpObserver', () => {
  let relay: PeerId

  beforeAll(async () => {
    relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  const relayQuic = multiaddr('/ip4/11.152.0.2/udp/4001/quic-v1')
  const relayListen = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
  const observed = multiaddr('/ip4/11.152.0.5/tcp/4001')

  function identified(over: Multiaddr, observedAddr: Multiaddr | undefined): IdentifyResult {
    return {
      peerId: relay,
      protocols: [RELAY_HOP_PROTOCOL],
      listenAddrs: relayListen,
      observedAddr,
      connection: { remoteAddr: over, status: 'open' } as Connection,
    } as IdentifyResult
  }

  /** A connection manager whose TCP dials resolve or fail as told, and the observer over it. */
  function observerWith(dial: (targets: Multiaddr[]) => Promise<void>): { observer: TcpObserver; dials: Multiaddr[][] } {
    const dials: Multiaddr[][] = []
    const connectionManager: TcpObserverInit['connectionManager'] = {
      getConnections: () => [{ remoteAddr: relayQuic.encapsulate(`/p2p/${relay}`), status: 'open' } as Connection],
      openConnection: async (targets) => {
        const list = (Array.isArray(targets) ? targets : [targets]) as Multiaddr[]
        dials.push(list)
        await dial(list)
        return { remoteAddr: list[0] } as Connection
      },
    }
    const observer = new TcpObserver({
      connectionManager,
      peerStore: {
        get: async () => ({ addresses: relayListen.map((multiaddr) => ({ multiaddr, isCertified: false })) }),
      } as unknown as TcpObserverInit['peerStore'],
      allows: () => true,
      dialTimeoutMs: 1_000,
      log: defaultLogger().forComponent('test'),
    })
    return { observer, dials }
  }

  it('records a TCP observation from identify over a direct connection, newest first', () => {
    const { observer, dials } = observerWith(async () => undefined)
    observer.onIdentify(identified(multiaddr('/ip4/11.152.0.2/tcp/4001'), observed))
    expect(strings(observer.list())).toEqual([String(observed)])
    expect(dials).toEqual([])
  })

  it('dials a relay met over QUIC at its QUIC IP, once a minute at most in the background', () => {
    const { observer, dials } = observerWith(async () => undefined)
    observer.onIdentify(identified(relayQuic, multiaddr('/ip4/11.152.0.5/udp/40000/quic-v1')))
    observer.onIdentify(identified(relayQuic, multiaddr('/ip4/11.152.0.5/udp/40000/quic-v1')))
    expect(dials.map(strings)).toEqual([[`/ip4/11.152.0.2/tcp/4001/p2p/${relay}`]])
  })

  it('ensure() dials again after a failed background dial and resolves once identify brings the observation', async () => {
    let fail = true
    const { observer, dials } = observerWith(async () => {
      if (fail) throw new Error('connection refused')
    })
    observer.onIdentify(identified(relayQuic, undefined))
    await new Promise((resolve) => setImmediate(resolve))
    expect(observer.list()).toEqual([])
    fail = false
    const ensured = observer.ensure(relay, AbortSignal.timeout(5_000))
    // the TCP connection's identify, as libp2p runs it after the dial
    await new Promise((resolve) => setImmediate(resolve))
    observer.onIdentify(identified(multiaddr('/ip4/11.152.0.2/tcp/4001'), observed))
    await expect(ensured).resolves.toBe(true)
    expect(dials).toHaveLength(2)
  })

  it('ensure() resolves false when no observation comes before the signal', async () => {
    const { observer } = observerWith(async () => undefined)
    await expect(observer.ensure(relay, AbortSignal.timeout(50))).resolves.toBe(false)
  })

  it('ensure() shares one dial among concurrent callers', async () => {
    let release: () => void = () => undefined
    const { observer, dials } = observerWith(() => new Promise<void>((resolve) => (release = resolve)))
    const first = observer.ensure(relay, AbortSignal.timeout(5_000))
    const second = observer.ensure(relay, AbortSignal.timeout(5_000))
    await new Promise((resolve) => setImmediate(resolve))
    release()
    observer.onIdentify(identified(multiaddr('/ip4/11.152.0.2/tcp/4001'), observed))
    await expect(Promise.all([first, second])).resolves.toEqual([true, true])
    expect(dials).toHaveLength(1)
  })
})
