// The certutil's `revoke` and `verify` commands: a good certificate verifies with its PeerId;
// revoked, foreign and expired ones fail with the verifier's reason code; the CRL file grows
// with each revocation, stays a CRL of its CA only, and is one OpenSSL reads.
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCrl, createNodeCertificate, exportPrivateKeyPem, importPrivateKeyPem } from '../pki/authority.js'
import { certificatesToPem, crlToPem, decodeCertificates, toArrayBuffer } from '../pki/pem.js'
import { x509 } from '../pki/x509.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import type { InspectResult } from './inspect.js'
import {
  certutil,
  errorLines,
  hasOpenssl,
  makeTempDir,
  ok,
  openssl,
  readCertificateDers,
  removeDir,
} from './test-harness.js'

const itIfOpenssl = hasOpenssl ? it : it.skip

interface Organisation {
  caCert: string
  caKey: string
  trust: string
}

async function createOrganisation(dir: string, name: string): Promise<Organisation> {
  await ok('root', '-o', name, '-d', dir)
  const rootCert = join(dir, `${name}-root-ca-cert.pem`)
  const rootKey = join(dir, `${name}-root-ca-key.pem`)
  await ok('org', '--root-cert', rootCert, '--root-key', rootKey, '-o', name, '-d', dir)
  return {
    caCert: join(dir, `${name}-ca-cert.pem`),
    caKey: join(dir, `${name}-ca-key.pem`),
    trust: join(dir, `${name}-ca-trust.pem`),
  }
}

async function createNode(dir: string, org: Organisation, name: string): Promise<string> {
  await ok('node', '-n', name, '--ca-cert', org.caCert, '--ca-key', org.caKey, '-d', dir)
  return join(dir, `${name}-cert.pem`)
}

async function peerIdOf(certFile: string): Promise<string> {
  const [leaf] = await readCertificateDers(certFile)
  return peerIdOfCertificate(new X509Certificate(leaf as Uint8Array)).toString()
}

async function serialOf(certFile: string): Promise<string> {
  const [leaf] = await readCertificateDers(certFile)
  return new X509Certificate(leaf as Uint8Array).serialNumber.toLowerCase()
}

describe('hypha-certutil verify and revoke', () => {
  let dir: string
  let acme: Organisation
  let globex: Organisation
  let alice: string
  let bob: string
  let carol: string
  let mallory: string
  let crl: string

  beforeAll(async () => {
    dir = await makeTempDir('verify')
    acme = await createOrganisation(join(dir, 'acme'), 'acme')
    globex = await createOrganisation(join(dir, 'globex'), 'globex')
    alice = await createNode(join(dir, 'nodes'), acme, 'alice')
    bob = await createNode(join(dir, 'nodes'), acme, 'bob')
    carol = await createNode(join(dir, 'nodes'), acme, 'carol')
    mallory = await createNode(join(dir, 'nodes'), globex, 'mallory')
    crl = join(dir, 'crl', 'acme.crl.pem')
  })

  afterAll(async () => {
    await removeDir(dir)
  })

  it('accepts a good certificate and prints its subject and PeerId', async () => {
    const result = await ok('verify', '--cert', alice, '--trust', acme.trust)
    expect(result.stdout).toBe(`OK: CN=alice, O=acme (PeerId ${await peerIdOf(alice)})\n`)
    expect(result.stderr).toBe('')
  })

  it('refuses a certificate of another organisation: untrusted', async () => {
    const result = await certutil('verify', '--cert', mallory, '--trust', acme.trust)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(errorLines(result)).toHaveLength(1)
    expect(result.stderr).toMatch(/^hypha-certutil: error: untrusted: no trusted issuer for "CN=globex CA, O=globex" .*is not in the trust bundle\)$/m)
  })

  it('refuses an expired certificate: expired', async () => {
    const [caDer] = decodeCertificates(await readFile(acme.caCert, 'utf8'))
    const issuer = {
      certificate: new x509.X509Certificate(toArrayBuffer(caDer as Uint8Array)),
      privateKey: await importPrivateKeyPem(await readFile(acme.caKey, 'utf8')),
      chain: [],
    }
    const day = 86_400_000
    const expired = await createNodeCertificate(issuer, {
      name: 'old-node',
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    })
    const certFile = join(dir, 'nodes', 'old-node-cert.pem')
    await writeFile(certFile, certificatesToPem([new Uint8Array(expired.certificate.rawData), caDer as Uint8Array]))
    await writeFile(join(dir, 'nodes', 'old-node-key.pem'), await exportPrivateKeyPem(expired.keys.privateKey))

    const result = await certutil('verify', '--cert', certFile, '--trust', acme.trust)
    expect(result.code).toBe(1)
    expect(errorLines(result)).toHaveLength(1)
    expect(result.stderr).toMatch(/^hypha-certutil: error: expired: "CN=old-node, O=acme" .*expired at /)

    const inspect = JSON.parse((await ok('inspect', '--json', certFile)).stdout) as InspectResult
    expect(inspect.certificates[0]?.status).toBe('expired')
  })

  it('revoke creates the CRL (PEM "X509 CRL"), after which verify refuses: revoked', async () => {
    const revoked = await ok('revoke', '--ca-cert', acme.caCert, '--ca-key', acme.caKey, '--cert', alice, '--crl', crl, '--reason', 'keyCompromise')
    expect(revoked.stdout).toContain('lists 1 revoked certificate')
    expect(await readFile(crl, 'utf8')).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/)

    const result = await certutil('verify', '--cert', alice, '--trust', acme.trust, '--crl', crl)
    expect(result.code).toBe(1)
    expect(errorLines(result)).toHaveLength(1)
    expect(result.stderr).toMatch(/^hypha-certutil: error: revoked: "CN=alice, O=acme"/)

    // The CRL revokes alice only.
    await ok('verify', '--cert', bob, '--trust', acme.trust, '--crl', crl)
  })

  it('revoking again extends the CRL: both entries, with their reasons', async () => {
    await ok('revoke', '--ca-cert', acme.caCert, '--ca-key', acme.caKey, '--cert', bob, '--crl', crl, '--reason', 'superseded')
    const again = await ok('revoke', '--ca-cert', acme.caCert, '--ca-key', acme.caKey, '--cert', bob, '--crl', crl)
    expect(again.stdout).toContain('was already revoked')

    const inspect = JSON.parse((await ok('inspect', '--json', crl)).stdout) as InspectResult
    expect(inspect.certificates).toEqual([])
    expect(inspect.crls).toHaveLength(1)
    const [list] = inspect.crls
    expect(list?.issuer).toBe('CN=acme CA, O=acme')
    expect(list?.stale).toBe(false)
    expect(list?.revoked.map((entry) => [entry.serial, entry.reason])).toEqual([
      [await serialOf(alice), 'keyCompromise'],
      [await serialOf(bob), 'superseded'],
    ])

    const text = await ok('inspect', crl)
    expect(text.stdout).toContain(await serialOf(bob))

    const result = await certutil('verify', '--cert', bob, '--trust', acme.trust, '--crl', crl)
    expect(result.stderr).toMatch(/^hypha-certutil: error: revoked: /)
    await ok('verify', '--cert', carol, '--trust', acme.trust, '--crl', crl)
  })

  itIfOpenssl('writes a CRL that openssl parses, checks the signature of and applies', async () => {
    expect(openssl('crl', '-in', crl, '-noout')).toEqual({ status: 0, output: '' })
    const signature = openssl('crl', '-in', crl, '-noout', '-CAfile', acme.trust)
    expect(signature.status).toBe(0)
    expect(signature.output).toContain('verify OK')

    const chain = await readCertificateDers(alice)
    const leafFile = join(dir, 'alice-leaf.pem')
    const intermediateFile = join(dir, 'alice-intermediate.pem')
    await writeFile(leafFile, certificatesToPem([chain[0] as Uint8Array]))
    await writeFile(intermediateFile, certificatesToPem([chain[1] as Uint8Array]))
    const refused = openssl('verify', '-crl_check', '-CRLfile', crl, '-CAfile', acme.trust, '-untrusted', intermediateFile, leafFile)
    expect(refused.status).not.toBe(0)
    expect(refused.output).toContain('certificate revoked')
  })

  it('refuses to revoke a certificate the CA did not issue, and to extend another CA\'s CRL', async () => {
    const foreign = await certutil('revoke', '--ca-cert', acme.caCert, '--ca-key', acme.caKey, '--cert', mallory, '--crl', crl)
    expect(foreign.code).toBe(1)
    expect(errorLines(foreign)).toHaveLength(1)
    expect(foreign.stderr).toMatch(/"CN=mallory, O=globex" .* was not issued by the CA "CN=acme CA, O=acme" .*refusing to revoke it/)

    const before = await readFile(crl, 'utf8')
    const otherCrl = await certutil('revoke', '--ca-cert', globex.caCert, '--ca-key', globex.caKey, '--cert', mallory, '--crl', crl)
    expect(otherCrl.code).toBe(1)
    expect(errorLines(otherCrl)).toHaveLength(1)
    expect(otherCrl.stderr).toMatch(/is not signed by the CA "CN=globex CA, O=globex" .*refusing to extend it/)
    expect(await readFile(crl, 'utf8')).toBe(before)
  })

  it('rejects an unknown --reason with the list of RFC 5280 names', async () => {
    const result = await certutil('revoke', '--ca-cert', acme.caCert, '--ca-key', acme.caKey, '--cert', carol, '--crl', crl, '--reason', 'bored')
    expect(result.code).toBe(2)
    expect(errorLines(result)).toEqual([
      "hypha-certutil: error: --reason 'bored' is not an RFC 5280 reason; use one of unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise",
    ])
  })

  it('warns about a CRL past its nextUpdate but still applies it', async () => {
    const [caDer] = decodeCertificates(await readFile(acme.caCert, 'utf8'))
    const issuer = {
      certificate: new x509.X509Certificate(toArrayBuffer(caDer as Uint8Array)),
      privateKey: await importPrivateKeyPem(await readFile(acme.caKey, 'utf8')),
      chain: [],
    }
    const stale = await createCrl(issuer, {
      revoke: [{ serialNumber: await serialOf(carol) }],
      thisUpdate: new Date(Date.now() - 10 * 86_400_000),
      nextUpdateDays: 1,
    })
    const staleFile = join(dir, 'crl', 'stale.crl.pem')
    await writeFile(staleFile, crlToPem(stale.rawData))

    const good = await ok('verify', '--cert', bob, '--trust', acme.trust, '--crl', staleFile)
    expect(errorLines(good)).toEqual([expect.stringMatching(/^hypha-certutil: warning: CRL '.*stale\.crl\.pem' .* is past its next update/)])
    const refused = await certutil('verify', '--cert', carol, '--trust', acme.trust, '--crl', staleFile)
    expect(refused.stderr).toMatch(/hypha-certutil: error: revoked: "CN=carol, O=acme"/)
  })

  it('names a missing trust or CRL file in one line', async () => {
    const missing = join(dir, 'missing.pem')
    const trust = await certutil('verify', '--cert', alice, '--trust', missing)
    expect(errorLines(trust)).toEqual([`hypha-certutil: error: trust bundle file '${missing}' does not exist`])
    const crlMissing = await certutil('verify', '--cert', carol, '--trust', acme.trust, '--crl', missing)
    expect(errorLines(crlMissing)).toEqual([`hypha-certutil: error: CRL file '${missing}' does not exist`])
    expect(crlMissing.code).toBe(1)
  })
})
