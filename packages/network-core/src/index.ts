// @hypha/network-core: the libp2p node shared by every role. Today: the configuration
// (TOML + environment, one zod schema per role) and the security layer every node is built on;
// the node factory, discovery, NAT traversal, messaging and metrics follow (network-core issue).
export { ADMISSION_PROTOCOL, MTLS_PROTOCOL, NodeIdentity, mtlsSecurity } from '@hypha/mtls'
export {
  ConfigError,
  type ConfigIssue,
  formatIssues,
  exampleConfig,
  ENV_PREFIX,
  envName,
  loadConfig,
  parseConfig,
  type LoadConfigOptions,
  type CamelCasedDeep,
  type ConfigOf,
  type ConfigSchema,
  type NetworkConfig,
  cidrProblem,
  defineConfigSchema,
  multiaddrProblem,
  networkConfigSchema,
  networkConfigShape,
  durationSchema,
  parseDuration,
  parseRate,
  parseSize,
  rateSchema,
  sizeSchema,
} from './config/index.js'

// The node
export { createNode, LINK_PROBE_MAX_BYTES, type CreateNodeOptions } from './node/create-node.js'
export {
  HyphaNode,
  type ConnectedPeer,
  type ConnectOptions,
  type HealthReport,
  type PeerLink,
  type HyphaServices,
} from './node/hypha-node.js'
export { nodeView, type NodeView } from './node/node-view.js'
export {
  isCircuitAddress,
  peerIdOfAddress,
  relayOfAddress,
  RELAY_HOP_PROTOCOL,
  RELAY_STOP_PROTOCOL,
  type TransportKind,
  transportOf,
  transportOfAddress,
} from './connection/addresses.js'
export { isRelayServer, kademliaMode, NODE_ROLES, type NodeRole } from './roles/role.js'
export { HYPHA_KAD_PROTOCOL } from './discovery/dht.js'
export { AddressFilter } from './connection/address-filter.js'
export { ReservationKeeper, type Reachability } from './nat/reservation-keeper.js'
export {
  DCUTR_PROTOCOL,
  HolePunch,
  type HolePunchOutcome,
  type HolePunchResult,
  decodeHolePunch,
  encodeHolePunch,
} from './nat/hole-punch/index.js'
export { TupleInUseError } from './transports/reuseport-tcp.js'
export { LINK_PROBE_PROTOCOL, LinkProbe, LinkProbeTooLargeError, type LinkProbeResult } from './connection/link-probe.js'

// Messaging: request/response
export {
  requestResponse,
  RequestResponse,
  defineProtocol,
  type Protocol,
  type MessageSchema,
  type RequestOf,
  type ResponseOf,
  type HandlerContext,
  type RequestHandler,
  type HandleOptions,
  type RequestOptions,
  type RequestResponseInit,
  type RequestResponseComponents,
  type RequestResponseEvents,
  type RequestCompleteDetail,
  type RequestRefusedDetail,
  type RequestOutcome,
  type RequestSide,
  type RefusalReason,
} from './messaging/request-response/index.js'
export {
  MessageTooLargeError,
  RequestTimeoutError,
  RemoteBusyError,
  RemoteHandlerError,
  InvalidRequestError,
  InvalidResponseError,
  ProtocolNotSupportedError,
  ProtocolAlreadyHandledError,
} from './messaging/request-response/errors.js'
export { RR_ENVELOPE_VERSION, RR_SESSION_VERSION, WireErrorCode } from './messaging/request-response/codec.js'
export { ProtocolError } from './messaging/protocol-error.js'
export {
  BULK_PROTOCOL,
  BulkErrorCode,
  BulkTransfer,
  BulkTransferError,
  bulkTransfer,
  DirectoryBulkStore,
  hashFile,
  type BulkAccessPolicy,
  type BulkAccessRequest,
  type BulkTransferEvents,
  type BulkTransferInit,
  type PayloadInfo,
  type PullOptions,
  type TransferCompleteDetail,
  type TransferOptions,
  type TransferProgress,
} from './messaging/bulk/index.js'

// Messaging: pub/sub
export {
  TypedPubSub,
  type TypedTopic,
  type TypedPubSubInit,
  type PubSubEvents,
  type PubSubRouter,
  type MessageHandler,
  type MessageInvalidDetail,
} from './messaging/pubsub/index.js'
export { gossipsubOptions, hyphaTopicScoreParams, type GossipsubOptionsInit } from './messaging/pubsub/options.js'
export { PUBSUB_ENVELOPE_VERSION, type InvalidMessageReason } from './messaging/pubsub/codec.js'
export {
  PubSubConfigError,
  PubSubInvalidMessageError,
  PubSubMessageTooLargeError,
  PubSubStoppedError,
  PubSubTopicConflictError,
} from './messaging/pubsub/errors.js'

// Metrics
export { attachNodeMetrics, NODE_METRIC_NAMES, REQUEST_DURATION_BUCKETS, type MetricsNode } from './metrics/node-metrics.js'

// Connection bandwidth limits
export {
  bandwidthLimitedMuxer,
  bandwidthLimitsOf,
  hasBandwidthLimit,
  quicBandwidthWarning,
  QUIC_BANDWIDTH_WARNING_CODE,
  TokenBucket,
  ThrottledMessageStream,
  type BandwidthLimits,
  type ThrottleOptions,
} from './connection/bandwidth/index.js'
