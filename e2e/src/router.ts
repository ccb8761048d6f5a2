// A NAT router container in the manner of libp2p's hole-punch interop lab: one leg on the
// "internet" network, one on a LAN (internal network); nftables masquerades the LAN to the
// internet address (endpoint-independent mapping, as Linux does) and a stateful firewall drops
// unsolicited inbound packets, so an early packet cannot make the NAT remap a port. With
// `symmetric`, every connection gets a random external port: no hole punch can work through it.
import type { StartedTestContainer } from 'testcontainers'
import { SysctlContainer } from './sysctl-container.js'
import { connectNetwork, ipOn, type NetworkSpec } from './docker-cli.js'

export interface Router {
  container: StartedTestContainer
  /** The router's address on the LAN: the workers' default gateway. */
  lanIp: string
  wanIp: string
  /** Whether `tc netem` delay could be applied (this kernel may lack sch_netem). */
  netem: boolean
  stop(): Promise<unknown>
}

/** The first three octets of a /24 subnet, with the trailing dot. */
const prefixOf = (subnet: string): string => subnet.slice(0, subnet.lastIndexOf('.') + 1)

export interface RouterOptions {
  delayMs?: number
  /** A symmetric NAT: a random external port per connection (nft `masquerade random`). */
  symmetric?: boolean
}

export async function startRouter(name: string, wan: NetworkSpec, lan: NetworkSpec, options: RouterOptions = {}): Promise<Router> {
  const container = await new SysctlContainer(process.env.HYPHA_E2E_ROUTER_IMAGE ?? 'node:24-bookworm-slim')
    .withSysctls({ 'net.ipv4.ip_forward': '1' })
    .withName(`hypha-e2e-${name}-${process.pid}`)
    .withNetworkMode(wan.name)
    .withAddedCapabilities('NET_ADMIN')
    .withEntrypoint(['sleep', 'infinity'])
    .withCommand([])
    .start()
  await connectNetwork(lan.name, container.getId())
  const delay = options.delayMs ?? 0
  const script = `
set -e
WAN=$(ip -o -4 addr show | awk -v p="${prefixOf(wan.subnet)}" 'index($4, p) == 1 { print $2 }')
LAN=$(ip -o -4 addr show | awk -v p="${prefixOf(lan.subnet)}" 'index($4, p) == 1 { print $2 }')
[ -n "$WAN" ] && [ -n "$LAN" ] || { echo "no WAN ($WAN) or LAN ($LAN) interface" >&2; exit 1; }
nft add table ip nat
nft 'add chain ip nat postrouting { type nat hook postrouting priority 100 ; }'
nft add rule ip nat postrouting oifname "$WAN" ip saddr ${lan.subnet} masquerade${options.symmetric === true ? ' random' : ''}
nft add table ip filter
nft 'add chain ip filter forward { type filter hook forward priority 0 ; policy accept ; }'
nft add rule ip filter forward iifname "$WAN" ct state established,related accept
nft add rule ip filter forward iifname "$WAN" drop
nft 'add chain ip filter input { type filter hook input priority 0 ; policy accept ; }'
nft add rule ip filter input iifname "$WAN" ct state new drop
if [ ${delay} -gt 0 ]; then
  if tc qdisc add dev "$WAN" root netem delay ${delay}ms 2>/dev/null && tc qdisc add dev "$LAN" root netem delay ${delay}ms 2>/dev/null; then echo netem=on; else echo netem=off; fi
else
  echo netem=off
fi
`
  const result = await container.exec(['sh', '-c', script])
  if (result.exitCode !== 0) throw new Error(`router ${name} setup failed: ${result.output}`)
  return {
    container,
    lanIp: await ipOn(container.getId(), lan.name),
    wanIp: await ipOn(container.getId(), wan.name),
    netem: result.output.includes('netem=on'),
    stop: () => container.stop({ timeout: 1_000 }),
  }
}
