// @chainsafe/libp2p-quic 2.1.1 ignores the dial's abort signal: a QUIC address that never
// answers holds the dial until quinn gives up, past libp2p's per-address timeout, so the
// dialler never gets to fall back to TCP. This wrapper makes the dial honour the signal; a
// connection that completes after the abort is closed instead of leaking.
import type { Connection, Transport } from '@libp2p/interface'

export function abortableDial<C>(factory: (components: C) => Transport): (components: C) => Transport {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    transport.dial = async (address, options) => {
      const attempt = dial(address, options)
      const signal = options.signal
      if (signal === undefined) return attempt
      return new Promise<Connection>((resolve, reject) => {
        const onAbort = (): void => {
          reject(signal.reason instanceof Error ? signal.reason : new Error('dial aborted'))
          attempt.then((late) => late.abort(new Error('dial aborted before the connection completed')), () => undefined)
        }
        if (signal.aborted) {
          onAbort()
          return
        }
        signal.addEventListener('abort', onAbort, { once: true })
        attempt.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
      })
    }
    return transport
  }
}
