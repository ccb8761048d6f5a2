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
