// What every e2e topology shares: a temp dir with the PKI, networks with unique names and
// subnets, and cleanup of everything the test made (containers first, then networks).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNetwork, docker, type NetworkSpec, removeNetwork } from './docker-cli.js'
import type { HyphaNode } from './hypha-node.js'

export class Lab {
  readonly networks: string[] = []
  readonly nodes: HyphaNode[] = []
  readonly others: Array<{ stop(): Promise<unknown> }> = []
  /** Second octet of this lab's 10.x.0.0/16 (random: labs of crashed runs must not clash). */
  readonly octet = 100 + Math.floor(Math.random() * 150)

  private constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  static async create(name: string): Promise<Lab> {
    return new Lab(name, await mkdtemp(join(tmpdir(), `hypha-e2e-${name}-`)))
  }

  /**
   * A network <first>.<octet>.<index>.0/24 named hypha-e2e-<lab>-<name>-<pid>. `first` defaults to
   * 10 (private); the NAT lab's "internet" uses a public-looking 11.x (a DoD block, not routed on
   * this machine) because libp2p's AutoNAT and DCUtR ignore private addresses: the host routes it
   * to the Docker bridge only while the lab exists, and nothing leaves the machine.
   */
  async network(name: string, index: number, options: { internal?: boolean; first?: number } = {}): Promise<NetworkSpec> {
    const spec: NetworkSpec = {
      name: `hypha-e2e-${this.name}-${name}-${process.pid}`,
      subnet: `${options.first ?? 10}.${this.octet}.${index}.0/24`,
      ...(options.internal !== undefined ? { internal: options.internal } : {}),
    }
    await createNetwork(spec)
    this.networks.push(spec.name)
    return spec
  }

  track<T extends HyphaNode>(node: T): T {
    this.nodes.push(node)
    return node
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.nodes.map((n) => n.stop()), ...this.others.map((o) => o.stop())])
    // containers whose start failed were created but never handed back to the test
    const leftovers = await docker('ps', '-aq', '--filter', `name=^hypha-e2e-.*-${process.pid}$`).catch(() => '')
    if (leftovers !== '') await docker('rm', '-f', ...leftovers.split('\n')).catch(() => undefined)
    for (const network of this.networks) await removeNetwork(network)
    await rm(this.dir, { recursive: true, force: true })
  }
}
