// `hypha-certutil cert-manager` against a loopback stand-in for the API server and cert-manager
// (test/fixtures/fake-cert-manager.ts): the issued chain verifies with the node's roles, the key
// stays across a sidecar restart and across renewals (a running node reloads, same PeerId),
// and a denied, role-stripped, unauthorised or never-issued request fails with its reason.
import { X509Certificate } from 'node:crypto'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FakeCertManager } from '../../test/fixtures/fake-cert-manager.js'
import { TestPki } from '../../test/fixtures/test-pki.js'
import { certutil, makeTempDir, ok } from '../cli/test-harness.js'
import { NodeIdentity } from '../identity/node-identity.js'
import { decodeCertificates } from '../pki/pem.js'
import { rolesOfCertificate } from '../pki/roles.js'
import { CertificateVerifier } from '../verify/chain-verifier.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { RevocationList } from '../verify/revocation.js'
import { KubeApi } from './kube-api.js'
import { PodCertificate } from './pod-certificate.js'

const TOKEN = 'sa-token-for-tests'

let pki: TestPki
let fake: FakeCertManager
let dir: string
let tokenFile: string

beforeEach(async () => {
  pki = await TestPki.create()
  fake = await new FakeCertManager(pki.org.ca, TOKEN).start()
  dir = await makeTempDir('cert-manager')
  tokenFile = join(dir, 'token')
  await writeFile(tokenFile, `${TOKEN}\n`)
})

afterEach(async () => {
  await fake.stop()
  await pki.cleanup()
  await rm(dir, { recursive: true, force: true })
})

/** The sidecar's command line against the stand-in, as a pod named hypha-worker-7d9f-x2k4q runs it. */
function requestArgs(...extra: string[]): string[] {
  return [
    'cert-manager',
    '--issuer',
    'hypha-ca',
    '-r',
    'worker',
    '-n',
    'hypha-worker-7d9f-x2k4q',
    '-d',
    join(dir, 'pki'),
    '--server',
    fake.url,
    '--namespace',
    'hypha',
    '--token-file',
    tokenFile,
    '--owner-pod',
    'hypha-worker-7d9f-x2k4q',
    '--owner-uid',
    '0b9c7f5e-1111-4f0e-9e9e-3c2a1d0e9f00',
    ...extra,
  ]
}

function request(...extra: string[]): Promise<Awaited<ReturnType<typeof certutil>>> {
  return certutil(...requestArgs(...extra))
}

async function leafIn(path: string): Promise<X509Certificate> {
  return new X509Certificate(decodeCertificates(await readFile(path, 'utf8'))[0] as Uint8Array)
}

describe('hypha-certutil cert-manager', () => {
  it('writes a key and a chain that verifies against the organisation, with the role asked for', async () => {
    const result = await request()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/certificate issued request=hypha-worker-7d9f-x2k4q-\S+ serial=\S+ peerId=12D3KooW/)

    expect((await stat(join(dir, 'pki', 'tls.key'))).mode & 0o777).toBe(0o600)
    const chain = decodeCertificates(await readFile(join(dir, 'pki', 'tls.crt'), 'utf8'))
    const verifier = new CertificateVerifier({
      trustAnchors: [new X509Certificate(Buffer.from(pki.org.root.certificate.rawData))],
      revocation: RevocationList.empty(),
    })
    const verified = await verifier.verify(chain)
    expect([...verified.roles]).toEqual(['worker'])
    expect(verified.leaf.subjectAltName).toContain('DNS:hypha-worker-7d9f-x2k4q')

    const [sent] = [...fake.requests.values()]
    expect(sent?.spec).toMatchObject({
      issuerRef: { name: 'hypha-ca', kind: 'Issuer', group: 'cert-manager.io' },
      duration: '24h',
      isCA: false,
    })
    expect(sent?.spec.usages).toEqual(['digital signature', 'server auth', 'client auth'])
    expect(sent?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'hypha-worker-7d9f-x2k4q', uid: '0b9c7f5e-1111-4f0e-9e9e-3c2a1d0e9f00' },
    ])
  })

  it('keeps the key of a restarted sidecar: the same PeerId, a new certificate', async () => {
    await ok(...requestArgs())
    const first = await leafIn(join(dir, 'pki', 'tls.crt'))
    await ok(...requestArgs())
    const second = await leafIn(join(dir, 'pki', 'tls.crt'))
    expect(second.serialNumber).not.toBe(first.serialNumber)
    expect(peerIdOfCertificate(second).equals(peerIdOfCertificate(first))).toBe(true)
  })

  it("fails with the issuer's reason when the request is denied", async () => {
    fake.behaviour = 'deny'
    const result = await request()
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('denied (policy.cert-manager.io: no policy allows this request)')
  })

  it('refuses a certificate from which the issuer dropped the role', async () => {
    fake.behaviour = 'drop-uris'
    const result = await request()
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('lacks the role(s) worker')
    await expect(stat(join(dir, 'pki', 'tls.crt'))).rejects.toThrow(/ENOENT/)
  })

  it("reports an unauthorised service account with the API server's answer", async () => {
    await writeFile(tokenFile, 'wrong-token')
    const result = await request()
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/HTTP 401 Unauthorized/)
  })

  it('gives up after --timeout when nothing issues the request', async () => {
    fake.behaviour = 'never'
    const result = await request('--timeout', '0.5')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/not issued in 500 ms: not yet seen by cert-manager/)
  })

  it('rejects a duration cert-manager would not parse, and a missing issuer, as usage errors', async () => {
    expect((await request('--duration', '1 day')).code).toBe(2)
    const missing = await certutil('cert-manager', '-d', dir)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--issuer')
  })
})

describe('PodCertificate renewal', () => {
  it('renews at two thirds of the life with the same key, deletes the old request, and a watching node reloads', async () => {
    const pkiDir = join(dir, 'pki')
    const issued: Array<Record<string, unknown>> = []
    let firstIssued: () => void = () => undefined
    const first = new Promise<void>((resolve) => {
      firstIssued = resolve
    })
    const certificate = new PodCertificate({
      api: new KubeApi({ server: fake.url, namespace: 'hypha', tokenFile }),
      dir: pkiDir,
      request: {
        name: 'hypha-scheduler-0',
        roles: ['scheduler'],
        issuer: { name: 'hypha-ca', kind: 'Issuer', group: 'cert-manager.io' },
        duration: '3s',
      },
      timeoutMs: 5_000,
      pollMs: 50,
      log: {
        info: (message, fields = {}) => {
          if (message !== 'certificate issued') return
          issued.push(fields)
          firstIssued()
        },
        warn: () => undefined,
      },
    })
    const stop = new AbortController()
    const running = certificate.run(stop.signal)
    let identity: NodeIdentity | undefined
    try {
      await first
      const firstLeaf = await leafIn(join(pkiDir, 'tls.crt'))
      identity = await NodeIdentity.load(
        { cert: join(pkiDir, 'tls.crt'), key: join(pkiDir, 'tls.key'), trust: pki.org.trustPath },
        { watch: true, log: { info: () => undefined, warn: () => undefined } },
      )
      const loaded = identity
      await new Promise<void>((resolve) => loaded.addEventListener('reloaded', () => resolve(), { once: true }))
      const renewed = await leafIn(join(pkiDir, 'tls.crt'))
      expect(renewed.serialNumber).not.toBe(firstLeaf.serialNumber)
      // not before two thirds of the first certificate's life (dates have whole seconds)
      const life = Date.parse(firstLeaf.validTo) - Date.parse(firstLeaf.validFrom)
      expect(Date.parse(renewed.validFrom) + 1000).toBeGreaterThanOrEqual(Date.parse(firstLeaf.validFrom) + (life * 2) / 3 - 1000)
      expect(loaded.peerId.equals(peerIdOfCertificate(firstLeaf))).toBe(true)
      expect([...rolesOfCertificate(renewed)]).toEqual(['scheduler'])
      expect(fake.deleted).toEqual([issued[0]?.request])
    } finally {
      stop.abort()
      await running
      identity?.close()
    }
  })
})
