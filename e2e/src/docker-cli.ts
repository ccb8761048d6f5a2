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

export async function createNetwork(spec: NetworkSpec): Promise<void> {
  await docker('network', 'create', '--driver', 'bridge', '--subnet', spec.subnet, ...(spec.internal === true ? ['--internal'] : []), spec.name)
}

export async function removeNetwork(name: string): Promise<void> {
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
