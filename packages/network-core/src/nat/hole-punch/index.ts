// Hole punching: libp2p's DCUtR protocol driven so that TCP punches work from Node (see
// hole-punch.ts for what differs from @libp2p/dcutr and why), and its wire message.
export {
  DCUTR_PROTOCOL,
  HOLE_PUNCH_OUTCOMES,
  HolePunch,
  type HolePunchComponents,
  type HolePunchEvents,
  type HolePunchInit,
  type HolePunchOutcome,
  type HolePunchResult,
  holePunch,
} from './hole-punch.js'
export {
  decodeHolePunch,
  encodeHolePunch,
  type HolePunchMessage,
  InvalidHolePunchMessageError,
  MAX_HOLE_PUNCH_MESSAGE_BYTES,
} from './hole-punch-message.js'
