// Schema: the zod schema of the [network], [security], [http] and [metrics] sections with
// their defaults and descriptions, the multiaddr/CIDR validators, and composition per role.
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { durationSchema, rateSchema, sizeSchema } from './units.js'

interface Component {
  name: string
  value?: string
}

function render(components: readonly Component[]): string {
  return components.map((c) => (c.value === undefined ? `/${c.name}` : `/${c.name}/${c.value}`)).join('')
}

/** Why a multiaddr string is wrong (with the fix where there is an obvious one), or undefined if fine. */
export function multiaddrProblem(text: string, options: { requirePeerId?: boolean } = {}): string | undefined {
  let components: Component[]
  try {
    components = multiaddr(text).getComponents()
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    return `a valid multiaddr such as /ip4/0.0.0.0/tcp/4001 or /ip4/0.0.0.0/udp/4001/quic-v1 (${reason})`
  }
  const names = components.map((c) => c.name)
  const hasQuic = names.includes('quic') || names.includes('quic-v1')
  if (hasQuic && names.includes('tcp')) {
    const fixed = components.map((c) => (c.name === 'tcp' ? { ...c, name: 'udp' } : c.name === 'quic' ? { name: 'quic-v1' } : c))
    return `QUIC runs over UDP: use ${render(fixed)}`
  }
  if (names.includes('quic')) {
    const fixed = components.map((c) => (c.name === 'quic' ? { name: 'quic-v1' } : c))
    return `/quic is QUIC draft-29, which libp2p no longer speaks: use ${render(fixed)}`
  }
  if (options.requirePeerId === true && names[names.length - 1] !== 'p2p') {
    return `a bootstrap peer must end with /p2p/<peer id>, e.g. ${text.replace(/\/$/, '')}/p2p/12D3KooW...`
  }
  return undefined
}

/** Why a CIDR string is wrong, or undefined if it is a valid IPv4 or IPv6 CIDR. */
export function cidrProblem(text: string): string | undefined {
  const expected = 'a CIDR such as 10.0.0.0/8, 192.168.0.0/16 or fd00::/8'
  const slash = text.indexOf('/')
  if (slash < 0) return `${expected} (missing /prefix length)`
  const address = text.slice(0, slash)
  const prefix = text.slice(slash + 1)
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : undefined
  if (max === undefined) return `${expected} ("${address}" is not an IP address)`
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `${expected} (prefix length must be 0-${max})`
  return undefined
}

/** Why a "host:port" string is wrong, or undefined if fine. */
export function hostPortProblem(text: string): string | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(text)
  const expected = 'host:port such as "0.0.0.0:8080", "127.0.0.1:8080" or "[::]:8080"'
  if (match === null) return expected
  if (Number(match[2]) > 65535) return `${expected} (port must be 0-65535)`
  const host = match[1]!
  if (host.startsWith('[') && !isIPv6(host.slice(1, -1))) return `${expected} ("${host}" is not an IPv6 address)`
  return undefined
}

function checkedString(problem: (text: string) => string | undefined) {
  return z.string().superRefine((text, ctx) => {
    const message = problem(text)
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: text })
  })
}

export const multiaddrSchema = (): z.ZodString => checkedString((t) => multiaddrProblem(t))
export const peerMultiaddrSchema = (): z.ZodString => checkedString((t) => multiaddrProblem(t, { requirePeerId: true }))
export const cidrSchema = (): z.ZodString => checkedString(cidrProblem)
export const hostPortSchema = (): z.ZodString => checkedString(hostPortProblem)

const count = (min = 0) => z.int({ error: 'an integer' }).min(min, { error: `an integer >= ${min}` })

// Cross-field checks run even when another key of the section is invalid (`when`), so every
// problem is reported in one pass; they only look at values that already have the right type.
const always = { when: (): boolean => true }

const transportSection = z
  .strictObject({
    quic_enabled: z.boolean().prefault(true).meta({ description: 'Listen and dial over QUIC (UDP).' }),
    quic_idle_timeout: durationSchema().prefault('30s').meta({ description: 'Close a QUIC connection after this long without traffic.' }),
    tcp_enabled: z.boolean().prefault(true).meta({ description: 'Listen and dial over TCP.' }),
    dial_timeout: durationSchema().prefault('10s').meta({ description: 'Give up on an outgoing connection attempt after this long.' }),
  })
  .refine((t) => !(t.quic_enabled === false && t.tcp_enabled === false), {
    ...always,
    path: ['tcp_enabled'],
    message: 'quic_enabled and tcp_enabled are both false: enable at least one transport',
  })

const dhtSection = z.strictObject({
  kademlia_mode: z
    .enum(['server', 'client', 'auto'])
    .prefault('auto')
    .meta({ description: 'Kademlia DHT mode: "server" answers queries, "client" only asks, "auto" serves when publicly reachable.' }),
  replication_factor: count(1).prefault(20).meta({ description: 'Number of peers (k) that store each DHT record.' }),
})

const relaySection = z.strictObject({
  relay_enabled: z.boolean().prefault(false).meta({ description: 'Act as a circuit relay v2 server for peers that are not reachable.' }),
  max_circuits: count().prefault(64).meta({ description: 'Maximum relayed connections open at the same time.' }),
  max_circuit_duration: durationSchema()
    .prefault('1h')
    .meta({ description: 'Close a relayed connection after this long (js-libp2p default: 2m).' }),
  max_circuit_bytes: sizeSchema()
    .prefault('1GiB')
    .meta({ description: 'Close a relayed connection after this many bytes each way (js-libp2p default: 128KiB).' }),
  reservations: count().prefault(128).meta({ description: 'Maximum reservations this relay stores.' }),
})

const natSection = z.strictObject({
  reachability: z
    .enum(['auto', 'public', 'private'])
    .prefault('auto')
    .meta({
      description:
        '"private": always hold relay reservations (behind NAT); "public": never; "auto": reserve when AutoNAT finds no confirmed public address.',
    }),
  reservation_check_interval: durationSchema()
    .prefault('10s')
    .meta({ description: 'How often a node that needs a relay reservation checks it still holds one (and re-reserves).' }),
  hole_punching: z
    .boolean()
    .prefault(true)
    .meta({
      description:
        'Upgrade relayed connections to direct TCP ones by hole punching (DCUtR); TCP then listens with SO_REUSEPORT and dials from its listen port.',
    }),
})

const limitsSection = z.strictObject({
  max_inbound_streams: count(1).prefault(64).meta({ description: 'Maximum concurrent inbound streams per connection and protocol.' }),
  max_message_bytes: sizeSchema().prefault('4MiB').meta({ description: 'Largest single protocol message accepted.' }),
  bandwidth_in: rateSchema().prefault(0).meta({ description: 'Inbound bandwidth cap per second, e.g. "10MiB"; 0 = unlimited.' }),
  bandwidth_out: rateSchema().prefault(0).meta({ description: 'Outbound bandwidth cap per second, e.g. "10MiB"; 0 = unlimited.' }),
})

const networkSection = z.strictObject({
  listen_addresses: z
    .array(multiaddrSchema())
    .prefault(['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1'])
    .meta({ description: 'Multiaddrs to listen on (port 0 = any free port).' }),
  external_addresses: z
    .array(multiaddrSchema())
    .prefault([])
    .meta({ description: 'Multiaddrs to announce in addition to the listen addresses (e.g. a public IP behind port forwarding).' }),
  bootstrap_peers: z
    .array(peerMultiaddrSchema())
    .prefault([])
    .meta({ description: 'Peers to connect to at start; each must end with /p2p/<peer id>.' }),
  mdns_enabled: z.boolean().prefault(false).meta({ description: 'Discover peers on the local network with mDNS.' }),
  max_connections: count(1).prefault(300).meta({ description: 'Maximum open connections.' }),
  exclude_cidrs: z.array(cidrSchema()).prefault([]).meta({ description: 'Never dial or announce addresses in these IPv4/IPv6 CIDRs.' }),
  transport: transportSection.prefault({}).meta({ description: 'Transports.' }),
  dht: dhtSection.prefault({}).meta({ description: 'Kademlia DHT.' }),
  relay: relaySection.prefault({}).meta({ description: 'Circuit relay v2 server (the gateway role enables it).' }),
  nat: natSection.prefault({}).meta({ description: 'NAT traversal: relay reservations (client side), AutoNAT, DCUtR.' }),
  limits: limitsSection.prefault({}).meta({ description: 'Resource limits.' }),
})

const securitySection = z
  .strictObject({
    mode: z
      .enum(['mtls', 'open'])
      .prefault('mtls')
      .meta({ description: '"mtls": only peers with a certificate from the trust bundle may connect; "open": no admission (labs only).' }),
    cert: z.string().min(1).optional().meta({
      description: "PEM file: this node's certificate followed by its intermediates (required for mtls).",
      example: 'certs/node.crt',
    }),
    key: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "PEM file: this node's private key (required for mtls).", example: 'certs/node.key' }),
    trust: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'PEM file: the trusted root CA bundle (required for mtls).', example: 'certs/trust.pem' }),
    crl: z.array(z.string().min(1)).prefault([]).meta({ description: 'PEM files: certificate revocation lists.' }),
    allow_roleless_peers: z
      .boolean()
      .prefault(true)
      .meta({ description: 'Accept peers whose certificate names no role (urn:hypha:role:<role> SAN; issued before roles) as any role. Turn off once every certificate has its role: then only schedulers announce and assign, only workers offer and report.' }),
    refusal_backoff: durationSchema()
      .prefault('1s')
      .meta({ description: 'After a certificate refusal (either side), wait this long before dialling the peer again; doubles per refusal (+-20% jitter).' }),
    refusal_backoff_max: durationSchema().prefault('5m').meta({ description: 'Longest wait before dialling again a peer after certificate refusals.' }),
    refusal_cooldown: durationSchema()
      .prefault('1m')
      .meta({ description: 'How long a peer this node refused (and an address refused 10 times) is dropped before any handshake work.' }),
  })
  .refine((s) => s.mode !== 'mtls' || s.cert !== undefined, {
    ...always,
    path: ['cert'],
    message: 'a path to the node certificate (required when security.mode = "mtls")',
  })
  .refine((s) => s.mode !== 'mtls' || s.key !== undefined, {
    ...always,
    path: ['key'],
    message: 'a path to the node private key (required when security.mode = "mtls")',
  })
  .refine((s) => s.mode !== 'mtls' || s.trust !== undefined, {
    ...always,
    path: ['trust'],
    message: 'a path to the trusted CA bundle (required when security.mode = "mtls")',
  })

const httpSection = z.strictObject({
  listen: hostPortSchema().prefault('0.0.0.0:8080').meta({ description: 'Address of the HTTP server (health probes, metrics, role API).' }),
})

const metricsSection = z.strictObject({
  enabled: z.boolean().prefault(true).meta({ description: 'Serve Prometheus metrics at /metrics on the HTTP server.' }),
})

/** The sections every role shares; spread into a role's schema with `defineConfigSchema`. */
export const networkConfigShape = {
  network: networkSection.prefault({}).meta({ description: 'libp2p networking.' }),
  security: securitySection.prefault({}).meta({ description: 'mTLS admission.' }),
  http: httpSection.prefault({}).meta({ description: 'HTTP server.' }),
  metrics: metricsSection.prefault({}).meta({ description: 'Prometheus metrics.' }),
}

/**
 * One zod schema for a role: the shared sections plus the role's own, e.g.
 * `defineConfigSchema({ worker: z.strictObject({ slots: z.int().prefault(1) }).prefault({}) })`.
 * Use `.prefault()` (not `.default()`) for defaults so they go through validation and units.
 */
export function defineConfigSchema<R extends z.core.$ZodLooseShape>(roleSections: R) {
  return z.strictObject({ ...networkConfigShape, ...roleSections })
}

/** The schema of a node with no role section. */
export const networkConfigSchema = defineConfigSchema({})

/** Any schema built by defineConfigSchema (or an app's own z.object of sections). */
export type ConfigSchema = z.ZodObject

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S

/** Deeply renames snake_case keys to camelCase at the type level; a record's keys (user-chosen names) stay. */
export type CamelCasedDeep<T> = T extends readonly (infer U)[]
  ? CamelCasedDeep<U>[]
  : T extends Record<string, unknown>
    ? string extends keyof T
      ? { [K in keyof T]: CamelCasedDeep<T[K]> }
      : { [K in keyof T as K extends string ? CamelCase<K> : K]: CamelCasedDeep<T[K]> }
    : T

/** The typed, camelCase configuration a schema produces. */
export type ConfigOf<S extends ConfigSchema> = CamelCasedDeep<z.output<S>>

/** The configuration of the shared sections. */
export type NetworkConfig = ConfigOf<typeof networkConfigSchema>


