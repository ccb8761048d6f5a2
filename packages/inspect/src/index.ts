// @hypha/inspect: the hypha-inspect CLI, and its commands as functions for scripts and tests.
export { main, USAGE } from './cli.js'
export { type CertInfo, certInfo } from './commands/cert-info.js'
export { type LookupResult, lookup } from './commands/lookup.js'
export { renderPeers } from './commands/peers.js'
export { renderTasks } from './commands/tasks.js'
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.js'
export { age, type Output, progressBar, shortId, table } from './output.js'
