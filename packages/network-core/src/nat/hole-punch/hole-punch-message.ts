// The DCUtR wire message (libp2p specs relay/DCUtR.md): `HolePunch { required Type type = 1;
// repeated bytes ObsAddrs = 2; }`, CONNECT = 100, SYNC = 300. Same bytes as go-, rust- and
// js-libp2p speak, so a stock peer can take part. The decoder reads untrusted input: it bounds the
// address count and size and throws InvalidHolePunchMessageError on anything malformed.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { reader, writer } from 'protons-runtime'

export const HOLE_PUNCH_TYPE = { CONNECT: 100, SYNC: 300 } as const
export type HolePunchType = keyof typeof HOLE_PUNCH_TYPE

export interface HolePunchMessage {
  type: HolePunchType
  observedAddresses: Uint8Array[]
}

/** go-libp2p's limit on one DCUtR message; the stream's length prefix enforces it too. */
export const MAX_HOLE_PUNCH_MESSAGE_BYTES = 4 * 1024
/** Addresses beyond this are dropped: a peer has a handful of observed addresses, not hundreds. */
export const MAX_OBSERVED_ADDRESSES = 16

export class InvalidHolePunchMessageError extends Error {
  static override readonly name = 'InvalidHolePunchMessageError'
  override readonly name = 'InvalidHolePunchMessageError'
}

export function encodeHolePunch(message: HolePunchMessage): Uint8Array {
  const w = writer()
  w.uint32(8).int32(HOLE_PUNCH_TYPE[message.type])
  for (const address of message.observedAddresses.slice(0, MAX_OBSERVED_ADDRESSES)) w.uint32(18).bytes(address)
  return w.finish()
}

export function decodeHolePunch(bytes: Uint8Array): HolePunchMessage {
  if (bytes.byteLength > MAX_HOLE_PUNCH_MESSAGE_BYTES) {
    throw new InvalidHolePunchMessageError(`message of ${bytes.byteLength} bytes exceeds ${MAX_HOLE_PUNCH_MESSAGE_BYTES}`)
  }
  let type: number | undefined
  const observedAddresses: Uint8Array[] = []
  try {
    const r = reader(bytes)
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag >>> 3 === 1 && (tag & 7) === 0) type = r.int32()
      else if (tag >>> 3 === 2 && (tag & 7) === 2) {
        const address = r.bytes()
        if (observedAddresses.length < MAX_OBSERVED_ADDRESSES) observedAddresses.push(address)
      } else r.skipType(tag & 7)
    }
  } catch (err) {
    throw new InvalidHolePunchMessageError(`malformed DCUtR message: ${(err as Error).message}`)
  }
  const name = (Object.keys(HOLE_PUNCH_TYPE) as HolePunchType[]).find((k) => HOLE_PUNCH_TYPE[k] === type)
  if (name === undefined) throw new InvalidHolePunchMessageError(`unknown DCUtR message type ${String(type)}`)
  return { type: name, observedAddresses }
}

/** The addresses of a message that parse as multiaddrs; garbage entries are skipped, not fatal. */
export function parseAddresses(encoded: readonly Uint8Array[]): Multiaddr[] {
  const parsed: Multiaddr[] = []
  for (const bytes of encoded) {
    try {
      parsed.push(multiaddr(bytes))
    } catch {
      // a peer may send address kinds we do not know; the rest are still usable
    }
  }
  return parsed
}
