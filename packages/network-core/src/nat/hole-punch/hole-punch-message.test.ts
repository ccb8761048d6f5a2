import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import {
  decodeHolePunch,
  encodeHolePunch,
  InvalidHolePunchMessageError,
  MAX_HOLE_PUNCH_MESSAGE_BYTES,
  MAX_OBSERVED_ADDRESSES,
  parseAddresses,
} from './hole-punch-message.js'

const address = multiaddr('/ip4/11.0.0.2/tcp/4001')

describe('DCUtR message codec', () => {
  it('round-trips CONNECT with addresses and SYNC without', () => {
    const connect = decodeHolePunch(encodeHolePunch({ type: 'CONNECT', observedAddresses: [address.bytes] }))
    expect(connect.type).toBe('CONNECT')
    expect(parseAddresses(connect.observedAddresses).map(String)).toEqual(['/ip4/11.0.0.2/tcp/4001'])
    expect(decodeHolePunch(encodeHolePunch({ type: 'SYNC', observedAddresses: [] }))).toEqual({ type: 'SYNC', observedAddresses: [] })
  })

  it('reads the bytes go-libp2p writes (type 100 = CONNECT, field 2 = address)', () => {
    const wire = Uint8Array.from([0x08, 0x64, 0x12, address.bytes.length, ...address.bytes])
    expect(decodeHolePunch(wire).type).toBe('CONNECT')
  })

  it('refuses unknown types, truncated and oversized messages with one error type', () => {
    expect(() => decodeHolePunch(Uint8Array.from([0x08, 0x07]))).toThrow(InvalidHolePunchMessageError)
    expect(() => decodeHolePunch(Uint8Array.from([0x08, 0x64, 0x12, 0x20, 0x01]))).toThrow(InvalidHolePunchMessageError)
    expect(() => decodeHolePunch(new Uint8Array(MAX_HOLE_PUNCH_MESSAGE_BYTES + 1))).toThrow(/exceeds/)
    expect(() => decodeHolePunch(new Uint8Array())).toThrow(/type/)
  })

  it('keeps at most MAX_OBSERVED_ADDRESSES and skips addresses that do not parse', () => {
    const many = Array.from({ length: MAX_OBSERVED_ADDRESSES + 5 }, () => address.bytes)
    const decoded = decodeHolePunch(encodeHolePunch({ type: 'CONNECT', observedAddresses: [Uint8Array.from([0xff, 0xff]), ...many] }))
    expect(decoded.observedAddresses).toHaveLength(MAX_OBSERVED_ADDRESSES)
    expect(parseAddresses(decoded.observedAddresses)).toHaveLength(MAX_OBSERVED_ADDRESSES - 1)
  })

  it('never throws anything but InvalidHolePunchMessageError on random or mutated input (10,000 cases)', () => {
    const valid = encodeHolePunch({ type: 'CONNECT', observedAddresses: [address.bytes, address.bytes] })
    for (let i = 0; i < 10_000; i++) {
      let input: Uint8Array
      if (i % 2 === 0) input = randomBytes(i % 64)
      else {
        input = Uint8Array.from(valid)
        const flips = 1 + (i % 4)
        for (let f = 0; f < flips; f++) input[(i * 7 + f * 13) % input.length] = randomBytes(1)[0] as number
      }
      try {
        parseAddresses(decodeHolePunch(input).observedAddresses)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidHolePunchMessageError)
      }
    }
  })
})
