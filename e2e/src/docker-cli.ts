// The few Docker operations Testcontainers does not offer (internal networks with fixed subnets,
// attaching a running container to a second network, kill, inspect), through the docker CLI.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })
    return stdout.trim()
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`docker ${args.join(' ')}: ${e.stderr?.trim() || e.message}`)
  }
}

export interface NetworkSpec {
  name: string
  subnet: string
  /** No route to the outside through the host (a LAN behind a router). */
  internal?: boolean
}

/**
 * With dockerd's --iptables=false the host routes between all bridges, so an "internal" LAN would
 * be reachable from the internet network through the host. These host rules stop any routed
 * traffic into or out of the LAN's bridge: its only way out is its router.
 */
function isolationRules(bridge: string): string[][] {
  return [
    ['FORWARD', '!', '-i', bridge, '-o', bridge, '-j', 'DROP'],
    ['FORWARD', '-i', bridge, '!', '-o', bridge, '-j', 'DROP'],
  ]
}

async function bridgeOf(network: string): Promise<string> {
  return `br-${(await docker('network', 'inspect', '-f', '{{.Id}}', network)).slice(0, 12)}`
}

export async function createNetwork(spec: NetworkSpec): Promise<void> {
  await docker('network', 'create', '--driver', 'bridge', '--subnet', spec.subnet, ...(spec.internal === true ? ['--internal'] : []), spec.name)
  if (spec.internal === true) {
    const bridge = await bridgeOf(spec.name)
    for (const rule of isolationRules(bridge)) await run('iptables', ['-I', ...rule])
  }
}

export async function removeNetwork(name: string): Promise<void> {
  const bridge = await bridgeOf(name).catch(() => undefined)
  if (bridge !== undefined) {
    for (const rule of isolationRules(bridge)) await run('iptables', ['-D', ...rule]).catch(() => undefined)
  }
  await docker('network', 'rm', name).catch(() => undefined)
}

export async function connectNetwork(network: string, container: string): Promise<void> {
  await docker('network', 'connect', network, container)
}

/** The container's IPv4 address on `network`. */
export async function ipOn(container: string, network: string): Promise<string> {
  const ip = await docker('inspect', '-f', `{{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}`, container)
  if (ip === '') throw new Error(`container ${container.slice(0, 12)} has no address on ${network}`)
  return ip
}

/** SIGKILL, as a crash would. */
export async function killContainer(container: string): Promise<void> {
  await docker('kill', container)
}
