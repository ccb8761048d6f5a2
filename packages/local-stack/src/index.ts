// @hypha/local-stack: the local stack (gateway, scheduler, workers as processes on loopback with a
// dev PKI) and the task demo; `hypha-stack up` / `hypha-stack demo` are their command line.
export { type DemoOptions, type DemoReport, runDemo } from './demo.js'
export { type DevPkiLayout, type DevPkiNode, ensureDevPki, identityFilesOf } from './dev-pki.js'
export { type AddWorkerOptions, LocalStack, type LocalStackOptions, loopbackAddresses, type StackNode } from './local-stack.js'
export { type Exit, type LogLine, NodeProcess, type NodeProcessOptions, type ReadyInfo } from './node-process.js'
export { type StackNodeConfig, type StackRole, stackConfigText } from './stack-config.js'
