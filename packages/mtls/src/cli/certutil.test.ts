// The certutil's hierarchy commands end to end (root -> org -> node), in-process: file names,
// modes and contents, that OpenSSL accepts the chains, inspect's PeerId, key protection
// (--force, --key renewal) and the one-line errors of bad command lines and missing files.
import { X509Certificate } from 'node:crypto'
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { certificatesToPem } from '../pki/pem.js'
import { rolesOfCertificate } from '../pki/roles.js'
import { CertificateVerifier } from '../verify/chain-verifier.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { RevocationList } from '../verify/revocation.js'
import type { InspectResult } from './inspect.js'
import {
  certutil,
  errorLines,
  hasOpenssl,
  makeTempDir,
  modeOf,
  ok,
  openssl,
  readCertificateDers,
  removeDir,
} from './test-harness.js'

const itIfOpenssl = hasOpenssl ? it : it.skip

describe('hypha-certutil root -> org -> node', () => {
  let dir: string
  let pki: string
  let nodes: string
  let nodeStdout: string

  beforeAll(async () => {
    dir = await makeTempDir('hierarchy')
    pki = join(dir, 'pki')
    nodes = join(dir, 'nodes', 'deep') // created with mkdir -p
    await ok('root', '-o', 'acme', '--country', 'de', '-d', pki)
    await ok(
      'org',
      '--root-cert',
      join(pki, 'acme-root-ca-cert.pem'),
      '--root-key',
      join(pki, 'acme-root-ca-key.pem'),
      '-o',
      'acme',
      '-d',
      pki,
    )
    const node = await ok(
      'node',
      '-n',
      'worker-1',
      '-s',
      '127.0.0.1,worker-1.acme.local',
      '--ca-cert',
      join(pki, 'acme-ca-cert.pem'),
      '--ca-key',
      join(pki, 'acme-ca-key.pem'),
      '-d',
      nodes,
    )
    nodeStdout = node.stdout
  })

  afterAll(async () => {
    await removeDir(dir)
  })

  it('writes the files under their Hypha names, keys 0600 and certificates 0644', async () => {
    expect((await readdir(pki)).sort()).toEqual([
      'acme-ca-cert.pem',
      'acme-ca-key.pem',
      'acme-ca-trust.pem',
      'acme-root-ca-cert.pem',
      'acme-root-ca-key.pem',
    ])
    expect((await readdir(nodes)).sort()).toEqual(['worker-1-cert.pem', 'worker-1-key.pem', 'worker-1-trust.pem'])
    for (const key of [join(pki, 'acme-root-ca-key.pem'), join(pki, 'acme-ca-key.pem'), join(nodes, 'worker-1-key.pem')]) {
      expect(await modeOf(key)).toBe(0o600)
      expect(await readFile(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    }
    for (const cert of ['acme-root-ca-cert.pem', 'acme-ca-cert.pem', 'acme-ca-trust.pem']) {
      expect(await modeOf(join(pki, cert))).toBe(0o644)
    }
    expect(await modeOf(join(nodes, 'worker-1-cert.pem'))).toBe(0o644)
    expect(await modeOf(join(nodes, 'worker-1-trust.pem'))).toBe(0o644)
  })

  it('bundles leaf + organisation CA in the node file and organisation CA + root in the trust files', async () => {
    const [root] = await readCertificateDers(join(pki, 'acme-root-ca-cert.pem'))
    const [org] = await readCertificateDers(join(pki, 'acme-ca-cert.pem'))
    const chain = await readCertificateDers(join(nodes, 'worker-1-cert.pem'))
    expect(chain).toHaveLength(2)
    expect(Buffer.from(chain[1] as Uint8Array)).toEqual(Buffer.from(org as Uint8Array))
    const leaf = new X509Certificate(chain[0] as Uint8Array)
    expect(leaf.subject).toBe('CN=worker-1\nO=acme')
    expect(leaf.ca).toBe(false)
    expect(leaf.subjectAltName).toBe('DNS:worker-1, IP Address:127.0.0.1, DNS:worker-1.acme.local')
    expect(new X509Certificate(root as Uint8Array).subject).toBe('CN=acme Root CA\nO=acme\nC=DE')

    const expectedTrust = [org, root].map((der) => Buffer.from(der as Uint8Array))
    for (const trust of [join(pki, 'acme-ca-trust.pem'), join(nodes, 'worker-1-trust.pem')]) {
      expect((await readCertificateDers(trust)).map((der) => Buffer.from(der))).toEqual(expectedTrust)
    }
    expect(nodeStdout).toContain(`PeerId: ${peerIdOfCertificate(leaf).toString()}`)
  })

  itIfOpenssl('produces chains that openssl verify accepts (Ed25519 all the way)', async () => {
    const chain = await readCertificateDers(join(nodes, 'worker-1-cert.pem'))
    const leafFile = join(dir, 'leaf-only.pem')
    const intermediateFile = join(dir, 'intermediate-only.pem')
    await writeFile(leafFile, certificatesToPem([chain[0] as Uint8Array]))
    await writeFile(intermediateFile, certificatesToPem([chain[1] as Uint8Array]))

    const againstTrust = openssl('verify', '-CAfile', join(pki, 'acme-ca-trust.pem'), '-untrusted', intermediateFile, leafFile)
    expect(againstTrust).toEqual({ status: 0, output: `${leafFile}: OK\n` })

    // Only the root trusted, the intermediate taken from the node's own chain file, strict X.509 checks.
    const rootOnly = openssl(
      'verify',
      '-x509_strict',
      '-purpose',
      'sslserver',
      '-CAfile',
      join(pki, 'acme-root-ca-cert.pem'),
      '-untrusted',
      join(nodes, 'worker-1-cert.pem'),
      leafFile,
    )
    expect(rootOnly.status).toBe(0)

    // Without the intermediate the leaf does not verify: the chain file really is needed.
    expect(openssl('verify', '-CAfile', join(pki, 'acme-root-ca-cert.pem'), leafFile).status).not.toBe(0)
  })

  it('inspect shows the PeerId of the node certificate, and of its key', async () => {
    const [leafDer] = await readCertificateDers(join(nodes, 'worker-1-cert.pem'))
    const peerId = peerIdOfCertificate(new X509Certificate(leafDer as Uint8Array)).toString()

    const text = await ok('inspect', join(nodes, 'worker-1-cert.pem'))
    expect(text.stdout).toMatch(new RegExp(`^ {2}PeerId: +${peerId}$`, 'm'))
    expect(text.stdout).toContain('CN=worker-1, O=acme')
    expect(text.stdout.match(/PeerId/g)).toHaveLength(1) // not for the CA certificate

    const json = JSON.parse((await ok('inspect', '--json', join(nodes, 'worker-1-cert.pem'))).stdout) as InspectResult
    expect(json.certificates).toHaveLength(2)
    const [leaf, ca] = json.certificates
    expect(leaf).toMatchObject({
      subject: 'CN=worker-1, O=acme',
      issuer: 'CN=acme CA, O=acme',
      keyType: 'ed25519',
      isCa: false,
      status: 'valid',
      peerId,
      subjectAltNames: ['DNS:worker-1', 'IP:127.0.0.1', 'DNS:worker-1.acme.local'],
    })
    expect(Date.parse(leaf?.notAfter ?? '')).toBeGreaterThan(Date.now() + 364 * 86_400_000)
    expect(ca).toMatchObject({ isCa: true, keyType: 'ed25519', selfSigned: false })
    expect(ca?.peerId).toBeUndefined()

    const key = await ok('inspect', join(nodes, 'worker-1-key.pem'))
    expect(key.stdout).toContain(peerId)
    expect(key.stdout).not.toContain('PRIVATE KEY')
  })

  it('--role puts the roles in the certificate as urn:hypha:role URIs; inspect and the verifier read them back', async () => {
    const made = await ok('node', '-n', 'sched-1', '-r', 'scheduler', '--role', 'gateway', '--ca-cert', join(pki, 'acme-ca-cert.pem'), '--ca-key', join(pki, 'acme-ca-key.pem'), '-d', nodes)
    expect(made.stdout).toContain('roles: scheduler, gateway')
    const [leafDer] = await readCertificateDers(join(nodes, 'sched-1-cert.pem'))
    const leaf = new X509Certificate(leafDer as Uint8Array)
    expect(leaf.subjectAltName).toContain('URI:urn:hypha:role:scheduler')
    expect([...rolesOfCertificate(leaf)].sort()).toEqual(['gateway', 'scheduler'])
    const json = JSON.parse((await ok('inspect', '--json', join(nodes, 'sched-1-cert.pem'))).stdout) as InspectResult
    expect(json.certificates[0]?.roles?.sort()).toEqual(['gateway', 'scheduler'])
    expect((await ok('inspect', join(nodes, 'sched-1-cert.pem'))).stdout).toMatch(/^ {2}roles: +scheduler, gateway$/m)
    // the node of the first test has none
    expect(nodeStdout).toContain('roles: (none: a roleless certificate)')
    const verifier = new CertificateVerifier({ trustAnchors: (await readCertificateDers(join(pki, 'acme-ca-trust.pem'))).map((d) => new X509Certificate(d)), revocation: RevocationList.empty() })
    const verified = await verifier.verify(await readCertificateDers(join(nodes, 'sched-1-cert.pem')))
    expect([...verified.roles].sort()).toEqual(['gateway', 'scheduler'])
  })

  it('a node issued by the root directly gets only its own certificate, and the root as trust', async () => {
    const out = join(dir, 'direct')
    await ok(
      'node',
      '-n',
      'gateway',
      '--ca-cert',
      join(pki, 'acme-root-ca-cert.pem'),
      '--ca-key',
      join(pki, 'acme-root-ca-key.pem'),
      '-d',
      out,
    )
    expect(await readCertificateDers(join(out, 'gateway-cert.pem'))).toHaveLength(1)
    expect(await readCertificateDers(join(out, 'gateway-trust.pem'))).toEqual(
      await readCertificateDers(join(pki, 'acme-root-ca-cert.pem')),
    )
  })

  it('needs --trust when the CA file has no -ca-trust.pem sibling', async () => {
    const lonelyCa = join(dir, 'lonely.pem')
    await writeFile(lonelyCa, await readFile(join(pki, 'acme-ca-cert.pem')))
    const args = ['node', '-n', 'w2', '--ca-cert', lonelyCa, '--ca-key', join(pki, 'acme-ca-key.pem'), '-d', join(dir, 'w2')]

    const refused = await certutil(...args)
    expect(refused.code).toBe(1)
    expect(errorLines(refused)).toHaveLength(1)
    expect(refused.stderr).toMatch(/^hypha-certutil: error: cannot find the root CA above '.*lonely\.pem'.*--trust FILE/)

    await ok(...args, '--trust', join(pki, 'acme-ca-trust.pem'))
    expect(await readCertificateDers(join(dir, 'w2', 'w2-trust.pem'))).toHaveLength(2)
  })

  it('--key certifies an existing key: the renewed certificate keeps the PeerId, the key file is kept', async () => {
    const keyFile = join(nodes, 'worker-1-key.pem')
    const keyBefore = await readFile(keyFile, 'utf8')
    const [oldLeaf] = await readCertificateDers(join(nodes, 'worker-1-cert.pem'))
    const renewal = await ok(
      'node',
      '-n',
      'worker-1',
      '--key',
      keyFile,
      '--ca-cert',
      join(pki, 'acme-ca-cert.pem'),
      '--ca-key',
      join(pki, 'acme-ca-key.pem'),
      '-d',
      nodes,
      '--days',
      '30',
    )
    expect(renewal.stdout).toMatch(/kept +.*worker-1-key\.pem/)
    const [newLeaf] = await readCertificateDers(join(nodes, 'worker-1-cert.pem'))
    const before = new X509Certificate(oldLeaf as Uint8Array)
    const after = new X509Certificate(newLeaf as Uint8Array)
    expect(after.serialNumber).not.toBe(before.serialNumber)
    expect(peerIdOfCertificate(after).equals(peerIdOfCertificate(before))).toBe(true)
    expect(await readFile(keyFile, 'utf8')).toBe(keyBefore)
    expect(await modeOf(keyFile)).toBe(0o600)
    expect(Date.parse(after.validTo)).toBeLessThan(Date.now() + 31 * 86_400_000)
  })

  it('refuses to overwrite a key file without --force, and replaces it (mode 0600) with it', async () => {
    const keyFile = join(pki, 'acme-root-ca-key.pem')
    const certFile = join(pki, 'acme-root-ca-cert.pem')
    const keyBefore = await readFile(keyFile, 'utf8')
    const certBefore = await readFile(certFile, 'utf8')

    const refused = await certutil('root', '-o', 'acme', '-d', pki)
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(errorLines(refused)).toEqual([
      `hypha-certutil: error: refusing to overwrite existing key file '${keyFile}' (use --force to replace it)`,
    ])
    expect(await readFile(keyFile, 'utf8')).toBe(keyBefore)
    expect(await readFile(certFile, 'utf8')).toBe(certBefore) // nothing half written

    await chmod(keyFile, 0o644) // even a key file someone loosened comes back 0600
    await ok('root', '-o', 'acme', '-d', pki, '--force')
    expect(await readFile(keyFile, 'utf8')).not.toBe(keyBefore)
    expect(await readFile(certFile, 'utf8')).not.toBe(certBefore)
    expect(await modeOf(keyFile)).toBe(0o600)
    expect((await readdir(pki)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})

describe('hypha-certutil command line errors', () => {
  let dir: string

  beforeAll(async () => {
    dir = await makeTempDir('errors')
  })

  afterAll(async () => {
    await removeDir(dir)
  })

  it.each(['0', '-3', 'abc', '1.5', '7days', ''])('refuses --days %p with one clear line', async (days) => {
    const out = join(dir, `days-${days}`)
    const result = await certutil('root', '-o', 'acme', '-d', out, `--days=${days}`)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(errorLines(result)).toEqual([`hypha-certutil: error: --days must be a positive whole number of days, got '${days}'`])
    await expect(readdir(out)).rejects.toThrow() // nothing created
  })

  it('names a missing input file in one line, without a stack trace', async () => {
    const missing = join(dir, 'no-such-root.pem')
    const result = await certutil('org', '--root-cert', missing, '--root-key', missing, '-o', 'acme', '-d', dir)
    expect(result.code).toBe(1)
    expect(errorLines(result)).toEqual([`hypha-certutil: error: root CA certificate file '${missing}' does not exist`])

    const inspect = await certutil('inspect', missing)
    expect(errorLines(inspect)).toEqual([`hypha-certutil: error: input file '${missing}' does not exist`])
    expect(inspect.code).toBe(1)
  })

  it('rejects a key that does not belong to the CA certificate', async () => {
    await ok('root', '-o', 'one', '-d', dir)
    await ok('root', '-o', 'two', '-d', dir)
    const result = await certutil(
      'org',
      '--root-cert',
      join(dir, 'one-root-ca-cert.pem'),
      '--root-key',
      join(dir, 'two-root-ca-key.pem'),
      '-o',
      'x',
      '-d',
      dir,
    )
    expect(result.code).toBe(1)
    expect(errorLines(result)).toHaveLength(1)
    expect(result.stderr).toContain('does not belong to the certificate')
  })

  it('exits 2 with one usage line for an unknown command, an unknown flag or a missing option', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['--frobnicate'], /unknown option '--frobnicate'/],
      [['root', '-o', 'acme', '--frobnicate'], /root: Unknown option '--frobnicate'/],
      [['root', '-o', 'acme', '--days'], /root: Option '--days <value>' argument missing/],
      [['root'], /root: missing required option -o\/--organization/],
      [['node', '-n', 'a', '--ca-cert', 'x'], /node: missing required option --ca-key/],
      [['root', '-o', '../escape'], /-o\/--organization '\.\.\/escape' must not contain a path separator/],
      [['inspect'], /inspect: expected one FILE, got 0/],
      [['node', '-n', 'a', '--role', 'admin', '--ca-cert', 'x', '--ca-key', 'y'], /-r\/--role 'admin' is not a role: expected gateway, scheduler, worker/],
    ]
    for (const [argv, message] of cases) {
      const result = await certutil(...argv)
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 })
      const lines = errorLines(result)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^hypha-certutil: error: /)
      expect(lines[0]).toMatch(message)
    }
  })

  it('prints usage for --help, help and COMMAND --help', async () => {
    for (const argv of [['--help'], ['help'], ['-h']]) {
      const result = await ok(...argv)
      for (const command of ['root', 'org', 'node', 'revoke', 'inspect', 'verify']) {
        expect(result.stdout).toContain(`hypha-certutil ${command} `)
      }
      expect(result.stderr).toBe('')
    }
    const node = await ok('node', '--help')
    expect(node.stdout).toMatch(/^Usage: hypha-certutil node /)
    expect(node.stdout).not.toContain('hypha-certutil root ')
    expect((await ok('help', 'revoke')).stdout).toContain('--reason')

    const none = await certutil()
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: hypha-certutil')
  })
})
