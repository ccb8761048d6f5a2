// Tests of the config module through its public API: defaults, a full file, the classic
// mistakes and their messages, all-at-once errors, env overrides, roles, example, loadConfig.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError, type ConfigIssue, defineConfigSchema, exampleConfig, loadConfig, networkConfigSchema, parseConfig } from './index.js'

const OPEN = '[security]\nmode = "open"\n'
const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    const error = err as ConfigError
    expect(error.name).toBe('ConfigError')
    expect(error.stack).not.toMatch(/\n\s+at /)
    return error.message
  }
  throw new Error('expected a ConfigError')
}

const parse = (toml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(toml, env, networkConfigSchema, 'hypha.toml')

describe('defaults', () => {
  it('fills every key with its documented default', () => {
    const config = parse(OPEN)
    expect(config.network.listenAddresses).toEqual(['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1'])
    expect(config.network.maxConnections).toBe(300)
    expect(config.network.mdnsEnabled).toBe(false)
    expect(config.network.bootstrapPeers).toEqual([])
    expect(config.network.transport).toEqual({ quicEnabled: true, quicIdleTimeout: 30_000, tcpEnabled: true, dialTimeout: 10_000 })
    expect(config.network.dht).toEqual({ kademliaMode: 'auto', replicationFactor: 20 })
    expect(config.network.relay).toEqual({
      relayEnabled: false,
      maxCircuits: 64,
      maxCircuitDuration: 3_600_000,
      maxCircuitBytes: 2 ** 30,
      reservations: 128,
    })
    expect(config.network.limits).toEqual({ maxInboundStreams: 64, maxMessageBytes: 4 * 2 ** 20, bandwidthIn: 0, bandwidthOut: 0 })
    expect(config.security).toEqual({ mode: 'open', crl: [], allowRolelessPeers: true, refusalBackoff: 1_000, refusalBackoffMax: 300_000, refusalCooldown: 60_000 })
    expect(config.http.listen).toBe('0.0.0.0:8080')
    expect(config.metrics.enabled).toBe(true)
  })

  it('requires cert, key and trust in the default mtls mode', () => {
    const issues = issuesOf(() => parse(''))
    expect(issues.map((i) => i.path)).toEqual(['security.cert', 'security.key', 'security.trust'])
    expect(issues[0]?.expected).toContain('required when security.mode = "mtls"')
  })
})

describe('a full file', () => {
  it('keeps the keys of record tables as written (names, labels, environment variables) and camelCases the fields inside', () => {
    const schema = defineConfigSchema({
      jobs: z
        .strictObject({
          by_name: z
            .record(z.string(), z.strictObject({ max_output: z.int(), env: z.record(z.string(), z.string()).prefault({}) }))
            .prefault({}),
        })
        .prefault({}),
    })
    const config = parseConfig(
      '[security]\nmode = "open"\n[jobs.by_name.make_weights]\nmax_output = 5\n[jobs.by_name.make_weights.env]\nMY_1 = "a"\nhf_home = "/x"\n',
      {},
      schema,
      'jobs.toml',
    )
    expect(config.jobs.byName).toEqual({ make_weights: { maxOutput: 5, env: { MY_1: 'a', hf_home: '/x' } } })
  })

  it('parses every key into a camelCase typed object', () => {
    const toml = `
[network]
listen_addresses = ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/udp/4001/quic-v1"]
external_addresses = ["/dns4/gw.example.org/tcp/4001"]
bootstrap_peers = ["/ip4/10.0.0.1/tcp/4001/p2p/${PEER}"]
mdns_enabled = true
max_connections = 500
exclude_cidrs = ["172.16.0.0/12", "fd00::/8"]
[network.transport]
quic_enabled = true
quic_idle_timeout = "1m"
tcp_enabled = false
dial_timeout = 2500
[network.dht]
kademlia_mode = "server"
replication_factor = 10
[network.relay]
relay_enabled = true
max_circuits = 16
max_circuit_duration = "2h"
max_circuit_bytes = "10GiB"
reservations = 1024
[network.nat]
reachability = "private"
reservation_check_interval = "5s"
hole_punching = false
[network.limits]
max_inbound_streams = 8
max_message_bytes = "1MB"
bandwidth_in = "10MiB/s"
bandwidth_out = 1000
[security]
mode = "mtls"
cert = "node.crt"
key = "node.key"
trust = "trust.pem"
crl = ["root.crl", "inter.crl"]
refusal_backoff = "2s"
refusal_backoff_max = "10m"
refusal_cooldown = "30s"
allow_roleless_peers = false
[http]
listen = "[::]:9000"
[metrics]
enabled = false
`
    const config = parse(toml)
    expect(config.network.externalAddresses).toEqual(['/dns4/gw.example.org/tcp/4001'])
    expect(config.network.bootstrapPeers).toHaveLength(1)
    expect(config.network.excludeCidrs).toEqual(['172.16.0.0/12', 'fd00::/8'])
    expect(config.network.transport).toEqual({ quicEnabled: true, quicIdleTimeout: 60_000, tcpEnabled: false, dialTimeout: 2500 })
    expect(config.network.dht.kademliaMode).toBe('server')
    expect(config.network.relay.maxCircuitBytes).toBe(10 * 2 ** 30)
    expect(config.network.relay.reservations).toBe(1024)
    expect(config.network.limits).toEqual({
      maxInboundStreams: 8,
      maxMessageBytes: 1_000_000,
      bandwidthIn: 10 * 2 ** 20,
      bandwidthOut: 1000,
    })
    expect(config.network.nat).toEqual({ reachability: 'private', reservationCheckInterval: 5_000, holePunching: false })
    expect(config.security).toEqual({
      mode: 'mtls',
      cert: 'node.crt',
      key: 'node.key',
      trust: 'trust.pem',
      crl: ['root.crl', 'inter.crl'],
      allowRolelessPeers: false,
      refusalBackoff: 2_000,
      refusalBackoffMax: 600_000,
      refusalCooldown: 30_000,
    })
    expect(config.http.listen).toBe('[::]:9000')
    expect(config.metrics.enabled).toBe(false)
  })
})

describe('classic mistakes', () => {
  const one = (toml: string): ConfigIssue => {
    const issues = issuesOf(() => parse(OPEN + toml))
    expect(issues).toHaveLength(1)
    return issues[0]!
  }

  it('QUIC over TCP', () => {
    const issue = one('[network]\nlisten_addresses = ["/ip4/0.0.0.0/tcp/0/quic-v1"]')
    expect(issue).toEqual({
      path: 'network.listen_addresses[0]',
      value: '/ip4/0.0.0.0/tcp/0/quic-v1',
      expected: 'QUIC runs over UDP: use /ip4/0.0.0.0/udp/0/quic-v1',
      source: 'hypha.toml',
    })
    expect(one('[network]\nexternal_addresses = ["/ip4/1.2.3.4/tcp/4001/quic"]').expected).toBe(
      'QUIC runs over UDP: use /ip4/1.2.3.4/udp/4001/quic-v1',
    )
  })

  it('draft-29 /quic', () => {
    const issue = one('[network]\nlisten_addresses = ["/ip4/0.0.0.0/udp/4001/quic"]')
    expect(issue.expected).toContain('use /ip4/0.0.0.0/udp/4001/quic-v1')
    expect(issue.expected).toContain('draft-29')
  })

  it('bootstrap peer without /p2p/<peer id>', () => {
    const issue = one('[network]\nbootstrap_peers = ["/ip4/10.0.0.1/tcp/4001"]')
    expect(issue.path).toBe('network.bootstrap_peers[0]')
    expect(issue.expected).toContain('must end with /p2p/<peer id>')
  })

  it('invalid multiaddr', () => {
    const issue = one('[network]\nlisten_addresses = ["/ip4/300.0.0.1/tcp/1"]')
    expect(issue.expected).toMatch(/^a valid multiaddr/)
    expect(one('[network]\nlisten_addresses = ["0.0.0.0:4001"]').expected).toMatch(/^a valid multiaddr/)
  })

  it('invalid CIDR', () => {
    expect(one('[network]\nexclude_cidrs = ["10.0.0.0/33"]').expected).toContain('prefix length must be 0-32')
    expect(one('[network]\nexclude_cidrs = ["10.0.0.1"]').expected).toContain('missing /prefix length')
    expect(one('[network]\nexclude_cidrs = ["fd00::/129"]').expected).toContain('0-128')
    expect(one('[network]\nexclude_cidrs = ["lan/8"]').expected).toContain('not an IP address')
  })

  it('both transports disabled', () => {
    const issue = one('[network.transport]\nquic_enabled = false\ntcp_enabled = false')
    expect(issue.expected).toBe('quic_enabled and tcp_enabled are both false: enable at least one transport')
  })

  it('kademlia_mode not one of three', () => {
    const issue = one('[network.dht]\nkademlia_mode = "dht-server"')
    expect(issue).toMatchObject({ path: 'network.dht.kademlia_mode', value: 'dht-server', expected: 'one of "server", "client", "auto"' })
  })

  it('unknown key with a did-you-mean suggestion, and without one', () => {
    expect(one('[network]\nmax_conections = 3')).toMatchObject({
      path: 'network.max_conections',
      expected: 'unknown key: did you mean "max_connections"?',
    })
    expect(one('[network.relay]\nenabled = true').expected).toContain('known keys here: relay_enabled')
    expect(one('[gatway]\nx = 1').expected).toMatch(/^unknown key/)
  })

  it('wrong types', () => {
    expect(one('[network]\nmax_connections = "many"').expected).toBe('an integer')
    expect(one('[network]\nmax_connections = 0').expected).toBe('an integer >= 1')
    expect(one('[network]\nmdns_enabled = "yes"').expected).toBe('true or false')
    expect(one('[http]\nlisten = "8080"').expected).toContain('host:port')
    expect(one('[network.transport]\ndial_timeout = "10"').expected).toContain('needs a unit')
  })

  it('TOML syntax errors name file, line and column', () => {
    const issues = issuesOf(() => parse('[network]\nmax_connections = 3\nlisten_addresses = [1,\n'))
    expect(issues).toHaveLength(1)
    expect(issues[0]?.source).toMatch(/^hypha\.toml:\d+:\d+$/)
    expect(messageOf(() => parse('a = = 1'))).toMatch(/hypha\.toml:1:\d+: TOML syntax error/)
  })
})

describe('all errors at once', () => {
  it('three bad keys give three lines', () => {
    const message = messageOf(() =>
      parse(
        `${OPEN}[network]\nmax_connections = "x"\n[network.transport]\ndial_timeout = "10 seconds"\n[network.dht]\nkademlia_mode = "both"\n`,
      ),
    )
    const lines = message.split('\n')
    expect(lines[0]).toBe('Invalid configuration (3 problems):')
    expect(lines).toHaveLength(4)
    expect(lines[1]).toBe('  network.max_connections = "x" (hypha.toml): an integer')
    expect(lines[2]).toContain('network.transport.dial_timeout = "10 seconds" (hypha.toml): a duration such as')
    expect(lines[3]).toContain('network.dht.kademlia_mode = "both"')
    expect(message).not.toMatch(/invalid_type|"code"|ZodError/)
  })

  it('reports cross-field problems beside other problems in the same section', () => {
    const issues = issuesOf(() =>
      parse('[network.transport]\nquic_enabled = false\ntcp_enabled = false\ndial_timeout = "x"\n[security]\nmode = "mtls"\ncrl = [1]'),
    )
    expect(issues.map((i) => i.path).sort()).toEqual([
      'network.transport.dial_timeout',
      'network.transport.tcp_enabled',
      'security.cert',
      'security.crl[0]',
      'security.key',
      'security.trust',
    ])
  })

  it('file errors and env errors together', () => {
    const issues = issuesOf(() => parse(`${OPEN}[network]\nmax_connections = -1`, { HYPHA_NETWORK__MDNS: 'true' }))
    expect(issues.map((i) => i.source).sort()).toEqual(['env HYPHA_NETWORK__MDNS', 'hypha.toml'])
  })
})

describe('environment overrides', () => {
  it('int, bool, list, string and nested keys', () => {
    const config = parse(OPEN, {
      HYPHA_NETWORK__MAX_CONNECTIONS: '200',
      HYPHA_NETWORK__TRANSPORT__QUIC_ENABLED: 'false',
      HYPHA_NETWORK__LISTEN_ADDRESSES: '/ip4/127.0.0.1/tcp/4001, /ip4/127.0.0.1/tcp/4002',
      HYPHA_NETWORK__RELAY__MAX_CIRCUIT_BYTES: '1048576',
      HYPHA_NETWORK__RELAY__MAX_CIRCUIT_DURATION: '5m',
      HYPHA_HTTP__LISTEN: '127.0.0.1:9999',
      HYPHA_CONFIG: '/etc/hypha.toml', // not an override: no "__"
      PATH: '/usr/bin',
    })
    expect(config.network.maxConnections).toBe(200)
    expect(config.network.transport.quicEnabled).toBe(false)
    expect(config.network.listenAddresses).toEqual(['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4002'])
    expect(config.network.relay.maxCircuitBytes).toBe(1_048_576)
    expect(config.network.relay.maxCircuitDuration).toBe(300_000)
    expect(config.http.listen).toBe('127.0.0.1:9999')
  })

  it('overrides the file and fills missing sections', () => {
    const config = parse('[network]\nmax_connections = 10\n[security]\nmode = "mtls"\ncert = "a"\nkey = "b"\ntrust = "c"', {
      HYPHA_NETWORK__MAX_CONNECTIONS: '20',
      HYPHA_SECURITY__CERT: '/x',
      HYPHA_NETWORK__EXCLUDE_CIDRS: '',
    })
    expect(config.network.maxConnections).toBe(20)
    expect(config.security.cert).toBe('/x')
    expect(config.network.excludeCidrs).toEqual([])
  })

  it('names the variable of a bad value', () => {
    const issues = issuesOf(() => parse(OPEN, { HYPHA_NETWORK__MAX_CONNECTIONS: 'lots', HYPHA_METRICS__ENABLED: 'maybe' }))
    expect(issues).toEqual([
      { path: 'network.max_connections', value: 'lots', expected: 'an integer', source: 'env HYPHA_NETWORK__MAX_CONNECTIONS' },
      { path: 'metrics.enabled', value: 'maybe', expected: 'true or false', source: 'env HYPHA_METRICS__ENABLED' },
    ])
    const list = issuesOf(() => parse(OPEN, { HYPHA_NETWORK__BOOTSTRAP_PEERS: `/ip4/1.2.3.4/tcp/1/p2p/${PEER},/ip4/1.2.3.4/tcp/2` }))
    expect(list).toMatchObject([{ path: 'network.bootstrap_peers[1]', source: 'env HYPHA_NETWORK__BOOTSTRAP_PEERS' }])
  })

  it('an unknown variable is an error naming it', () => {
    const issues = issuesOf(() =>
      parse(OPEN, { HYPHA_NETWORK__MAX_CONECTIONS: '5', HYPHA_NETWORK__TRANSPORT: 'x', HYPHA_NETWORK__MDNS_ENABLED__X: '1' }),
    )
    expect(issues).toHaveLength(3)
    expect(issues[0]?.expected).toContain(
      'HYPHA_NETWORK__MAX_CONECTIONS names no configuration key: unknown key: did you mean "max_connections"?',
    )
    expect(issues.map((i) => i.source)).toEqual([
      'env HYPHA_NETWORK__MAX_CONECTIONS',
      'env HYPHA_NETWORK__MDNS_ENABLED__X',
      'env HYPHA_NETWORK__TRANSPORT',
    ])
    expect(issues[2]?.expected).toContain('names the section [network.transport], not a key')
  })
})

describe('roles', () => {
  const workerSchema = defineConfigSchema({
    worker: z
      .strictObject({
        slots: z.int().min(1).prefault(2).describe('Tasks run at the same time.'),
        work_dir: z.string().prefault('/var/lib/hypha').describe('Scratch space for tasks.'),
        task_timeout: z.string().prefault('1h').describe('Task time limit.'),
        labels: z.record(z.string(), z.string()).prefault({}).describe('Labels.'),
      })
      .prefault({})
      .describe('Worker role.'),
  })

  it('extends the shared schema with a section of its own, typed', () => {
    const config = parseConfig(`${OPEN}[worker]\nslots = 4`, { HYPHA_WORKER__WORK_DIR: '/tmp/w' }, workerSchema)
    const slots: number = config.worker.slots
    expect(slots).toBe(4)
    expect(config.worker.workDir).toBe('/tmp/w')
    expect(config.network.maxConnections).toBe(300)
    expect(issuesOf(() => parseConfig(`${OPEN}[worker]\nslot = 4`, {}, workerSchema))[0]?.expected).toContain('did you mean "slots"')
  })

  it('takes a table of strings from the environment as key=value pairs', () => {
    expect(parseConfig(OPEN, { HYPHA_WORKER__LABELS: 'gpu=a100, zone = eu-1,url=a=b' }, workerSchema).worker.labels).toEqual({
      gpu: 'a100',
      zone: 'eu-1',
      url: 'a=b',
    })
    expect(parseConfig(OPEN, { HYPHA_WORKER__LABELS: '' }, workerSchema).worker.labels).toEqual({})
    const [issue] = issuesOf(() => parseConfig(OPEN, { HYPHA_WORKER__LABELS: 'gpu' }, workerSchema))
    expect(issue).toMatchObject({ path: 'worker.labels', source: 'env HYPHA_WORKER__LABELS' })
    expect(issue?.expected).toContain('key=value,key2=value2')
  })

  it('its example includes the role section and parses', () => {
    const example = exampleConfig('worker', workerSchema)
    expect(example).toContain('# Hypha worker configuration')
    expect(example).toContain('[worker]\n# Tasks run at the same time. (default 2; env HYPHA_WORKER__SLOTS)\nslots = 2')
    expect(parseConfig(example, {}, workerSchema).worker.slots).toBe(2)
  })
})

describe('exampleConfig', () => {
  const example = exampleConfig()

  it('round trips through parseConfig to the defaults', () => {
    const fromExample = parseConfig(example, {}, networkConfigSchema, 'example.toml')
    const defaults = parse('[security]\ncert = "certs/node.crt"\nkey = "certs/node.key"\ntrust = "certs/trust.pem"')
    expect(fromExample).toEqual(defaults)
  })

  it('lists every key with a comment', () => {
    for (const key of [
      'listen_addresses',
      'external_addresses',
      'bootstrap_peers',
      'mdns_enabled',
      'max_connections',
      'exclude_cidrs',
      'quic_enabled',
      'quic_idle_timeout',
      'tcp_enabled',
      'dial_timeout',
      'kademlia_mode',
      'replication_factor',
      'relay_enabled',
      'max_circuits',
      'max_circuit_duration',
      'max_circuit_bytes',
      'reservations',
      'max_inbound_streams',
      'max_message_bytes',
      'bandwidth_in',
      'bandwidth_out',
      'mode',
      'cert',
      'key',
      'trust',
      'crl',
      'listen',
      'enabled',
    ]) {
      expect(example).toMatch(new RegExp(`^# .+\\n${key} = `, 'm'))
    }
  })
})

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hypha-config-'))
  const write = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  it('reads the file and checks that security files exist', () => {
    const cert = write('node.crt', 'x')
    const key = write('node.key', 'x')
    const trust = write('trust.pem', 'x')
    const file = write('ok.toml', `[security]\ncert = "${cert}"\nkey = "${key}"\ntrust = "${trust}"\n`)
    expect(loadConfig({ file, env: {}, schema: networkConfigSchema }).security.cert).toBe(cert)

    const bad = write(
      'bad.toml',
      `[security]\ncert = "${cert}"\nkey = "${dir}/missing.key"\ntrust = "${trust}"\ncrl = ["${dir}/missing.crl"]\n`,
    )
    const issues = issuesOf(() => loadConfig({ file: bad, env: { HYPHA_SECURITY__TRUST: `${dir}/gone.pem` }, schema: networkConfigSchema }))
    expect(issues).toEqual([
      { path: 'security.key', value: `${dir}/missing.key`, expected: 'an existing file (not found)', source: bad },
      { path: 'security.trust', value: `${dir}/gone.pem`, expected: 'an existing file (not found)', source: 'env HYPHA_SECURITY__TRUST' },
      { path: 'security.crl[0]', value: `${dir}/missing.crl`, expected: 'an existing file (not found)', source: bad },
    ])
  })

  it('a missing config file is one clear error', () => {
    const message = messageOf(() => loadConfig({ file: join(dir, 'nope.toml'), env: {}, schema: networkConfigSchema }))
    expect(message).toBe(`Invalid configuration (1 problem):\n  ${join(dir, 'nope.toml')}: cannot read configuration file (file not found)`)
  })

  it('works without a file, from the environment only', () => {
    const config = loadConfig({ env: { HYPHA_SECURITY__MODE: 'open' }, schema: networkConfigSchema })
    expect(config.security.mode).toBe('open')
  })
})
