// The short-lived libp2p node behind `probe` and `lookup`: the certificates (and, for lookup,
// the bootstrap peers) of a node's configuration file, listening on loopback only, no metrics,
// DHT client. Any role's file works: the role sections are read past, not checked.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { loadIdentity, probeConfig } from '@hypha/app-kit'
import type { NodeIdentity } from '@hypha/mtls'
import {
  ConfigError,
  createNode,
  defineConfigSchema,
  type HyphaNode,
  loadConfig,
  type NetworkConfig,
  type NodeRole,
} from '@hypha/network-core'
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'
import { UsageError } from './errors.js'

/** The network sections, checked as every node checks them; a role's own section passes unread. */
const anyRoleSchema = defineConfigSchema({
  gateway: z.unknown().optional(),
  scheduler: z.unknown().optional(),
  worker: z.unknown().optional(),
})

const QUIET = { info: () => undefined, warn: () => undefined }

export function loadNodeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): NetworkConfig {
  if (file === undefined)
    throw new UsageError('needs --config FILE (or HYPHA_CONFIG): a node configuration whose certificates the command uses')
  try {
    return loadConfig({ file, schema: anyRoleSchema, env: { ...besideTheFile(file, env), ...env } }) as unknown as NetworkConfig
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message)
    throw err
  }
}

export interface Session {
  node: HyphaNode
  identity: NodeIdentity | undefined
}

export async function withSession<T>(
  config: NetworkConfig,
  options: { bootstrap: boolean },
  run: (session: Session) => Promise<T>,
): Promise<T> {
  const identity = await loadIdentity(config, { watch: false, log: QUIET })
  try {
    // The certificate's own role (peers check it), except that a gateway's certificate makes a
    // plain worker-like node: the role 'gateway' would also start a relay server.
    const certified = [...(identity?.roles ?? [])][0] as NodeRole | undefined
    const role: NodeRole = certified === undefined || certified === 'gateway' ? 'worker' : certified
    const base = probeConfig(config)
    const sessionConfig = options.bootstrap
      ? { ...base, network: { ...base.network, bootstrapPeers: config.network.bootstrapPeers } }
      : base
    const node = await createNode(sessionConfig, identity, role, { collectDefaultMetrics: false })
    try {
      return await run({ node, identity })
    } finally {
      await node.stop()
    }
  } finally {
    identity?.close()
  }
}

/**
 * A node reads the relative paths of its [security] files from its working directory (the local
 * stack runs each node in .hypha/). An operator runs hypha-inspect from anywhere: a relative path
 * that does not exist from here but does beside the configuration file is taken from there.
 */
function besideTheFile(file: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let security: Record<string, unknown> | undefined
  try {
    const parsed = parseToml(readFileSync(file, 'utf8')) as { security?: Record<string, unknown> }
    security = parsed.security
  } catch {
    return {} // loadConfig reports an unreadable or invalid file with the key and the line
  }
  const relocate = (value: unknown): string | undefined => {
    if (typeof value !== 'string' || value === '' || isAbsolute(value) || existsSync(value)) return undefined
    const beside = resolve(dirname(file), value)
    return existsSync(beside) ? beside : undefined
  }
  const overrides: NodeJS.ProcessEnv = {}
  for (const key of ['cert', 'key', 'trust'] as const) {
    const name = `HYPHA_SECURITY__${key.toUpperCase()}`
    const moved = env[name] === undefined ? relocate(security?.[key]) : undefined
    if (moved !== undefined) overrides[name] = moved
  }
  const crls = security?.crl
  if (Array.isArray(crls) && env.HYPHA_SECURITY__CRL === undefined && crls.some((c) => relocate(c) !== undefined)) {
    overrides.HYPHA_SECURITY__CRL = crls.map((c) => relocate(c) ?? String(c)).join(',')
  }
  return overrides
}
