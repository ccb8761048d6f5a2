// The three node roles. network-core knows which network duties each role has (relay server,
// DHT mode); what a role does with the network (tasks) lives in the apps.
export type NodeRole = 'gateway' | 'scheduler' | 'worker'

export const NODE_ROLES: readonly NodeRole[] = ['gateway', 'scheduler', 'worker']
