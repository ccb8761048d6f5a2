// Container entry point of the service images: fills in what a container cannot know in
// advance, then runs the role's CLI (`run` by default) in this process.
//  - [security] from the mounted PKI ($HYPHA_PKI_DIR, default /pki): <name>-cert.pem,
//    <name>-key.pem, <name>-trust.pem, and <org>-ca.crl.pem when present; <name> is
//    $HYPHA_NODE_NAME, else the role (gateway, scheduler) or the hostname (workers).
//    With HYPHA_DEV_ISSUE_CERT=true a node without a certificate gets one from the CA in the
//    PKI dir (dev compose only: scaled workers have no names in advance).
//  - bootstrap peers from $HYPHA_BOOTSTRAP_NODES ("gateway:4001,..."): each host is resolved
//    to its IP and its peer id is read from <host>-cert.pem, giving QUIC and TCP multiaddrs.
// Anything set explicitly (HYPHA_SECURITY__CERT, HYPHA_NETWORK__BOOTSTRAP_PEERS) wins.
import { execFileSync } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

const env = process.env
const role = env.HYPHA_ROLE
const BINS = { gateway: 'apps/gateway/bin/hypha-gateway.js', scheduler: 'apps/scheduler/bin/hypha-scheduler.js', worker: 'apps/worker/bin/hypha-worker.js' }
const fail = (message) => {
  process.stderr.write(`entrypoint: ${message}\n`)
  process.exit(2)
}
if (!(role in BINS)) fail(`HYPHA_ROLE must be gateway, scheduler or worker (got "${role}")`)
const pki = env.HYPHA_PKI_DIR ?? '/pki'
const org = env.HYPHA_ORG ?? 'hypha-dev'
const certutil = '/app/packages/mtls/bin/hypha-certutil.js'

if (env.HYPHA_SECURITY__CERT === undefined && env.HYPHA_SECURITY__MODE !== 'open') {
  const name = env.HYPHA_NODE_NAME ?? (role === 'worker' ? hostname() : role)
  let dir = pki
  if (!existsSync(join(pki, `${name}-cert.pem`))) {
    const caCert = join(pki, `${org}-ca-cert.pem`)
    const caKey = join(pki, `${org}-ca-key.pem`)
    if (env.HYPHA_DEV_ISSUE_CERT !== 'true') fail(`no certificate ${join(pki, `${name}-cert.pem`)} (mount one, set HYPHA_SECURITY__CERT/KEY/TRUST, or HYPHA_DEV_ISSUE_CERT=true in dev)`)
    if (!existsSync(caKey)) fail(`HYPHA_DEV_ISSUE_CERT=true but no CA key at ${caKey}`)
    dir = '/tmp/hypha-pki'
    mkdirSync(dir, { recursive: true })
    if (!existsSync(join(dir, `${name}-cert.pem`))) {
      execFileSync(process.execPath, [certutil, 'node', '-n', name, '--ca-cert', caCert, '--ca-key', caKey, '-d', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
    }
  }
  env.HYPHA_SECURITY__CERT = join(dir, `${name}-cert.pem`)
  env.HYPHA_SECURITY__KEY = join(dir, `${name}-key.pem`)
  env.HYPHA_SECURITY__TRUST = existsSync(join(dir, `${name}-trust.pem`)) ? join(dir, `${name}-trust.pem`) : join(pki, `${org}-ca-trust.pem`)
  const crl = join(pki, `${org}-ca.crl.pem`)
  if (env.HYPHA_SECURITY__CRL === undefined && existsSync(crl)) env.HYPHA_SECURITY__CRL = crl
}

if (env.HYPHA_BOOTSTRAP_NODES !== undefined && env.HYPHA_NETWORK__BOOTSTRAP_PEERS === undefined) {
  const { peerIdOfCertificate, decodeCertificates } = await import('/app/packages/mtls/dist/src/index.js')
  const { X509Certificate } = await import('node:crypto')
  const peers = []
  for (const entry of env.HYPHA_BOOTSTRAP_NODES.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [host, port] = entry.split(':')
    if (host === undefined || !/^\d+$/.test(port ?? '')) fail(`HYPHA_BOOTSTRAP_NODES entry "${entry}": expected host:port`)
    const certFile = join(pki, `${host}-cert.pem`)
    if (!existsSync(certFile)) fail(`HYPHA_BOOTSTRAP_NODES: no certificate ${certFile} to take ${host}'s peer id from`)
    const [leaf] = decodeCertificates(readFileSync(certFile, 'utf8'))
    const peerId = peerIdOfCertificate(new X509Certificate(leaf)).toString()
    // the peer may start after us: wait for its name to resolve (compose starts services in order, k8s does not)
    let address
    for (let i = 0; address === undefined; i++) {
      address = await lookup(host, { family: 4 }).then((r) => r.address, () => undefined)
      if (address === undefined) {
        if (i > 120) fail(`HYPHA_BOOTSTRAP_NODES: cannot resolve ${host}`)
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
    peers.push(`/ip4/${address}/udp/${port}/quic-v1/p2p/${peerId}`, `/ip4/${address}/tcp/${port}/p2p/${peerId}`)
  }
  env.HYPHA_NETWORK__BOOTSTRAP_PEERS = peers.join(',')
}

const bin = join('/app', BINS[role])
process.argv = [process.argv[0], bin, ...process.argv.slice(2)]
await import(bin)
