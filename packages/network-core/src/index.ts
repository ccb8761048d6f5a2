// @hypha/network-core: the libp2p node shared by every role (configuration, transports,
// discovery, NAT traversal, messaging, metrics). Built in the network-core issue; until then
// it re-exports the security layer every node is built on, so the apps depend on one package.
export { MTLS_PROTOCOL, ADMISSION_PROTOCOL, NodeIdentity, mtlsSecurity } from '@hypha/mtls'
