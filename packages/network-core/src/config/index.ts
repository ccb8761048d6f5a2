// Config module entry: TOML + environment configuration of a Hypha node, validated by one
// zod schema per role, with errors that list every problem at once.

export { ENV_PREFIX, envName } from './env.js'
export { ConfigError, type ConfigIssue, formatIssues } from './errors.js'
export { exampleConfig } from './example.js'
export { type LoadConfigOptions, loadConfig, parseConfig } from './load.js'
export {
  type CamelCasedDeep,
  type ConfigOf,
  type ConfigSchema,
  cidrProblem,
  defineConfigSchema,
  multiaddrProblem,
  type NetworkConfig,
  networkConfigSchema,
  networkConfigShape,
} from './schema.js'
export { durationSchema, parseDuration, parseRate, parseSize, rateSchema, sizeSchema } from './units.js'
